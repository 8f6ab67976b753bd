"""One usage and error style across sscc's commands (issue 13 item 15): the click commands and
the store commands (`topic`, `state`, `sql`, argparse in the runtime) both print `Usage:`, a
`Try '... --help'` line and `Error:` with exit 2 for a usage mistake, each for the command it
was given to; a store path that is a file is the same error everywhere; topic names that are
empty or carry control characters are refused, and such a produce creates nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def sscc(*args, input=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sscc", *map(str, args)], capture_output=True, text=True, input=input, timeout=120)


@pytest.mark.parametrize(
    "args, command",
    [
        (("check", "--bogus", "x.yaml"), "sscc check"),
        (("topic", "consume", "t", "--bogus"), "sscc topic consume"),
        (("topic", "produce", "t", "--bogus"), "sscc topic produce"),
        (("state", "show", "s", "--bogus"), "sscc state show"),
        (("sql",), "sscc sql"),
    ],
)
def test_a_usage_mistake_reads_the_same_in_every_command(args, command):
    proc = sscc(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"Usage: {command} "), proc.stderr
    assert f"Try '{command} --help' for help." in lines
    assert lines[-1].startswith("Error: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("topic", "list"),
        ("topic", "consume", "t", "--until-idle"),
        ("topic", "produce", "t"),
        ("state", "list"),
        ("sql", "select 1"),
    ],
)
def test_a_store_that_is_a_file_is_one_error_everywhere(tmp_path, args):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    proc = sscc(*args, "--store", not_a_dir, input="")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == f"error: store {not_a_dir} is not a directory"


@pytest.mark.parametrize("name", ["", "  ", "a\x1bb"])
def test_bad_topic_names_are_refused_and_create_nothing(tmp_path, name):
    store = tmp_path / "s"
    sscc("topic", "produce", "ok", "--store", store, input="x\n")
    proc = sscc("topic", "produce", name, "--store", store, input="x\n")
    assert proc.returncode == 1 and "is not a topic name" in proc.stderr, proc.stderr
    listing = sscc("topic", "list", "--store", store).stdout.splitlines()
    assert [line.split()[0] for line in listing[1:]] == ["ok"]
    consume = sscc("topic", "consume", name, "--until-idle", "--store", store)
    assert consume.returncode == 1 and "is not a topic name" in consume.stderr


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "order-totals" / "dataflow.yaml"


@pytest.mark.parametrize(
    "command",
    [("status", "--store", "STORE"), ("topic", "list", "--store", "STORE"), ("state", "list", "--store", "STORE"), ("ir", EXAMPLE)],
)
def test_a_reader_that_leaves_early_is_not_an_error(tmp_path, command):
    """`sscc status | head -1`: the reader closing the pipe is the reader's choice, not a
    failure: no `error: Broken pipe`, exit 0. The read end is closed before the command writes,
    so its first write fails every time."""
    store = tmp_path / "store"
    made = sscc("topic", "produce", "t", "--store", store, input="a\nb\n")
    assert made.returncode == 0, made.stderr
    argv = [str(store) if arg == "STORE" else str(arg) for arg in command]
    proc = subprocess.Popen([sys.executable, "-m", "sscc", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "error" not in err.lower() and "Traceback" not in err
