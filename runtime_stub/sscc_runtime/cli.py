"""Command line of the runtime: run services, produce lines into a topic, consume a topic.

Exit codes: 0 ok, 1 runtime error (printed as one line, never a traceback), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

from . import frames, service
from .backend import PositionConflict
from .fastcall import GuestFault
from .loop import Loop
from .store import Store


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (
        service.DescriptionError,
        GuestFault,
        PositionConflict,
        KeyError,
        OSError,
        sqlite3.Error,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sscc_runtime")
    sub = parser.add_subparsers(required=True)

    run = sub.add_parser(
        "run", help="run services until stopped (SIGINT/SIGTERM) or idle"
    )
    run.add_argument("description", type=Path, help="services JSON (docs/runtime.md)")
    run.add_argument("--store", required=True, type=Path)
    run.add_argument(
        "--until-idle", action="store_true", help="stop once every source is drained"
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(command=_run)

    produce = sub.add_parser("produce", help="append stdin lines as records")
    produce.add_argument("topic")
    produce.add_argument("--store", required=True, type=Path)
    produce.add_argument("--partition", type=int, default=0)
    produce.add_argument(
        "--partitions", type=int, default=1, help="when creating the topic"
    )
    produce.add_argument(
        "--key-separator", help="split each line into key and value at the first SEP"
    )
    produce.add_argument(
        "--batch", type=int, default=1000, help="records per appended batch"
    )
    produce.set_defaults(command=_produce)

    consume = sub.add_parser("consume", help="print a topic's records, one per line")
    consume.add_argument("topic")
    consume.add_argument("--store", required=True, type=Path)
    consume.add_argument(
        "--partition", type=int, help="default: every partition in turn"
    )
    consume.add_argument("--offset", type=int, default=0)
    consume.add_argument("--keys", action="store_true", help="print KEY<TAB>VALUE")
    consume.set_defaults(command=_consume)
    return parser


def _run(args: argparse.Namespace) -> int:
    # Handlers first: compiling the modules (inside Loop()) can take seconds on a loaded machine,
    # and a SIGTERM meanwhile must still stop the run cleanly, not kill it.
    stopping = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stopping.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        services = service.load(
            json.loads(args.description.read_text()), args.description.parent
        )
        with Store(args.store) as store:
            progress = (
                None
                if args.quiet
                else (lambda line: print(line, file=sys.stderr, flush=True))
            )
            loop = Loop(
                store,
                services,
                until_idle=args.until_idle,
                on_progress=progress,
                stopping=stopping,
            )
            loop.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _produce(args: argparse.Namespace) -> int:
    separator = args.key_separator.encode() if args.key_separator else None
    with Store(args.store) as store:
        store.ensure_topic(args.topic, args.partitions)
        pending: list[tuple] = []
        for line in sys.stdin.buffer:
            line = line.rstrip(b"\r\n")
            key, value = (
                line.split(separator, 1)
                if separator and separator in line
                else (None, line)
            )
            pending.append((key, value, int(time.time() * 1000)))
            if len(pending) >= args.batch:
                store.append(args.topic, args.partition, *frames.build(pending))
                pending.clear()
        if pending:
            store.append(args.topic, args.partition, *frames.build(pending))
    return 0


def _consume(args: argparse.Namespace) -> int:
    out = sys.stdout.buffer
    with Store(args.store) as store:
        partitions = (
            [args.partition]
            if args.partition is not None
            else range(store.partitions(args.topic))
        )
        for partition in partitions:
            offset = args.offset
            while True:
                batch = store.read(args.topic, partition, offset, 4096)
                if not batch.count:
                    break
                for record in frames.iter_records(batch.data):
                    if args.keys:
                        out.write((record.key or b"") + b"\t")
                    out.write(record.value + b"\n")
                offset = batch.base_offset + batch.count
    out.flush()
    return 0
