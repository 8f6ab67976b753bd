"""The command line of an emitted project (`python -m NAME run|topic ...`), also behind `sscc topic`.

    run [--store DIR] [--until-idle] [--quiet] [--workers N] [--batch-records N] [-e KEY=VALUE]... [--env-file F]...
        [--log-rate N] [--http-allow HOST[:PORT]]... [--no-http] [--http-timeout S] [--http-max-bytes N]
    topic produce TOPIC [--store DIR] [--file F] [--key-separator S] [--partitions N] [--partition P]
    topic consume TOPIC [--store DIR] [--from-beginning] [--until-idle] [--keys] [--key-separator S]
    topic list [--store DIR]
    topic create TOPIC [--partitions N] [--store DIR]
    status [--store DIR | --broker URL]          (workers, their tasks, lag per partition)
    state list [--store DIR]
    state show STATE [--store DIR] [--key K] [--window W]   (STATE: `state` or `service.state`)

The store is a directory (`--store`, else $SSCC_STORE, else `./.sscc`) holding one SQLite file;
every command also takes `--broker URL` ($SSCC_BROKER), `-X KEY=VALUE` and `--broker-config FILE`
to use a broker instead (brokers.py, docs/backends.md), and `topic create TOPIC --partitions N`.
Exit codes: 0 ok (also when stopped by SIGTERM), 130 stopped by SIGINT (Ctrl-C), 1 runtime error (one `error: ...` line,
never a traceback; SSCC_DEBUG=1 shows it), 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

from . import names as naming
from . import brokers, envvars, frames, http_client, limitargs, opscmd, produce, records, reset, runlock, service, sqlcmd, statelog
from .backend import PositionConflict
from .fastcall import GuestFault
from .loop import FreshStart, Loop, ServiceRunner
from .oplog import DEFAULT_RATE, OperatorLog
from .wasi import Environment
from .progress import Progress
from .store import Store

STORE_FILE = "store.db"
DEFAULT_STORE = ".sscc"
CONSUME_BATCH = 4096
POLL_SECONDS = 0.1  # how often a following consumer looks for new records


class AppError(Exception):
    """A problem the user can fix; printed as one `error: ...` line, exit 1."""


@records.record(frozen=True)
class TopicInfo:
    """A topic of the pipeline: its id in the pipeline file and its name in the store."""

    id: str
    name: str
    partitions: int = 1


@records.record(frozen=True)
class Project:
    """What the generated wiring knows about its pipeline."""

    name: str
    description: Path  # services.json (format 1, docs/runtime.md §2)
    topics: tuple[TopicInfo, ...] = ()


def main(
    argv: list[str] | None = None,
    project: Project | None = None,
    prog: str | None = None,
    args: argparse.Namespace | None = None,
) -> int:
    """Run the command `argv` names; `args`: the same already parsed (sscc's warm `run`)."""
    if args is None:
        argv = sys.argv[1:] if argv is None else argv
        args = _parser(project, prog, run_only=argv[:1] == ["run"]).parse_args(argv)
    return guarded(lambda: args.command(args, project), args)


def guarded(call, args: argparse.Namespace | None = None) -> int:
    """`call()`'s exit code; a failure is one `error: ...` line and exit 1 (also in a worker)."""
    try:
        return call()
    except BrokenPipeError:
        return reader_left()
    except AppError as exc:
        return _error(str(exc))
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and "disk I/O" not in str(exc):
            return _error(str(exc))  # locked, read-only, ...: not damage
        where = store_dir(getattr(args, "store", None)) / STORE_FILE
        return _error(
            f"the store {where} is damaged (SQLite: {exc}); restore it from a copy"
            f" ({STORE_FILE} and {STORE_FILE}-log together), or move both away to start a new store"
        )
    except KeyError as exc:  # the store's "no topic ..." and the like
        return _error(str(exc.args[0]) if exc.args else repr(exc))
    except (
        brokers.BrokerError,
        service.DescriptionError,
        GuestFault,
        PositionConflict,
        OSError,
        sqlite3.Error,
        RuntimeError,
        ValueError,
    ) as exc:
        return _error(str(exc))
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user
        if os.environ.get("SSCC_DEBUG"):
            raise
        return _error(
            f"unexpected {type(exc).__name__}: {exc} (SSCC_DEBUG=1 shows the traceback)"
        )


def reader_left() -> int:
    """`sscc ... | head`: the reader closed the pipe; that is not an error. stdout goes to
    /dev/null so the interpreter's final flush does not complain either."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------- arguments


class _Parser(argparse.ArgumentParser):
    """argparse speaking like sscc's click commands: `Usage:`, `Try '... --help'`, `Error:`,
    exit 2; an unknown option is reported by the (sub)command it was given to, with its usage."""

    def error(self, message: str):
        usage = self.format_usage().strip()
        usage = usage[len("usage: ") :] if usage.startswith("usage: ") else usage
        self.exit(2, f"Usage: {usage}\nTry '{self.prog} --help' for help.\n\nError: {message}\n")

    def parse_args(self, args=None, namespace=None):
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            owner = getattr(parsed, "parser", self)
            owner.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def _parser(project: Project | None, prog: str | None, run_only: bool = False) -> argparse.ArgumentParser:
    """The command line; `run_only`: only the `run` command, for a command line that starts with
    it (building the other commands' parsers was ~3 ms of a warm `sscc run`'s start-up)."""
    parser = _Parser(
        prog=prog,
        description=(
            f"Run the {project.name} pipeline and inspect its topics."
            if project
            else "Read and write topics of the embedded store."
        ),
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    store_help = f"store directory (default: $SSCC_STORE, else ./{DEFAULT_STORE})"
    if project is not None:
        run = commands.add_parser("run", help="run the pipeline's services")
        run.add_argument("--store", metavar="DIR", help=store_help)
        add_broker_options(run)
        run.add_argument(
            "--until-idle",
            action="store_true",
            help="batch mode: process what the topics hold, then stop",
        )
        run.add_argument(
            "--quiet",
            action="store_true",
            help="no progress line, no summary, no operator output (println!/eprintln!)",
        )
        envvars.add_arguments(run)
        run.add_argument(
            "--log-rate",
            type=_positive,
            metavar="N",
            help=f"lines per second each operator may print to the run's log (stderr) after a"
            f" burst of 10 s worth; the rest are counted as dropped (default: {DEFAULT_RATE})",
        )
        run.add_argument(
            "--workers",
            type=_positive,
            metavar="N",
            help="run N worker processes that share the pipeline's tasks through leases and take"
            " over from each other (docs/scale-out.md); default: one process, no leases",
        )
        run.add_argument(
            "--batch-records",
            type=_positive,
            metavar="N",
            help=f"records read per source partition per batch, one commit each "
            f"(default: the description's, else {service.DEFAULT_BATCH_RECORDS})",
        )
        add_http_options(run)
        run.add_argument(
            "--ui",
            type=_address,
            metavar="[HOST:]PORT",
            help="serve a live web page of the run (graph, rates, lag, dead letters, state) and /metrics"
            " on HOST (default 127.0.0.1):PORT; PORT 0 picks a free one (docs/ui.md)",
        )
        run.add_argument(
            "--metrics",
            type=_address,
            metavar="[HOST:]PORT",
            help="serve only Prometheus metrics at http://HOST:PORT/metrics (docs/ui.md)",
        )
        limitargs.add_arguments(run)
        run.set_defaults(parser=run, command=_run)
        if run_only:
            return parser

    topic = commands.add_parser("topic", help="produce, consume or list topics")
    topics = topic.add_subparsers(required=True, metavar="COMMAND")

    produce = topics.add_parser("produce", help="append lines as records")
    produce.add_argument("topic")
    produce.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(produce)
    produce.add_argument(
        "--file", metavar="F", help="read lines from F instead of stdin"
    )
    produce.add_argument(
        "--key-separator",
        metavar="S",
        help="each line is KEY<S>VALUE (a line without S has no key)",
    )
    produce.add_argument(
        "--partitions",
        type=_positive,
        metavar="N",
        help="partitions when the topic is created (default: the pipeline's, else 1)",
    )
    produce.add_argument(
        "--partition",
        type=int,
        metavar="P",
        help="write every record to partition P (default: by key hash; unkeyed round-robin)",
    )
    produce.add_argument(
        "--timestamp-separator",
        metavar="S",
        help="each line starts with an event time in ms and S (TS<S>[KEY<S>]VALUE);"
        " default: the wall time of the produce",
    )
    produce.add_argument("--quiet", action="store_true", help="print nothing")
    produce.set_defaults(parser=produce, command=_produce)

    consume = topics.add_parser("consume", help="print records, one value per line")
    consume.add_argument("topic")
    consume.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(consume)
    consume.add_argument(
        "--from-beginning",
        action="store_true",
        help="start at the first record (default: at the end, printing only new records)",
    )
    consume.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once caught up (default: follow)",
    )
    consume.add_argument("--keys", action="store_true", help="print KEY<S>VALUE")
    consume.add_argument(
        "--key-separator",
        default="=",
        metavar="S",
        help="separator printed by --keys (default: =)",
    )
    consume.set_defaults(parser=consume, command=_consume)

    listing = topics.add_parser("list", help="topics with partitions and record counts")
    listing.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(listing)
    listing.set_defaults(parser=listing, command=_list)
    opscmd.add_parsers(commands, topics, store_help, _positive)  # topic create, status

    state = commands.add_parser("state", help="inspect the services' keyed states")
    states = state.add_subparsers(required=True, metavar="COMMAND")
    slist = states.add_parser("list", help="states with their number of keys and changes")
    slist.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(slist)
    slist.set_defaults(parser=slist, command=_state_list)
    show = states.add_parser("show", help="print a state as a KEY VALUE table")
    show.add_argument("state", help="the state's name, or service.state when two services share it")
    show.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(show)
    show.add_argument("--key", help="only this key")
    show.add_argument(
        "--window",
        metavar="W",
        help="only window W of a windowed state: START..END or START (ms); default: every open window",
    )
    show.set_defaults(parser=show, command=_state_show)
    drop = states.add_parser("drop", help="delete a state's data (e.g. after changing its type)")
    drop.add_argument("state", help="STATE or SERVICE.STATE")
    drop.add_argument("--store", metavar="DIR", help=store_help)
    add_broker_options(drop)
    drop.add_argument("--yes", action="store_true", help="really delete (without it, only say what would go)")
    drop.set_defaults(parser=drop, command=_state_drop)
    add_broker_options(sqlcmd.add_parser(commands, store_help, _sql))
    _reset_parser(commands, store_help)
    return parser


def add_broker_options(parser: argparse.ArgumentParser) -> None:
    """`--broker URL` instead of the embedded store, and the client's settings (brokers.py)."""
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="use a broker instead of the embedded store: kafka://HOST:PORT[,...] or nats://HOST:PORT[,...] (default: $SSCC_BROKER; docs/backends.md)",
    )
    parser.add_argument(
        "-X",
        dest="broker_settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a client setting for the broker (SASL, TLS, ...), repeatable; wins over --broker-config",
    )
    parser.add_argument("--broker-config", metavar="FILE", help="client settings for the broker as a properties file")


def _reset_parser(commands, store_help: str) -> None:
    move = commands.add_parser(
        "reset",
        help="move a service's committed positions (re-read or skip records)",
        description="Move where SERVICE reads its source topics next. Its keyed states and window"
        " progress are not rewound (--drop-state deletes them). Refused while a run uses the store.",
    )
    move.add_argument("service")
    to = move.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-beginning", dest="to", action="store_const", const="beginning", help="the first stored record")
    to.add_argument("--to-end", dest="to", action="store_const", const="end", help="after the last stored record")
    to.add_argument("--to-offset", type=int, metavar="N", help="offset N (of every partition chosen)")
    move.add_argument("--topic", metavar="T", help="only this source topic (default: every one)")
    move.add_argument("--partition", type=int, metavar="P", help="only partition P")
    move.add_argument(
        "--drop-state",
        action="store_true",
        help="also delete the service's keyed states and window progress, so the next run rebuilds them",
    )
    move.add_argument("--store", metavar="DIR", help=store_help)
    move.add_argument("--yes", action="store_true", help="really move (without it, only say what would change)")
    move.set_defaults(parser=move, command=_reset)


def add_http_options(run: argparse.ArgumentParser) -> None:
    """What operators calling sdf-http may reach, and the limits of each request (docs/http.md)."""
    group = run.add_argument_group(
        "HTTP from operators (sdf-http)",
        "By default operators may call every host. A failed request (policy, DNS, refused, "
        "timeout, body too large) is an error in the operator: the record goes to the "
        "dead-letter topic with the reason.",
    )
    group.add_argument(
        "--http-allow",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        type=_host_port,
        help="allow requests to HOST (any port) or HOST:PORT only; repeatable (default: every host)",
    )
    group.add_argument("--no-http", action="store_true", help="refuse every request")
    group.add_argument(
        "--http-timeout",
        type=_positive_float,
        metavar="S",
        default=http_client.DEFAULT_TIMEOUT_S,
        help=f"seconds per request, connect to last byte (default: {http_client.DEFAULT_TIMEOUT_S:g})",
    )
    group.add_argument(
        "--http-max-bytes",
        type=_positive,
        metavar="N",
        default=http_client.DEFAULT_MAX_BYTES,
        help=f"largest response body accepted (default: {http_client.DEFAULT_MAX_BYTES:,} bytes)",
    )


def http_policy(args: argparse.Namespace) -> http_client.HttpPolicy:
    return http_client.HttpPolicy(
        enabled=not args.no_http,
        allow=tuple(args.http_allow),
        timeout_s=args.http_timeout,
        max_bytes=args.http_max_bytes,
    )


def _host_port(text: str) -> str:
    try:
        http_client.split_host_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _address(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` of --ui / --metrics; the host defaults to 127.0.0.1 (`[::1]:8080` for IPv6)."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or int(port) > 65535 or (sep and not host):
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}")
    return (host or "127.0.0.1", int(port))


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


# ---------------------------------------------------------------------------- the store


def store_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("SSCC_STORE") or DEFAULT_STORE)


def open_store(arg: str | None, create: bool) -> Store:
    where = store_dir(arg)
    if where.exists() and not where.is_dir():
        raise AppError(f"store {where} is not a directory")
    path = where / STORE_FILE
    if not path.exists():
        if not create:
            raise AppError(
                f"no store at {where} (run the pipeline or produce into it first, or pass --store)"
            )
        where.mkdir(parents=True, exist_ok=True)
    return Store(path)


def _open(args: argparse.Namespace, create: bool, project: "Project | None" = None):
    """The broker of `--broker` / $SSCC_BROKER (brokers.py), else the embedded store."""
    # an explicit --store wins over $SSCC_BROKER (an explicit --broker with it is an error)
    explicit = getattr(args, "broker", None)
    url = brokers.url_from(explicit) if explicit or not getattr(args, "store", None) else None
    if url is None:
        if getattr(args, "broker_settings", None) or getattr(args, "broker_config", None):
            raise AppError("-X and --broker-config need a broker (--broker URL or $SSCC_BROKER)")
        return open_store(args.store, create)
    if getattr(args, "store", None):
        raise AppError("--store and --broker exclude each other (the topics live in one or the other)")
    try:
        config = brokers.settings(args.broker_config, args.broker_settings)
        return brokers.open_broker(url, config, project.name if project else "sscc")
    except brokers.BrokerError as exc:
        raise AppError(str(exc)) from None


def _where(store) -> str:
    return getattr(store, "url", None) or f"the store at {store.path.parent}"


def _topic_name(topic: str, project: Project | None) -> str:
    """A pipeline topic may be named by its id or by its store name."""
    if not topic.strip() or any(ord(c) < 32 or ord(c) == 127 for c in topic):
        raise AppError(f"{topic!r} is not a topic name (empty, blank or with control characters)")
    for info in project.topics if project else ():
        if topic == info.id:
            return info.name
    return topic


def _owned_topic(store: Store, topic: str) -> str:
    """A topic a service owns may be named without its pipeline's namespace (names.py):
    `count-words.dead-letters` for `test.word-count.count-words.dead-letters`, when only one
    topic in the store ends so."""
    known = store.topics()
    if topic in known:
        return topic
    found = [name for name in known if name.endswith(naming.SEPARATOR + topic)]
    if len(found) > 1:
        raise AppError(f"topic {topic!r} is ambiguous in this store ({', '.join(sorted(found))}); give the whole name")
    return found[0] if found else topic


def _service_key(store: Store, service_name: str) -> str:
    """The store name of a service given by its own name (names.py), when only one has it."""
    known = store.services()
    if service_name in known:
        return service_name
    found = [key for key in known if naming.matches(key, service_name)]
    if len(found) > 1:
        raise AppError(f"service {service_name!r} is ambiguous in this store ({', '.join(found)}); give the whole name")
    return found[0] if found else service_name


def _existing_partitions(store: Store, topic: str) -> int:
    if topic not in store.topics():
        raise AppError(f"no topic {topic!r} in {_where(store)}")
    return store.partitions(topic)


# ---------------------------------------------------------------------------- run


def _run(args: argparse.Namespace, project: Project) -> int:
    # Handlers go in first: module compilation takes a moment, and a signal then must still
    # mean "stop cleanly", not a default death.
    stopping = threading.Event()
    signalled: list[str] = []

    def on_signal(signum: int, _frame) -> None:
        signalled.append(signal.Signals(signum).name)
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    stopped_by = None
    try:
        description = project.description
        services = service.load(
            json.loads(description.read_text(encoding="utf-8")), description.parent
        )
        if args.until_idle:
            services = [batch_mode(s) for s in services]
        if args.batch_records:
            services = [records.replace(s, batch_records=args.batch_records) for s in services]
        services = limitargs.apply(services, args)
        variables = envvars.collect(args)
        if args.workers:
            return _run_workers(args, project, services, variables, stopping, signalled)
        # The run lock (shared): `reset` and `state drop` refuse while a run holds the store.
        with _open(args, create=True, project=project) as store, _run_lock(store):
            # What operators see (only the variables given) and print (the run's log on stderr).
            log = None if args.quiet else OperatorLog(sys.stderr, rate=args.log_rate or DEFAULT_RATE)
            env = Environment(variables, log)
            loop = Loop(
                store,
                services,
                until_idle=args.until_idle,
                stopping=stopping,
                env=env,
                http=http_client.HttpClient(http_policy(args)),
            )
            # Created after the modules are compiled, so the rate counts running time only.
            progress = None if args.quiet else Progress(sys.stderr, project.name)
            if log is not None and progress is not None:
                log.before_line = progress.clear
            loop.on_counters = progress.update if progress else None
            starts = loop.fresh_starts()
            if not args.quiet:
                for line in skipped_notes(starts, services, _command(args)):
                    print(line, file=sys.stderr)
            # After the starting positions are fixed: what is produced once the URL shows is read.
            web = _start_web(args, project, services, _reopener(args, project, store), loop) if (args.ui or args.metrics) else None
            if web is not None:  # the page and /metrics get a snapshot at each refresh (webserver.py)
                loop.on_counters = _both(loop.on_counters, web.publish)
            try:
                counters = loop.run()
            finally:
                if log is not None:
                    log.close()
                if web is not None:
                    web.publish(loop.counters())
                    web.stop(loop.stopped_by or next(iter(signalled), None) or "done")
            stopped_by = loop.stopped_by or next(iter(signalled), None)
            if progress:
                progress.finish(counters, stopped_by)
            if loop.interrupted and not args.quiet:
                print("interrupted: the batch in progress was not committed; the next run processes it", file=sys.stderr)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 130 if stopped_by == "SIGINT" else 0  # Ctrl-C: the shell's convention; SIGTERM: a clean stop


def _run_workers(args, project: Project, services, variables, stopping, signalled) -> int:
    """`run --workers N`: a supervisor forking N workers (supervisor.py, workers.py)."""
    from .supervisor import Supervisor

    from . import clock

    if args.ui or args.metrics:  # the counters live in the workers; the supervisor has sums only
        raise AppError("--ui and --metrics serve one process's run; with --workers they are not served yet (docs/ui.md)")

    horizon = clock.now_ms()

    def make_runner_factory():  # called in each worker, after the fork
        log = None if args.quiet else OperatorLog(sys.stderr, rate=args.log_rate or DEFAULT_RATE)
        env = Environment(variables, log)
        http = http_client.HttpClient(http_policy(args))

        def make_runner(store, svc, task):
            runner = ServiceRunner(store, svc, env, http, task=task)
            if args.until_idle:  # batch mode fires what fell due up to the start of the run
                runner.tickers.horizon_ms = horizon
            return runner

        return make_runner

    with _open(args, create=True, project=project) as store, _run_lock(store):
        supervisor = Supervisor(
            _connector(args, project, store), services, args.workers, until_idle=args.until_idle, stopping=stopping,
            child=guarded, make_runner_factory=make_runner_factory, quiet=args.quiet,
        )  # fmt: skip
        progress = None if args.quiet else Progress(sys.stderr, project.name)
        counters = supervisor.run(store, progress)
    if supervisor.failed:
        return 1
    if progress:
        progress.finish(counters, None if supervisor.done else next(iter(signalled), None))
    return 0


def _connector(args, project: Project, store):
    """How a worker (and each of its tasks, and its heartbeat) opens a connection of its own to
    what `store` is: the same store file, or the same broker (workers share tasks through its
    leases: NATS; Kafka shares partitions through its consumer groups instead)."""
    reopen = _reopener(args, project, store, create=True)
    if hasattr(store, "path"):
        return reopen
    if not hasattr(store, "hold"):
        raise AppError(
            f"run --workers does not run on {getattr(store, 'url', 'this broker')}: Kafka shares a service's"
            " partitions through its consumer group, not through task leases; start `run --broker URL` in N"
            " processes instead (docs/backends.md, \"Workers and rebalancing\")"
        )

    def connect():
        backend = reopen()
        backend.share_documents()  # the tasks of one service commit from several processes
        return backend

    connect.local = False
    return connect


def _reopener(args: argparse.Namespace, project: Project, store, create: bool = False):
    """A function opening a new connection of its own to what `store` is: the same store file or
    the same broker (the web server's, on its thread: lag, dead letters and state tables are
    plain reads that every backend answers, docs/ui.md; a worker's, `_connector`)."""
    if hasattr(store, "path"):
        path = store.path
        return lambda: Store(path)
    return lambda: _open(args, create=create, project=project)


def _start_web(args: argparse.Namespace, project: Project, services: list, open_store, loop: Loop):
    """The --ui page (with /metrics) or --metrics alone, on a thread of this process."""
    try:
        from . import webserver
    except ImportError as exc:
        raise AppError(
            f"--ui and --metrics need starlette, uvicorn and prometheus_client ({exc.name} is missing):"
            " pip install starlette uvicorn prometheus_client (the [ui] extra of sscc and of an emitted project)"
        ) from None
    web = webserver.start(
        project.name, services, project.description, open_store, args.ui or args.metrics, page=bool(args.ui),
        counters=loop.counters(),  # the first snapshot, there before the first request
    )
    print(f"{'ui' if args.ui else 'metrics'}: {web.url}", file=sys.stderr, flush=True)
    if args.ui and args.metrics:
        print("note: --metrics is ignored with --ui: the page serves /metrics too", file=sys.stderr)
    return web


def _both(first, second):
    return second if first is None else (lambda counters: (first(counters), second(counters)))


def _run_lock(store):
    """The shared run lock of an embedded store (runlock.py); a broker has none (yet)."""
    import contextlib

    return runlock.RunLock(store.path) if hasattr(store, "path") else contextlib.nullcontext()


def batch_mode(svc: service.Service) -> service.Service:
    """`--until-idle` means "process what the topics hold, then stop": a source that would start
    at the end (End, explicit or the SDF default) starts at the beginning instead. Positions
    already committed are kept either way (the loop only resolves missing ones)."""
    sources = tuple(
        (
            records.replace(
                src, starting_offset={"position": "Beginning", "value": 0}
            )
            if (src.starting_offset or {}).get("position", "End") == "End"
            else src
        )
        for src in svc.sources
    )
    return records.replace(svc, sources=sources)


def _command(args: argparse.Namespace) -> str:
    """How the user calls this command line: `sscc` (also when sscc runs the project in its own
    process) or the project's `python -m NAME`."""
    if sys.modules.get("sscc") is not None:
        return "sscc"
    prog = getattr(getattr(args, "parser", None), "prog", "") or "sscc"
    return prog.rsplit(" ", 1)[0] if " run" in prog else prog


def skipped_notes(
    starts: list[FreshStart], services: list[service.Service], command: str = "sscc"
) -> list[str]:
    """One note per (service, topic) whose first start skipped records already stored."""
    spec = {
        (svc.name, src.topic): src.starting_offset or {"position": "End"}
        for svc in services
        for src in svc.sources
    }
    skipped: dict[tuple[str, str], int] = {}
    for start in starts:
        if start.skipped:
            key = (start.service, start.topic)
            skipped[key] = skipped.get(key, 0) + start.skipped
    notes = []
    for (key, topic), count in skipped.items():
        position = spec[(key, topic)].get("position", "End")
        svc = naming.title(key)
        # The position is committed now: only a reset (with the run stopped) re-reads them.
        hint = f"to process them, stop the run, `{command} reset {svc} --to-beginning --yes`, run again"
        notes.append(
            f"note: service {svc} starts reading {topic} at {position}:"
            f" {count:,} existing record{'s' if count != 1 else ''} skipped; {hint}"
        )
    return notes


# ---------------------------------------------------------------------------- topic produce


def _produce(args: argparse.Namespace, project: Project | None) -> int:
    topic = _topic_name(args.topic, project)
    known = {info.name: info.partitions for info in project.topics} if project else {}
    separator = args.key_separator.encode() if args.key_separator else None
    if separator == b"":
        raise AppError("--key-separator must not be empty")
    stamp = args.timestamp_separator.encode() if args.timestamp_separator else None
    if stamp == b"":
        raise AppError("--timestamp-separator must not be empty")
    with _open(args, create=True, project=project) as store:
        existing = store.topics().get(topic)
        if existing is not None and args.partitions and args.partitions != existing:
            raise AppError(
                f"topic {topic!r} has {existing} partitions; --partitions {args.partitions} cannot change that"
            )
        partitions = existing or args.partitions or known.get(topic, 1)
        if args.partition is not None and not 0 <= args.partition < partitions:
            raise AppError(
                f"topic {topic!r} has no partition {args.partition} (it has {partitions})"
            )

        def append(partition: int, data: bytes, count: int) -> None:
            if existing is None:  # created by the first append: a produce that fails at once leaves no topic
                store.ensure_topic(topic, partitions)
            store.append(topic, partition, data, count)
            if bar:
                bar[0].update(producer.written + count)

        producer = produce.Producer(produce.Framing(partitions, separator, stamp, args.partition), append)
        bar: list = []  # a big file on a terminal: a progress bar (richprogress.py)
        try:
            if args.file:
                with open(args.file, "rb") as lines:
                    count = _produce_shown(lines, producer, bar, args, topic)
            else:
                count = _produce_shown(sys.stdin.buffer, producer, bar, args, topic)
            if existing is None:  # an empty input still creates the topic (with --partitions N)
                store.ensure_topic(topic, partitions)
        except produce.ProduceError as exc:
            raise AppError(f"{exc}; {_records(exc.count)} before it were produced to {topic}") from None
        except produce.Interrupted as exc:
            unfinished = " (an unfinished last line was dropped)" if exc.partial else ""
            print(f"interrupted: produced {_records(exc.count)} to {topic}{unfinished}", file=sys.stderr)
            return 130
        except BaseException as exc:
            if isinstance(exc, Exception):
                print(f"error: produced {_records(producer.written)} to {topic} before this failure", file=sys.stderr)
            raise
    if not args.quiet:
        print(f"produced {_records(count)} to {topic}", file=sys.stderr)
    return 0


def _produce_shown(source, producer: produce.Producer, bar: list, args: argparse.Namespace, topic: str) -> int:
    """produce.produce, with a bar on a terminal when `source` is a big regular file."""
    if not args.quiet and sys.stderr.isatty():
        from . import richprogress

        shown = richprogress.file_bar(sys.stderr, source, topic)
        if shown is not None:
            bar.append(shown)
    try:
        return produce.produce(source, producer)
    finally:
        for shown in bar:
            shown.close()


def _records(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


# ---------------------------------------------------------------------------- topic create


def _create(args: argparse.Namespace, project: Project | None) -> int:
    topic = _topic_name(args.topic, project)
    with _open(args, create=True, project=project) as store:
        existing = store.topics().get(topic)
        if existing is not None and existing != args.partitions:
            raise AppError(f"topic {topic!r} exists with {existing} partitions")
        store.ensure_topic(topic, args.partitions)
    return 0


# ---------------------------------------------------------------------------- topic consume


def _consume(args: argparse.Namespace, project: Project | None) -> int:
    topic = _topic_name(args.topic, project)
    separator = args.key_separator.encode()
    stopping = threading.Event()
    previous = {
        s: signal.signal(s, lambda *_: stopping.set())
        for s in (signal.SIGINT, signal.SIGTERM)
    }
    out = sys.stdout.buffer
    try:
        with _open(args, create=False) as store:
            topic = _owned_topic(store, topic)
            partitions = _existing_partitions(store, topic)
            offsets = [
                store.bounds(topic, p)[0 if args.from_beginning else 1]
                for p in range(partitions)
            ]
            while not stopping.is_set():
                read = 0
                for partition in range(partitions):
                    batch = store.read(
                        topic, partition, offsets[partition], CONSUME_BATCH
                    )
                    if not batch.count:
                        continue
                    try:
                        for record in frames.iter_records(batch.data):
                            if args.keys:
                                out.write((record.key or b"") + separator)
                            out.write(record.value + b"\n")
                    except ValueError as exc:
                        bad = frames.first_bad(batch.data, batch.count) or (0, str(exc))
                        raise store.damaged(topic, partition, batch.base_offset + bad[0], bad[1]) from None
                    offsets[partition] = batch.base_offset + batch.count
                    read += batch.count
                out.flush()
                if not read:
                    if args.until_idle:
                        break
                    stopping.wait(POLL_SECONDS)
    except BrokenPipeError:
        reader_left()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


# ---------------------------------------------------------------------------- topic list


def _list(args: argparse.Namespace, project: Project | None) -> int:
    where = store_dir(args.store)
    rows: list[tuple[str, str, str]] = []
    broker = brokers.url_from(args.broker) is not None and not (args.store and not args.broker)
    if not broker and where.exists() and not where.is_dir():
        raise AppError(f"store {where} is not a directory")
    if broker or (where / STORE_FILE).exists():
        with _open(args, create=False) as store:
            for name, partitions in store.topics().items():
                records = sum(
                    end - first
                    for first, end in (store.bounds(name, p) for p in range(partitions))
                )
                rows.append((name, str(partitions), f"{records:,}"))
    else:
        print(f"note: no store at {where} yet", file=sys.stderr)
    present = {row[0] for row in rows}
    for info in project.topics if project else ():
        if info.name not in present:
            rows.append((info.name, str(info.partitions), "- (not created yet)"))
    if rows:
        header = ("TOPIC", "PARTITIONS", "RECORDS")
        width = max(len(row[0]) for row in [header, *rows])
        for name, partitions, records in [header, *rows]:
            print(f"{name:<{width}}  {partitions:>10}  {records}")
    return 0


# ---------------------------------------------------------------------------- state list / show


def _changelogs(store: Store) -> list[tuple[str, str, str]]:
    """(service, state, topic) of every state changelog in the store, sorted."""
    out = []
    for name in store.topics():
        if name.endswith(statelog.CHANGELOG_SUFFIX):
            # a state name has no dot; a service's store name may (names.py: namespace.pipeline.service)
            service_name, _, state_name = name[: -len(statelog.CHANGELOG_SUFFIX)].rpartition(".")
            if state_name:
                out.append((service_name, state_name, name))
    return sorted(out)


def _show_windows(name: str, windows: dict, args: argparse.Namespace) -> int:
    """A windowed state: WINDOW KEY VALUE rows of its open windows (flushed ones are dropped),
    in (end, start) order; `--window` picks one, `--key` one key."""
    if args.window is not None:
        try:
            wanted = statelog.parse_window(args.window, windows)
        except ValueError as exc:
            raise AppError(f"{exc} in state {name} (open: {_window_list(windows)})") from None
        if wanted not in windows:
            raise AppError(f"window {wanted[0]}..{wanted[1]} is not open in state {name} (open: {_window_list(windows)})")
        windows = {wanted: windows[wanted]}
    rows = [
        (f"{w[0]}..{w[1]}", key, json.dumps(value, ensure_ascii=False))
        for w in sorted(windows, key=lambda w: (w[1], w[0]))
        for key, value in sorted(windows[w].items())
        if args.key is None or key == args.key
    ]
    if args.key is not None and not rows:
        raise AppError(f"no key {args.key!r} in the open windows of state {name}")
    if not windows:
        print(f"note: state {name} has no open window (a flushed window's state is dropped)", file=sys.stderr)
    _table(("WINDOW", "KEY", "VALUE"), rows)
    return 0


def _window_list(windows: dict) -> str:
    return ", ".join(f"{s}..{e}" for s, e in sorted(windows, key=lambda w: (w[1], w[0]))) or "none"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _state_list(args: argparse.Namespace, project: Project | None) -> int:
    with _open(args, create=False) as store:
        rows = []
        for service_name, state_name, topic in _changelogs(store):
            live = statelog.replay_windows(statelog.read_all(store, topic))
            keys = sum(len(values) for values in live.values())
            rows.append((service_name, state_name, f"{keys:,}", f"{statelog.records(store, topic):,}"))
    if not rows:
        print(f"note: no state in {_where(store)} yet", file=sys.stderr)
        return 0
    _table(("SERVICE", "STATE", "KEYS", "CHANGES"), rows)
    return 0


def _find_state(store: Store, state: str, where: str | None) -> tuple[str, str, str]:
    """(service, state, changelog topic) of STATE or SERVICE.STATE."""
    found = [c for c in _changelogs(store) if state in (c[1], f"{c[0]}.{c[1]}", f"{naming.title(c[0])}.{c[1]}")]
    if not found:
        known = ", ".join(f"{c[0]}.{c[1]}" for c in _changelogs(store)) or "none"
        raise AppError(f"no state {state!r} in {_where(store)} (states: {known})")
    if len(found) > 1:
        names = ", ".join(f"{c[0]}.{c[1]}" for c in found)
        raise AppError(f"state {state!r} is ambiguous ({names}); name it as service.state")
    return found[0]


def _state_drop(args: argparse.Namespace, project: Project | None) -> int:
    with _open(args, create=False) as store:
        service_name, state_name, changelog = _find_state(store, args.state, args.store)
        # the run lock of an embedded store; a broker has none (yet)
        busy = runlock.Exclusive(store.path, "drop a state") if args.yes and hasattr(store, "path") else contextlib.nullcontext()
        if not args.yes:
            print(
                f"would delete the {statelog.records(store, changelog):,} change records of state {service_name}.{state_name};"
                " run again with --yes to delete them",
                file=sys.stderr,
            )
            return 1
        with busy:
            dropped = store.drop_state(service_name, state_name, changelog, statelog.SCHEMA_STATE)
    print(f"dropped state {service_name}.{state_name} ({dropped:,} change records)", file=sys.stderr)
    return 0


def _state_show(args: argparse.Namespace, project: Project | None) -> int:
    with _open(args, create=False) as store:
        found = [_find_state(store, args.state, args.store)]
        data = statelog.read_all(store, found[0][2])
    name = f"{found[0][0]}.{found[0][1]}"
    windows = statelog.replay_windows(data)
    if args.window is not None or statelog.is_windowed(data):
        return _show_windows(name, windows, args)
    values = windows.get(statelog.GLOBAL, {})
    if args.key is not None:
        if args.key not in values:
            raise AppError(f"no key {args.key!r} in state {found[0][0]}.{found[0][1]}")
        values = {args.key: values[args.key]}
    rows = [(key, json.dumps(value, ensure_ascii=False)) for key, value in sorted(values.items())]
    _table(("KEY", "VALUE"), rows)
    return 0


# ---------------------------------------------------------------------------- reset


def _reset(args: argparse.Namespace, project: Project | None) -> int:
    """Move a service's positions (reset.py); refuses while a run holds the store."""
    if args.to_offset is not None:
        args.to = "offset"
    if args.to == "offset" and args.to_offset < 0:
        raise AppError(f"--to-offset must be >= 0, got {args.to_offset}")
    topic = _topic_name(args.topic, project) if args.topic is not None else None
    key, sources, changelogs = _pipeline_service(project, args.service)
    with open_store(args.store, create=False) as store, runlock.Exclusive(store.path, "reset a service"):
        args.service = key or _service_key(store, args.service)
        try:
            moves = reset.plan(store, args.service, args.to, args.to_offset, topic, args.partition, sources)
        except reset.ResetError as exc:
            raise AppError(str(exc)) from None
        states = sorted({c[2] for c in _changelogs(store) if c[0] == args.service} | set(changelogs))
        state_names = [name[len(args.service) + 1 : -len(statelog.CHANGELOG_SUFFIX)] for name in states]
        windowed = any(store.state_get(args.service, reset.WINDOW_STATE, k) is not None for k in reset.WINDOW_KEYS)
        lines = [reset.describe(m) for m in moves]
        if not args.yes:
            print(f"would move the positions of service {args.service}:", file=sys.stderr)
            print("\n".join(lines), file=sys.stderr)
            if args.drop_state and (states or windowed):
                print(f"and delete {_what_state(state_names, windowed)}", file=sys.stderr)
            print("run again with --yes to do it", file=sys.stderr)
            return 1
        if args.drop_state:
            for name, changelog in zip(state_names, states):
                if changelog in store.topics():
                    store.drop_state(args.service, name, changelog, statelog.SCHEMA_STATE)
            reset.drop_window(store, args.service)
        reset.apply(store, args.service, moves)
    print(f"moved the positions of service {args.service}:", file=sys.stderr)
    print("\n".join(lines), file=sys.stderr)
    if args.drop_state and (states or windowed):
        print(f"deleted {_what_state(state_names, windowed)}; the next run rebuilds them from what it reads", file=sys.stderr)
    elif states or windowed:
        print(
            f"note: {_what_state(state_names, windowed)} not rewound: records read again update them again"
            " (counted twice), skipped ones never do; --drop-state deletes them with the move",
            file=sys.stderr,
        )
    return 0


def _what_state(states: list[str], windowed: bool) -> str:
    parts = [f"state{'s' if len(states) != 1 else ''} {', '.join(states)}"] if states else []
    return " and ".join(parts + (["the window progress (watermark, open windows)"] if windowed else []))


def _pipeline_service(project: Project | None, name: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """(store name, source topics, state changelogs) of service `name` in the project's
    description; an emitted project knows its services, so a name it does not have is an error."""
    if project is None:
        return None, (), ()
    described = json.loads(project.description.read_text(encoding="utf-8")).get("services", [])
    for svc in described:
        if naming.matches(str(svc.get("name")), name):
            name = svc["name"]
            sources = tuple(src["topic"] for src in svc.get("sources", []) if "topic" in src)
            changelogs = tuple(
                st.get("changelog") or f"{name}.{st['name']}{statelog.CHANGELOG_SUFFIX}" for st in svc.get("states", [])
            )
            return name, sources, changelogs
    known = ", ".join(naming.title(str(svc.get("name"))) for svc in described)
    raise AppError(f"the pipeline has no service {name!r} (services: {known})")


# ---------------------------------------------------------------------------- sql


def _sql(args: argparse.Namespace, project: Project | None) -> int:
    """The state tables of the store, queried with SQLite (sqlcmd.py)."""
    with _open(args, create=False) as store:
        changelogs = _changelogs(store)
        db = sqlite3.connect(":memory:")
        try:
            tables = sqlcmd.load(
                db,
                changelogs,
                lambda topic: statelog.read_all(store, topic),
                lambda service_name, state: statelog.schema(store, service_name, state),
            )
        except sqlcmd.QueryError as exc:
            raise AppError(f"sql: {exc}") from None
    try:
        columns, rows = sqlcmd.query(db, args.query, args.timeout)
    except sqlcmd.QueryError as exc:
        raise AppError(f"sql: {exc} (tables: {', '.join(tables) or 'none'})") from None
    sqlcmd.show(columns, rows, args.json)
    return 0
