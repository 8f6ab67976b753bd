"""Ctrl-C during the Rust build of `sscc run` (issue 13 item 10): it says it was interrupted and
exits 130 (was click's `Aborted!` and 1), cargo and everything it started are gone, and the next
run builds and runs normally (no half-written cache entry is trusted). Real cargo, real sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import env, expected_words, pipeline_copy, sscc  # noqa: E402

EXAMPLE = Path(ROOT) / "examples" / "split-sentence" / "dataflow.yaml"
HANG_GUARD = 600  # seconds: a build may wait for other processes' builds (one at a time)
BUILDERS = {"cargo", "rustc", "bwrap"}


@pytest.fixture
def fresh_pipeline(tmp_path):
    """split-sentence with a comment no other build has: its crate is not in the build cache."""
    for path in pipeline_copy(tmp_path, EXAMPLE):
        text = path.read_text()
        marker = "Ok(!sentence.is_empty())"
        assert marker in text
        path.write_text(text.replace(marker, f"{marker} // {uuid.uuid4().hex}"))
        yield path


def _children() -> dict[int, int]:
    """pid -> parent pid of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _builders_under(pid: int) -> set[int]:
    parents = _children()
    found = set()
    for child in parents:
        p, seen = child, 0
        while p in parents and p != pid and seen < 64:
            p, seen = parents[p], seen + 1
        if p == pid:
            try:
                name = Path(f"/proc/{child}/comm").read_text().strip()
            except OSError:
                continue
            if name in BUILDERS:
                found.add(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_during_the_build_exits_130_and_the_next_build_works(fresh_pipeline, tmp_path):
    store = tmp_path / "store"
    sentences = ["One two", "three"]
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(sentences) + "\n", check=True)
    run = subprocess.Popen(
        [sys.executable, "-m", "sscc", "run", str(fresh_pipeline), "--store", str(store), "--until-idle"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + HANG_GUARD
        while not (builders := _builders_under(run.pid)):
            assert run.poll() is None, f"the run ended before its build started: {run.communicate()[1]}"
            assert time.monotonic() < deadline, "no cargo was started"
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=HANG_GUARD)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "sscc: interrupted" in err and "Aborted!" not in err and "Traceback" not in err
    deadline = time.monotonic() + HANG_GUARD
    while any(_alive(pid) for pid in builders):
        assert time.monotonic() < deadline, f"build processes outlived the interrupted run: {builders}"
        time.sleep(0.1)

    again = sscc("run", fresh_pipeline, "--store", store, "--until-idle", "--quiet")
    assert again.returncode == 0, again.stderr
    words = sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True)
    assert words.stdout.splitlines() == expected_words(sentences)
