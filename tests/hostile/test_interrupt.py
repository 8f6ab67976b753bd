"""Ctrl-C while a guest is inside a long batch (issue 13 item 10): the run stops without waiting for
the batch (the guest is interrupted), says so, exits 130, and commits nothing of that batch, so
nothing is lost or duplicated; a second Ctrl-C forces a guest that cannot be interrupted. The
project's real command line (app.main) in a subprocess, the real fixture guest, a real store.

No timing is asserted: the operator loops for 10 minutes on one record, so a run that waited for
its batch would hit the test's hang guard instead of exiting 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))

from runtime_fixtures import fixture_wasm  # noqa: E402,F401

from sscc_runtime import frames  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

RUNTIME = Path(__file__).resolve().parents[2] / "runtime_stub"
HANG_GUARD = 120  # seconds: only stops a hung test
APP = (
    "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from sscc_runtime import app; "
    "sys.exit(app.main(sys.argv[3:], project=app.Project('spinner', Path(sys.argv[2]))))"
)


def _description(tmp_path: Path, wasm: Path, timeout_ms: int) -> Path:
    desc = {
        "format": 1,
        "services": [
            {
                "name": "pass",
                "sources": [{"topic": "in", "starting_offset": {"position": "Beginning", "value": 0}}],
                # sscc_stage_1 passes records through and spins on a record holding "spin"
                "stages": [{"module": str(wasm), "export": "sscc_stage_1"}],
                "sinks": [{"topic": "out"}],
                "limits": {"timeout_ms": timeout_ms},
            }
        ],
    }
    path = tmp_path / "services.json"
    path.write_text(json.dumps(desc))
    return path


def _produce(store_dir: Path, values: list[bytes]) -> None:
    store_dir.mkdir(exist_ok=True)
    with Store(store_dir / "store.db") as store:
        store.ensure_topic("in", 1)
        store.append("in", 0, *frames.build([(None, v, 1) for v in values]))


def _run(desc: Path, store_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", APP, str(RUNTIME), str(desc), "run", "--store", str(store_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_spinning(proc: subprocess.Popen) -> None:
    """The guest is looping once the process has burnt CPU well past its start-up."""
    deadline = time.monotonic() + HANG_GUARD
    while _cpu_seconds(proc.pid) < 3.0:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run never got busy"
        time.sleep(0.1)


def _topic(store_dir: Path, topic: str) -> list[bytes]:
    with Store(store_dir / "store.db") as store:
        if topic not in store.topics():
            return []
        batch = store.read(topic, 0, 0, 1 << 20)
        return [r.value for r in frames.iter_records(batch.data)]


def _position(store_dir: Path) -> int | None:
    with Store(store_dir / "store.db") as store:
        return store.position("pass", "in", 0)


def test_ctrl_c_interrupts_a_long_batch_and_commits_nothing_of_it(fixture_wasm, tmp_path):  # noqa: F811
    desc = _description(tmp_path, fixture_wasm, timeout_ms=600_000)
    store = tmp_path / "store"
    _produce(store, [b"a", b"b"])
    first = _run(desc, store, "--until-idle")
    assert first.wait(HANG_GUARD) == 0, first.communicate()[1]
    assert _topic(store, "out") == [b"a", b"b"] and _position(store) == 2

    _produce(store, [b"c", b"spin", b"d"])
    run = _run(desc, store)
    try:
        _wait_until_spinning(run)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=HANG_GUARD)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "stopping: the batch in progress is interrupted" in err
    assert "interrupted: the batch in progress was not committed" in err
    assert "stopped by SIGINT" in err and "Traceback" not in err
    assert _position(store) == 2, "the interrupted batch moved no position"
    assert _topic(store, "out") == [b"a", b"b"], "and wrote no output"
    assert _topic(store, "pass.dead-letters") == [], "the spinning record is not a timeout dead letter"


def test_a_second_ctrl_c_forces_a_guest_that_cannot_be_interrupted(fixture_wasm, tmp_path):  # noqa: F811
    desc = _description(tmp_path, fixture_wasm, timeout_ms=0)  # no epoch interruption at all
    store = tmp_path / "store"
    _produce(store, [b"a", b"spin"])
    run = _run(desc, store)
    try:
        _wait_until_spinning(run)
        run.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert run.poll() is None, "the first Ctrl-C cannot stop a guest without epoch interruption"
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=HANG_GUARD)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "Ctrl-C again to force" in err and "forced to stop" in err
    assert _position(store) == 0 and _topic(store, "out") == []
