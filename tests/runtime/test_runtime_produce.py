"""`topic produce` from a pipe (runtime_stub/sscc_runtime/produce.py): records become visible
while the pipe stays open, Ctrl-C keeps every complete line, and a failure says how many records
made it and leaves no topic behind when none did. Real processes, a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

WAIT_S = 60  # generous: the machine may be busy; nothing here is a timing assertion


def sscc(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sscc", *args], capture_output=True, text=True, timeout=120, **kw)


def consume(store, topic) -> list[str]:
    proc = sscc("topic", "consume", topic, "--from-beginning", "--until-idle", "--store", str(store))
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def wait_for(store, topic, n) -> list[str]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = consume(store, topic)
        if len(got) >= n:
            return got
        time.sleep(0.2)
    return consume(store, topic)


def start_produce(store, topic) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sscc", "topic", "produce", topic, "--store", str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_lines_from_an_open_pipe_are_visible_before_it_closes(tmp_path):
    store = tmp_path / "s"
    proc = start_produce(store, "words")
    try:
        proc.stdin.write(b"alpha\nbeta\n")
        proc.stdin.flush()
        assert wait_for(store, "words", 2) == ["alpha", "beta"]
        proc.stdin.write(b"gamma\n")
        proc.stdin.flush()
        assert wait_for(store, "words", 3) == ["alpha", "beta", "gamma"]
    finally:
        _, err = proc.communicate(timeout=WAIT_S)  # closes the pipe: end of input
    assert proc.returncode == 0, err
    assert b"produced 3 records to words" in err
    assert consume(store, "words") == ["alpha", "beta", "gamma"]


def test_ctrl_c_keeps_every_complete_line_and_says_how_many(tmp_path):
    store = tmp_path / "s"
    proc = start_produce(store, "words")
    proc.stdin.write(b"one\ntwo\nthree\nunfinish")
    proc.stdin.flush()
    assert wait_for(store, "words", 3) == ["one", "two", "three"]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, err
    assert b"interrupted: produced 3 records to words (an unfinished last line was dropped)" in err
    assert b"Traceback" not in err
    assert consume(store, "words") == ["one", "two", "three"]


def test_a_bad_line_reports_the_records_before_it(tmp_path):
    store = tmp_path / "s"
    proc = sscc(
        "topic", "produce", "events", "--store", str(store), "--timestamp-separator", ";",
        input="10;a\n20;b\nnot-a-time;c\n30;d\n",
    )
    assert proc.returncode == 1
    assert "line 3:" in proc.stderr and "not a timestamp" in proc.stderr
    assert "2 records before it were produced to events" in proc.stderr
    assert consume(store, "events") == ["a", "b"]


def test_a_produce_that_fails_on_its_first_line_leaves_no_topic(tmp_path):
    store = tmp_path / "s"
    sscc("topic", "produce", "other", "--store", str(store), input="x\n")  # the store exists
    proc = sscc("topic", "produce", "events", "--store", str(store), "--timestamp-separator", ";", input="oops\n")
    assert proc.returncode == 1 and "line 1:" in proc.stderr
    listing = sscc("topic", "list", "--store", str(store)).stdout
    assert "other" in listing and "events" not in listing


@pytest.mark.parametrize("count", [0, 2500])
def test_a_file_is_produced_whole(tmp_path, count):
    store = tmp_path / "s"
    path = tmp_path / "in.txt"
    path.write_text("".join(f"r{i}\n" for i in range(count)))
    proc = sscc("topic", "produce", "t", "--store", str(store), "--file", str(path))
    assert proc.returncode == 0, proc.stderr
    assert f"produced {count:,} record" in proc.stderr
    assert consume(store, "t") == [f"r{i}" for i in range(count)]
