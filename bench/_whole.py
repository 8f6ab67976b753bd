"""Whole-command timing for bench/chain.py, wc.py and startup.py: a benchmark as a user times it.

Each system is one fresh process, timed from spawn to exit (start-up, imports, reading the input
and writing the output included):
- sscc: `sscc run FILE --store DIR --until-idle --quiet` over a copy of a store the input was
  produced into beforehand (the produce is not timed; a user's records are in the store already);
- the plain Python programs below, reading the same records from a file, one per line, and
  writing their results to a file: `python bench/_whole.py chain-loop|wc-counter|wc-bytewax IN OUT`.
Runs are interleaved, the best of --repeat kept (noise on a shared machine only slows a run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve()
U32 = 2**32


def sscc_command() -> str:
    """The `sscc` script next to this interpreter (a venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "sscc"
    return str(beside) if beside.exists() else (shutil.which("sscc") or "sscc")


def child_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("SSCC_STORE", "PYTHONPATH")}


_cpu: list[float] = [0.0]  # the CPU seconds (user + system) of the last timed process


def timed(cmd: list, env: dict | None = None) -> tuple[float, str]:
    """Seconds from spawn to exit, and stdout; a failing command stops the benchmark. The
    process's CPU time is kept for `best` (on a shared machine wall time includes waiting for
    a core; CPU time does not)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], env=env or child_env(), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    _cpu[0] = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{stderr}")
    return seconds, stdout


def sscc_run(sscc: str, pipeline: Path, pristine: Path, workdir: Path, *flags: str) -> tuple[float, Path]:
    """Time `sscc run` over a fresh copy of the store directory `pristine`; (seconds, its store.db)."""
    store = workdir / "run-store"
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(pristine, store)  # store.db and its record log (store.db-log)
    seconds, _ = timed([sscc, "run", pipeline, "--store", store, "--until-idle", "--quiet", *flags])
    return seconds, store / "store.db"


def warm_up(sscc: str, pipeline: Path, workdir: Path, *flags: str) -> None:
    """Compile `pipeline` into sscc's project cache (one untimed run over an empty store)."""
    timed([sscc, "run", pipeline, "--store", workdir / f"warm-up{''.join(flags)}", "--until-idle", "--quiet", *flags])


def python_program(name: str, infile: Path, outfile: Path) -> tuple[float, str]:
    return timed([sys.executable, HERE, name, infile, outfile])


def best(repeat: int, runs: dict[str, Callable[[], float]]) -> dict[str, tuple[float, float]]:
    """{name: (wall, cpu)}: the fastest of `repeat` interleaved runs of each (each call runs one
    timed process and returns its wall seconds), wall and CPU seconds each at their minimum."""
    out = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(max(1, repeat)):
        for name, run in runs.items():
            wall = run()
            out[name] = (min(out[name][0], wall), min(out[name][1], _cpu[0]))
    return out


# ---------------------------------------------------------------------------- the Python programs


def chain_loop(infile: str, outfile: str) -> None:
    """bench/chain.py's pipeline as a plain orjson loop: decode, check the types the Rust structs
    would, keep qty > 0, price (qty > 1000 is an error record), encode; prints `out dead`."""
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
    n = dead = 0
    with open(infile, "rb") as src, open(outfile, "wb") as out, open(outfile + ".dead", "wb") as bad:
        for offset, line in enumerate(src):
            try:
                o = loads(line)
                qty, oid, item, price = o["qty"], o["id"], o["item"], float(o["price"])
                if not (type(qty) is int and 0 <= qty < U32 and type(oid) is int and oid >= 0 and type(item) is str):
                    raise ValueError("schema")
            except (ValueError, KeyError, TypeError) as exc:
                bad.write(dumps({"kind": "decode", "reason": str(exc), "offset": offset}) + b"\n")
                dead += 1
                continue
            if qty > 0:
                if qty > 1000:
                    bad.write(dumps({"kind": "operator", "reason": f"qty {qty} too large", "offset": offset}) + b"\n")
                    dead += 1
                else:
                    out.write(dumps({"id": oid, "item": item, "total": qty * price}) + b"\n")
                    n += 1
    print(n, dead)


def wc_counter(infile: str, outfile: str) -> None:
    """Word count with collections.Counter over the lines of a file; the counts as JSON."""
    from collections import Counter

    counts: Counter = Counter()
    with open(infile, encoding="utf-8") as src:
        for line in src:
            counts.update(line.split())
    Path(outfile).write_text(json.dumps(counts))


def wc_bytewax(infile: str, outfile: str) -> None:
    """Word count in Bytewax 0.21: FileSource -> flat_map(split) -> count_final, one worker."""
    import bytewax.operators as op
    from bytewax.connectors.files import FileSource
    from bytewax.dataflow import Dataflow
    from bytewax.testing import TestingSink, run_main

    out: list = []
    flow = Dataflow("wc")
    lines = op.input("sentences", flow, FileSource(infile, batch_size=4096))
    words = op.flat_map("split", lines, str.split)
    counts = op.count_final("count", words, lambda w: w)
    op.output("out", counts, TestingSink(out))
    run_main(flow)
    Path(outfile).write_text(json.dumps(dict(out)))


if __name__ == "__main__":
    programs = {"chain-loop": chain_loop, "wc-counter": wc_counter, "wc-bytewax": wc_bytewax}
    programs[sys.argv[1]](sys.argv[2], sys.argv[3])
