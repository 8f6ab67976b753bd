"""Ctrl-C while a guest is inside a long batch (issue 13 item 10): the run stops without waiting for
the batch (the guest is interrupted), says so, exits 130, and commits nothing of that batch, so
nothing is lost or duplicated; a second Ctrl-C forces a guest that cannot be interrupted. The
project's real command line (app.main) in a subprocess, the real fixture guest, a real store.

No timing is asserted: the operator loops for 10 minutes on one record, so a run that waited for
its batch would hit the test's hang guard instead of exiting 130."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from app_runner import HANG_GUARD, cpu_seconds, description, fixture_wasm, produce, start  # noqa: F401
from app_runner import position as _position, values


def _wait_until_spinning(proc) -> None:
    """The guest is looping once the process has burnt CPU well past its start-up."""
    deadline = time.monotonic() + HANG_GUARD
    while cpu_seconds(proc.pid) < 3.0:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run never got busy"
        time.sleep(0.1)


def _topic(store_dir: Path, topic: str) -> list[bytes]:
    return values(store_dir, topic)


def test_ctrl_c_interrupts_a_long_batch_and_commits_nothing_of_it(fixture_wasm, tmp_path):  # noqa: F811
    desc = description(tmp_path, fixture_wasm, limits={"timeout_ms": 600_000})
    store = tmp_path / "store"
    produce(store, [b"a", b"b"])
    first = start(desc, store, "--until-idle")
    assert first.wait(HANG_GUARD) == 0, first.communicate()[1]
    assert _topic(store, "out") == [b"a", b"b"] and _position(store) == 2

    produce(store, [b"c", b"spin", b"d"])
    run = start(desc, store)
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
    desc = description(tmp_path, fixture_wasm, limits={"timeout_ms": 0})  # no epoch interruption at all
    store = tmp_path / "store"
    produce(store, [b"a", b"spin"])
    run = start(desc, store)
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
