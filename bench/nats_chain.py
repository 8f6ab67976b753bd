"""bench/chain.py's stateless chain over NATS JetStream: sscc against a plain nats-py loop.

    python bench/nats_chain.py [--records 200000] [--repeat 3] [--broker nats://HOST:PORT]

Starts a nats-server (JetStream, file storage in a temp dir, a free port on 127.0.0.1) unless
--broker names one, and stores N orders (examples/order-totals' input, as bench/chain.py makes
them) in topic `orders`. Then, whole commands, a fresh process each, timed spawn to exit, runs
interleaved and the best of --repeat kept (this machine is shared):
- `sscc run FILE --broker URL --until-idle --quiet` (compiled beforehand into sscc's cache);
- `python bench/nats_chain.py --plain URL N`: a plain nats-py program doing the same work per
  message: pull (a pull consumer, batches of 4096), orjson decode, the type checks the Rust
  structs make, filter, map, encode, publish (nats-py's `publish_async`, many in flight),
  ack every message, until the N orders are done; and the same with a push consumer and a
  callback per message (`--plain-push`), the fastest way in that nats-py offers (its `fetch` waits
  for each message of a batch in turn).
Both write the same records (checked: counts of outputs and dead letters). Before each run the
outputs, the dead letters and the positions are deleted, so every run starts fresh.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "runtime_stub"), str(ROOT / "bench")]

EXAMPLE = ROOT / "examples" / "order-totals" / "dataflow.yaml"
U32 = 2**32
BATCH = 4096


# examples/order-totals' service as the store names it (namespace.pipeline.service)
PRICING = "examples.order-totals.pricing"

def order(i: int) -> bytes:
    """As bench/chain.py: a fifth have qty 0 (filtered out); every 10,007th is rejected by the map."""
    qty = 5000 if i % 10_007 == 0 else i % 5
    return b'{"id":%d,"item":"item-%d","qty":%d,"price":%d.25}' % (i, i % 1000, qty, i % 97)


# ---------------------------------------------------------------------------- the plain loop

TOTALS, DEAD = "plain-totals.0", "plain-dead.0"
loads, dumps = orjson.loads, orjson.dumps


def order_work(data: bytes, offset: int) -> tuple[str, bytes] | None:
    """The chain's work on one order, as the plain loops do it: (subject, payload) to publish, or
    None for an order filtered out."""
    try:
        o = loads(data)
        qty, oid, item, price = o["qty"], o["id"], o["item"], float(o["price"])
        if not (type(qty) is int and 0 <= qty < U32 and type(oid) is int and oid >= 0 and type(item) is str):
            raise ValueError("schema")
    except (ValueError, KeyError, TypeError) as exc:
        return DEAD, dumps({"kind": "decode", "reason": str(exc), "offset": offset})
    if qty == 0:
        return None
    if qty > 1000:
        return DEAD, dumps({"kind": "operator", "reason": f"qty {qty} too large", "offset": offset})
    return TOTALS, dumps({"id": oid, "item": item, "total": qty * price})


async def plain(url: str, records: int) -> None:
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        "orders.0", stream="sscc-orders__0",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1),
    )  # fmt: skip
    n = dead = done = 0
    while done < records:
        for msg in await sub.fetch(BATCH, timeout=5):
            out = order_work(msg.data, msg.metadata.sequence.stream - 1)
            if out is not None:
                await js.publish_async(*out)
                if out[0] == TOTALS:
                    n += 1
                else:
                    dead += 1
            await msg.ack()
            done += 1
    await js.publish_async_completed()
    await nc.flush()
    await nc.close()
    print(n, dead)


async def plain_push(url: str, records: int) -> None:
    """The same work with a push consumer and a callback per message: nats-py's fastest way in
    (its pull `fetch` waits per message); explicit acks."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    nc = await nats.connect(url)
    js = nc.jetstream()
    finished = asyncio.get_running_loop().create_future()
    counts = [0, 0, 0]  # out, dead, done

    async def work(msg) -> None:
        out = order_work(msg.data, msg.metadata.sequence.stream - 1)
        if out is not None:
            await js.publish_async(*out)
            counts[0 if out[0] == TOTALS else 1] += 1
        await msg.ack()
        counts[2] += 1
        if counts[2] == records and not finished.done():
            finished.set_result(None)

    await js.subscribe(
        "orders.0", stream="sscc-orders__0", cb=work, manual_ack=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=20_000),
    )  # fmt: skip
    await finished
    await js.publish_async_completed()
    await nc.flush()
    await nc.close()
    print(counts[0], counts[1])


# ---------------------------------------------------------------------------- the benchmark


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    server = shutil.which("nats-server") or "/usr/sbin/nats-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp / "nats.log", "wb")
    proc = subprocess.Popen([server, "-js", "-sd", str(tmp / "js"), "-a", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"nats://127.0.0.1:{port}"


def reset(backend, outputs: list[str], service: str | None) -> None:
    """Delete output streams (and their de-duplication state) and a service's positions."""
    from sscc_runtime import nats_backend

    async def go():
        for topic in outputs:
            try:
                await backend.js.delete_stream(nats_backend.stream_name(topic, 0))
            except Exception:  # noqa: BLE001 - not there yet
                pass
            try:
                await backend._kv_topics.purge(nats_backend.escape(topic))
            except Exception:  # noqa: BLE001
                pass
        if service:
            try:
                await backend._kv_commits.purge(nats_backend.escape(service))
            except Exception:  # noqa: BLE001
                pass

    backend._call(go())
    backend._partitions.clear()
    backend._docs.clear()


def counts(backend, topics: list[str]) -> tuple[int, ...]:
    out = []
    for topic in topics:
        try:
            first, end = backend.bounds(topic, 0)
        except KeyError:
            first = end = 0
        out.append(end - first)
    return tuple(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--broker", help="a running nats-server (default: start one)")
    parser.add_argument("--plain", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--plain-push", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        asyncio.run(plain(args.plain[0], int(args.plain[1])))
        return
    if args.plain_push:
        asyncio.run(plain_push(args.plain_push[0], int(args.plain_push[1])))
        return

    import _whole
    from sscc_runtime import brokers, frames

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server, url = (None, args.broker) if args.broker else start_server(tmp)
        try:
            backend = brokers.open_broker(url)
            reset(backend, ["orders", "totals", PRICING + ".dead-letters", "plain-totals", "plain-dead"], PRICING)
            backend.ensure_topic("orders", 1)
            start = time.perf_counter()
            for base in range(0, args.records, BATCH):
                rows = [(None, order(i), i) for i in range(base, min(base + BATCH, args.records))]
                backend.append("orders", 0, *frames.build(rows))
            print(f"{args.records:,} orders stored in {time.perf_counter() - start:.1f} s ({url})")
            pipeline = tmp / "src" / EXAMPLE.name
            pipeline.parent.mkdir()
            pipeline.write_bytes(EXAMPLE.read_bytes())
            sscc = _whole.sscc_command()
            _whole.warm_up(sscc, pipeline, tmp)  # compiled into the cache, on an empty local store

            results: dict[str, tuple[int, ...]] = {}

            def sscc_run() -> float:
                reset(backend, ["totals", PRICING + ".dead-letters"], PRICING)
                seconds, _ = _whole.timed([sscc, "run", pipeline, "--broker", url, "--until-idle", "--quiet"])
                results["sscc"] = counts(backend, ["totals", PRICING + ".dead-letters"])
                return seconds

            def plain_run(flag: str):
                def run() -> float:
                    reset(backend, ["plain-totals", "plain-dead"], None)
                    for topic in ("plain-totals", "plain-dead"):
                        backend.ensure_topic(topic, 1)
                    seconds, printed = _whole.timed([sys.executable, __file__, flag, url, str(args.records)])
                    results[flag] = counts(backend, ["plain-totals", "plain-dead"])
                    assert results[flag] == tuple(map(int, printed.split())), (printed, results)
                    return seconds

                return run

            best = _whole.best(args.repeat, {"sscc": sscc_run, "plain": plain_run("--plain"), "push": plain_run("--plain-push")})
            assert results["sscc"] == results["--plain"] == results["--plain-push"], f"(out, dead) differ: {results}"
            backend.close()
        finally:
            if server is not None:
                server.terminate()
                server.wait()
    n = args.records
    print(f"whole commands over JetStream, {n:,} orders, {results['sscc'][0]:,} out, {results['sscc'][1]:,} dead"
          f" (best of {args.repeat}, interleaved; wall, then the process's CPU):")  # fmt: skip
    labels = {
        "sscc": "sscc run FILE --broker URL --until-idle",
        "plain": "plain nats-py loop (pull, orjson, publish_async, ack)",
        "push": "plain nats-py, push consumer callback instead of pull",
    }
    for name, label in labels.items():
        wall, cpu = best[name]
        print(f"  {label:<56} {n / wall:>10,.0f} rec/s  ({wall:.2f} s; {cpu:.2f} s CPU)")
    (w_s, c_s), (w_p, c_p) = best["sscc"], best["plain"]
    w_push, c_push = best["push"]
    print(f"nats chain summary: sscc {n / w_s:,.0f} rec/s = {w_p / w_s:.2f}x the plain nats-py pull loop (target >= 2x;"
          f" by CPU time {c_p / c_s:.2f}x), {w_push / w_s:.2f}x its push-consumer variant (CPU {c_push / c_s:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    os.environ.pop("SSCC_BROKER", None)
    main()
