"""kill -9 at random moments, restart, finish: the crash loop of the exactly-once tests.

Imported as `from kill_harness import Command, kill_9_and_restart` (tests/ is on sys.path as for
conftest); importing it puts runtime_stub/ and tests/runtime/ on sys.path too (sscc_runtime,
runtime_build). Used by tests/state/test_state_kill.py, tests/test_kill_compiled.py and
tests/runtime/test_runtime_crash.py; any pipeline whose run command stops by itself once its
input is consumed (`--until-idle`) and that records its progress in the embedded store fits.
`compile_project` and `Command.emitted` give the usual command: a pipeline compiled with
`sscc compile`, run as `python -m NAME ...` inside the emitted project.

    project = compile_project(PIPELINE, tmp / "word-count-state")
    run = Command.emitted(project, "word_count_state", "run", "--store", str(store),
                          "--until-idle", "--quiet")
    kills = kill_9_and_restart(run, store_db=store / "store.db", progress=committed,
                               kills=6, after=(3_000, 50_000), seed=4242)
    kills.seen   # progress(store) right after each kill, one entry per kill

What it does, in this order (the order of random draws is part of it: a seed replays a run):
  1. `targets = [0] + sorted(rng.sample(range(*after), kills - 1))` with `random.Random(seed)`;
     SSCC_CRASH_SEED in the environment replaces `seed` (to vary or replay a run).
  2. For each target: start the command; for target 0 wait a random 0-`startup` s (a kill during
     start-up), cut short once `progress` reaches `after[0]` (a fast run could otherwise finish
     first), else poll `progress` until it reaches the target, then wait a random 0-5 ms more,
     so that kills fall anywhere in a batch or a commit. The run must still be alive (else the
     test fails: it finished before it could be killed); SIGKILL it, record `progress`.
  3. Run the command once more; it must exit 0 within `final_timeout` s (its stderr is the
     failure message). The caller then checks the store against its reference.

`progress(store)` reads the store beside the runner (a second SQLite connection; WAL lets it
read without blocking the writer), usually the sum of a service's committed source positions.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

import pytest  # noqa: E402
import runtime_build  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402


@dataclass(frozen=True)
class Command:
    """A command line with its working directory and environment (None: the test's own)."""

    argv: Sequence[str]
    cwd: Optional[Path] = None
    env: Optional[Mapping[str, str]] = None

    @classmethod
    def emitted(cls, project: Path, package: str, *args: str) -> "Command":
        """`python -m PACKAGE ARGS` inside the emitted project, as a user would run it."""
        return cls([sys.executable, "-m", package, *args], cwd=project, env=dict(os.environ, PYTHONPATH=str(project)))

    def start(self) -> subprocess.Popen:
        """Started in the background; stderr is a pipe (read it for a failure message)."""
        return subprocess.Popen(list(self.argv), cwd=self.cwd, env=self.env, stderr=subprocess.PIPE)

    def run(self, timeout: float) -> None:
        """Runs to the end; fails the test, with the command's stderr, unless it exits 0."""
        proc = self.start()
        assert proc.wait(timeout) == 0, proc.stderr.read().decode()
        proc.stderr.close()


def compile_project(pipeline: Path, out: Path) -> Path:
    """`sscc compile PIPELINE -o OUT` (the test fails with the compiler's stderr if it does not);
    skips the test where the Rust toolchain for wasm is missing."""
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["sscc", "compile", str(pipeline), "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return out


@dataclass
class Kills:
    """What kill_9_and_restart did: the seed used, the progress targets, and the progress
    read right after each kill (same length as targets)."""

    seed: int
    targets: list[int]
    seen: list[int] = field(default_factory=list)


def crash_seed(default: int) -> int:
    """SSCC_CRASH_SEED from the environment, else `default`."""
    return int(os.environ.get("SSCC_CRASH_SEED", str(default)))


def kill_9_and_restart(
    command: Command,
    *,
    store_db: Path,
    progress: Callable[[Store], int],
    kills: int,
    after: tuple[int, int],
    seed: int,
    startup: float = 0.3,
    final_timeout: float = 300,
) -> Kills:
    """Starts `command` `kills` times and SIGKILLs it each time (once during start-up, then once
    `progress` passes a random target drawn from `range(*after)`), then runs it to the end.
    See the module docstring for the exact sequence."""
    used = crash_seed(seed)
    rng = random.Random(used)
    done = Kills(used, [0] + sorted(rng.sample(range(*after), kills - 1)))
    watch = Store(store_db)
    try:
        for target in done.targets:
            proc = command.start()
            if target == 0:
                # A fast run can do all its work within `startup`: stop waiting early once
                # `after[0]` is committed, so the run is still going when the kill lands.
                deadline = time.monotonic() + rng.uniform(0.0, startup)
                while time.monotonic() < deadline and progress(watch) < after[0] and proc.poll() is None:
                    time.sleep(0.002)
            else:
                while progress(watch) < target and proc.poll() is None:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.005))
            if proc.poll() is not None:
                raise AssertionError(
                    f"the run ended (exit {proc.returncode}) before it could be killed at {target}"
                    f" (seed {used}): {proc.stderr.read().decode(errors='replace')[-2000:]}"
                )
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stderr.close()
            done.seen.append(progress(watch))
    finally:
        watch.close()
    command.run(final_timeout)
    return done
