"""Measures the batch ABI: host overhead per batch, and a fused WASM chain against plain Python.

    python bench/abi_overhead.py [--records 1000000] [--batch 4096]

1. Host overhead per call and per batch, fast path (fastcall: unchecked ctypes call) against
   wasmtime-py's public `Func.__call__`: a bare export call, and a whole one-record batch through
   `Guest.run` (memmove in, deadline, call, control block, outputs out).
2. Records/s from store to store over N orders: the run loop with the fused Rust guest
   (json decode -> filter -> map -> json encode, tests/runtime/guest_fixture) against a plain
   Python loop doing the same work with orjson, framing and committing the same way.
Needs the Debian Rust toolchain (docs/runtime.md) to build the guest fixture; it is cached.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "runtime_stub"), str(ROOT / "tests" / "runtime")]

import orjson  # noqa: E402
import runtime_build  # noqa: E402
from sscc_runtime import fastcall, frames, service  # noqa: E402
from _baseline import HEADER, NO_KEY, fill, store_to_store  # noqa: E402
from sscc_runtime.backend import Output  # noqa: E402
from sscc_runtime.loop import Loop  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402
from sscc_runtime.wasm_host import Guest  # noqa: E402


def per_call(fn, n: int) -> float:
    """Best of 5 rounds, µs per call."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def overhead(wasm: Path) -> dict[str, float]:
    results = {}
    batch, _ = frames.build(
        [(None, json.dumps({"id": 1, "item": "x", "qty": 0, "price": 1.0}).encode())]
    )
    for fast in (True, False):
        label = "fast" if fast else "public"
        guest = Guest(wasm, fast=fast)
        version = guest._instance._export("sscc_abi_version")
        results[f"bare call, {label}"] = per_call(version, 20_000)
        results[f"1-record batch, {label}"] = per_call(
            lambda: guest.run("sscc_stage_0", batch, 0), 20_000
        )
    return results


def order(i: int) -> bytes:
    return b'{"id":%d,"item":"item-%d","qty":%d,"price":%d.25}' % (
        i,
        i % 1000,
        i % 5,
        i % 97,
    )


def fused(
    db: Path, wasm: Path, batch: int, timeout_ms: int, run: int
) -> tuple[float, int]:
    name = f"pricing-{timeout_ms}-{run}"
    description = {
        "format": 1,
        "services": [
            {
                "name": name,
                "sources": [
                    {"topic": "orders", "starting_offset": {"position": "Beginning"}}
                ],
                "stages": [{"module": str(wasm), "export": "sscc_stage_0"}],
                "sinks": [{"topic": f"{name}-totals"}],
                "batch_records": batch,
                "limits": {"timeout_ms": timeout_ms},
            }
        ],
    }
    with Store(db) as store:
        loop = Loop(store, service.load(description), until_idle=True)
        start = time.perf_counter()
        counters = loop.run()[name]
        return time.perf_counter() - start, counters.records_out


def python_loop(db: Path, batch: int, run: int) -> tuple[float, int]:
    """The same work per record in Python: unframe, orjson decode, filter, map, encode, frame."""
    sink = f"py-{run}-totals"

    def work(data: bytes, offset: int) -> tuple[list[Output], int, int]:
        # locals, not closure cells: the per-record loop below is what is measured
        loads, dumps, pack, unpack = (
            orjson.loads,
            orjson.dumps,
            HEADER.pack,
            HEADER.unpack_from,
        )
        pos, end, out, n = 0, len(data), [], 0
        while pos < end:
            frame_len, ts, _, key_len = unpack(data, pos)
            body = pos + 24
            value = (
                data[body : pos + 4 + frame_len]
                if key_len == NO_KEY
                else data[body + key_len : pos + 4 + frame_len]
            )
            o = loads(value)
            if o["qty"] > 0:
                encoded = dumps(
                    {
                        "id": o["id"],
                        "item": o["item"],
                        "total": o["qty"] * o["price"],
                    }
                )
                out.append(pack(20 + len(encoded), ts, offset, NO_KEY))
                out.append(encoded)
                n += 1
            pos += 4 + frame_len
            offset += 1
        return [Output(sink, 0, b"".join(out), n)], n, 0

    seconds, produced, _ = store_to_store(db, batch, f"py-{run}", [sink], work)
    return seconds, produced


def guest_only(db: Path, wasm: Path, batch: int) -> float:
    """Seconds spent in Guest.run alone over the same batches (no store), epoch deadline on."""
    guest = Guest(wasm)
    with Store(db) as store:
        batches = []
        offset = 0
        while (got := store.read("orders", 0, offset, batch)).count:
            batches.append(got)
            offset += got.count
    start = time.perf_counter()
    for got in batches:
        guest.run("sscc_stage_0", got.data, got.base_offset)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; best kept"
    )
    args = parser.parse_args()
    reason = runtime_build.missing_toolchain()
    if reason:
        sys.exit(reason)
    wasm = runtime_build.build_fixture()
    print(f"wasmtime fast path available: {fastcall.AVAILABLE}")

    print("\nhost overhead (best of 5, µs)")
    results = overhead(wasm)
    for name, us in results.items():
        print(f"  {name:<26} {us:8.2f}")
    for what in ("bare call", "1-record batch"):
        print(
            f"  {what}: public / fast = {results[f'{what}, public'] / results[f'{what}, fast']:.1f}x"
        )

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        start = time.perf_counter()
        fill(db, args.records, args.batch, order)
        print(
            f"\n{args.records:,} orders in {args.batch}-record batches (filled in {time.perf_counter() - start:.1f} s)"
        )
        # interleaved repeats, best of each: the machine is shared, so noise only slows runs down
        runs: dict[str, list] = {"wasm": [], "free": [], "guest": [], "py": []}
        for run in range(args.repeat):
            runs["wasm"].append(fused(db, wasm, args.batch, 10_000, run))
            runs["free"].append(fused(db, wasm, args.batch, 0, run))
            runs["guest"].append((guest_only(db, wasm, args.batch), 0))
            runs["py"].append(python_loop(db, args.batch, run))
        (t_wasm, out_wasm), (t_free, out_free), (t_guest, _), (t_py, out_py) = (
            min(r) for r in runs.values()
        )
        assert out_wasm == out_free == out_py, (out_wasm, out_free, out_py)
        print(f"  best of {args.repeat} interleaved runs each")
        n = args.records
        print(
            f"  fused WASM chain, store to store    {n / t_wasm:>12,.0f} rec/s  ({t_wasm:.2f} s)"
        )
        print(
            f"    of which inside Guest.run         {n / t_guest:>12,.0f} rec/s  ({t_guest:.2f} s)"
        )
        print(
            f"  same, timeout_ms=0 (no epoch check) {n / t_free:>12,.0f} rec/s  ({t_free:.2f} s)"
        )
        print(
            f"  Python orjson loop, store to store  {n / t_py:>12,.0f} rec/s  ({t_py:.2f} s)"
        )
        print(
            f"  fused / Python = {t_py / t_wasm:.2f}x;  without epoch check {t_py / t_free:.2f}x"
        )


if __name__ == "__main__":
    main()
