"""Start-up as a user times it: the whole `sscc run FILE --until-idle` command on an empty input.

    python bench/startup.py [--pipeline FILE] [--repeat 20] [--sscc PATH]

Each command is a fresh process timed from spawn to exit (wall clock), best of --repeat
interleaved runs (noise on a shared machine only ever slows a run down):
- `sscc run FILE --until-idle --quiet` with a warm project cache over an existing, empty store
  (the pipeline is copied to a temporary directory and run once untimed: the compile, and the
  precompiled modules, are made there);
- the same project emitted by `sscc compile -o DIR` and run as `python -m PROJECT run` (with the
  bytecode `pip install` would compile for it);
- baselines with the same interpreter: `python -c pass`, `python -c "import wasmtime"`, and
  `sscc check FILE` (the front end alone).
--sscc times another installation's `sscc` (e.g. an older checkout, for before/after figures).
Target (issue 12): the warm `sscc run` within 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _whole

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PIPELINE = ROOT / "examples" / "order-totals" / "dataflow.yaml"
TARGET = 0.15


def interpreter_of(script: str) -> str:
    """The Python a console script runs with (its #! line), so baselines use the same one."""
    first = Path(script).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


def timed(cmd: list, env: dict | None = None) -> float:
    return _whole.timed(cmd, env)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    parser.add_argument("--repeat", type=int, default=20, help="runs per command; best kept")
    parser.add_argument("--sscc", default=_whole.sscc_command(), help="the sscc command to time")
    args = parser.parse_args()
    python = interpreter_of(args.sscc)
    env = {k: v for k, v in os.environ.items() if k not in ("SSCC_STORE", "PYTHONPATH")}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pipeline = tmp / "src" / args.pipeline.name
        pipeline.parent.mkdir()
        shutil.copy(args.pipeline, pipeline)
        store, project_store, emitted = tmp / "store", tmp / "project-store", tmp / "emitted"
        run = [args.sscc, "run", str(pipeline), "--store", str(store), "--until-idle", "--quiet"]
        start = time.perf_counter()
        timed(run, env)  # the compile; the store and the precompiled modules
        print(f"{args.sscc}: compiled and ran {args.pipeline.name} once in {time.perf_counter() - start:.1f} s (untimed)")

        done = subprocess.run([args.sscc, "compile", str(pipeline), "-o", str(emitted)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"sscc compile failed:\n{done.stderr}")
        (package,) = [p.parent.name for p in emitted.glob("*/services.json")]
        subprocess.run([python, "-m", "compileall", "-q", str(emitted / package)], check=True, stdout=subprocess.DEVNULL)
        project_env = dict(env, PYTHONPATH=str(emitted))
        project_run = [python, "-m", package, "run", "--store", str(project_store), "--until-idle", "--quiet"]
        timed(project_run, project_env)

        commands = {
            "run": ("sscc run FILE --until-idle (warm cache, empty input)", run, env),
            "project": (f"python -m {package} run --until-idle (emitted project)", project_run, project_env),
            "pass": ("python -c pass", [python, "-c", "pass"], env),
            "wasmtime": ('python -c "import wasmtime"', [python, "-c", "import wasmtime"], env),
            "check": ("sscc check FILE", [args.sscc, "check", str(pipeline)], env),
        }
        best = _whole.best(args.repeat, {key: (lambda c=cmd, e=cmd_env: timed(c, e)) for key, (_, cmd, cmd_env) in commands.items()})

    print(f"best of {args.repeat} interleaved runs, wall clock from spawn to exit (and CPU time):")
    for key, (label, _, _) in commands.items():
        wall, cpu = best[key]
        print(f"  {label:<56} {wall * 1000:7.1f} ms  ({cpu * 1000:6.1f} ms CPU)")
    ms = {key: round(wall * 1000) for key, (wall, _) in best.items()}
    cpu_ms = {key: round(cpu * 1000) for key, (_, cpu) in best.items()}
    verdict = "meets" if best["run"][0] <= TARGET else "misses"
    print(
        f"startup summary: sscc run {ms['run']} ms ({verdict} the {TARGET * 1000:.0f} ms target), "
        f"python -m PROJECT run {ms['project']} ms; python -c pass {ms['pass']} ms, "
        f"import wasmtime {ms['wasmtime']} ms, sscc check {ms['check']} ms"
    )
    print(
        f"startup CPU: sscc run {cpu_ms['run']} ms = {best['run'][1] / best['wasmtime'][1]:.2f}x `import wasmtime`"
        f" ({cpu_ms['wasmtime']} ms), {best['run'][1] / best['pass'][1]:.2f}x `python -c pass` ({cpu_ms['pass']} ms)"
    )


if __name__ == "__main__":
    main()
