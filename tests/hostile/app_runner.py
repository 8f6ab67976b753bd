"""Shared by the tests/hostile runtime tests (imported, not a conftest): the project's real command
line (sscc_runtime.app.main) over a hand-written services.json with the fixture guest, in a
subprocess, and readers of the store it leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from runtime_fixtures import fixture_wasm  # noqa: E402,F401  (re-exported for the tests)

from sscc_runtime import frames  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

RUNTIME = Path(__file__).resolve().parents[2] / "runtime_stub"
HANG_GUARD = 120  # seconds: only stops a hung test, never asserts speed
APP = (
    "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from sscc_runtime import app; "
    "sys.exit(app.main(sys.argv[3:], project=app.Project('spinner', Path(sys.argv[2]))))"
)


def description(tmp_path: Path, wasm: Path, export: str = "sscc_stage_1", **service) -> Path:
    """One service `pass`: topic `in` -> `export` of the fixture -> topic `out`. sscc_stage_1
    passes records through, spins on a record holding "spin", allocates without end on "hog"."""
    desc = {
        "format": 1,
        "services": [
            {
                "name": "pass",
                "sources": [{"topic": "in", "starting_offset": {"position": "Beginning", "value": 0}}],
                "stages": [{"module": str(wasm), "export": export}],
                "sinks": [{"topic": "out"}],
                **service,
            }
        ],
    }
    path = tmp_path / "services.json"
    path.write_text(json.dumps(desc))
    return path


def produce(store_dir: Path, values: list[bytes], topic: str = "in") -> None:
    store_dir.mkdir(exist_ok=True)
    with Store(store_dir / "store.db") as store:
        store.ensure_topic(topic, 1)
        store.append(topic, 0, *frames.build([(None, v, 1) for v in values]))


def start(desc: Path, store_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", APP, str(RUNTIME), str(desc), "run", "--store", str(store_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(desc: Path, store_dir: Path, *args: str) -> subprocess.CompletedProcess:
    proc = start(desc, store_dir, *args)
    out, err = proc.communicate(timeout=HANG_GUARD)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def app(store_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """A store command of the runtime's command line (no project): `topic consume ...`."""
    code = f"import sys; sys.path.insert(0, {str(RUNTIME)!r}); from sscc_runtime import app; sys.exit(app.main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args, "--store", str(store_dir)], capture_output=True, text=True, timeout=HANG_GUARD
    )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(predicate, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        if proc is not None:
            assert proc.poll() is None, f"the run ended while waiting for {what}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def values(store_dir: Path, topic: str) -> list[bytes]:
    with Store(store_dir / "store.db") as store:
        if topic not in store.topics():
            return []
        batch = store.read(topic, 0, 0, 1 << 20)
        return [r.value for r in frames.iter_records(batch.data)]


def position(store_dir: Path, service: str = "pass", topic: str = "in") -> int | None:
    with Store(store_dir / "store.db") as store:
        return store.position(service, topic, 0)
