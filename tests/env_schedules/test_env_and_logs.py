"""`sscc run -e/--env-file` and operator output, end to end: real compiled wasm32-wasi operators
reading variables with std::env::var and printing with println!/eprintln! (docs/env-and-logs.md)."""

from __future__ import annotations

import os
import re
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, project, remove_run_cache, sscc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ENVLOG = os.path.join(HERE, "envlog.yaml")
CHATTY = os.path.join(HERE, "chatty.yaml")
EXIT = os.path.join(HERE, "exit.yaml")
PREFIXED = re.compile(r"^\[greet/greet\] (out|err) (\w+)$", re.M)


@pytest.fixture(autouse=True)
def toolchain():
    need_toolchain()
    yield
    for path in (ENVLOG, CHATTY, EXIT):
        remove_run_cache(path)


def _produce(store, topic, lines):
    sscc("topic", "produce", topic, "--store", store, input="".join(f"{w}\n" for w in lines), check=True)


def _consume(store, topic):
    out = sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    return out.splitlines()


def test_variables_given_with_e_are_seen_and_the_hosts_are_not(tmp_path):
    store = tmp_path / "store"
    _produce(store, "words", ["hello", "world"])
    # The host's own environment has a variable the operator asks for: it must stay invisible.
    proc = sscc("run", ENVLOG, "--store", store, "--until-idle", "-e", "GREETING=Hi there", SSCC_TEST_HOST_ONLY="leaked")
    assert proc.returncode == 0, proc.stderr
    assert _consume(store, "greetings") == ["Hi there hello host=unset vars=1", "Hi there world host=unset vars=1"]


def test_env_file_then_e_which_wins(tmp_path):
    store = tmp_path / "store"
    env_file = tmp_path / "operators.env"
    env_file.write_text('# operator settings\n\nexport GREETING="Good day"\nOTHER = two words\n')
    _produce(store, "words", ["sun"])
    sscc("run", ENVLOG, "--store", store, "--until-idle", "--env-file", env_file, check=True)
    assert _consume(store, "greetings") == ["Good day sun host=unset vars=2"]
    _produce(store, "words", ["moon"])
    sscc("run", ENVLOG, "--store", store, "--until-idle", "--env-file", env_file, "-e", "GREETING=Hey", check=True)
    assert _consume(store, "greetings")[-1] == "Hey moon host=unset vars=2"


def test_a_missing_variable_dead_letters_the_record_with_the_reason(tmp_path):
    store = tmp_path / "store"
    _produce(store, "words", ["lonely"])
    sscc("run", ENVLOG, "--store", store, "--until-idle", check=True)
    assert _consume(store, "greetings") == []
    (letter,) = _consume(store, "greet.dead-letters")
    assert "environment variable not found" in letter and "greet" in letter


def test_bad_env_arguments_are_one_line_errors(tmp_path):
    store = tmp_path / "store"
    usage = sscc("run", ENVLOG, "--store", store, "--until-idle", "-e", "NOVALUE")
    assert usage.returncode == 2 and "KEY=VALUE" in usage.stderr and "Traceback" not in usage.stderr
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis line has no equals\n")
    proc = sscc("run", ENVLOG, "--store", store, "--until-idle", "--env-file", bad)
    assert proc.returncode == 1 and f"{bad}:2:" in proc.stderr and "Traceback" not in proc.stderr
    missing = sscc("run", ENVLOG, "--store", store, "--until-idle", "--env-file", tmp_path / "nope.env")
    assert missing.returncode == 1 and "cannot read env file" in missing.stderr


def test_println_and_eprintln_go_to_the_runs_log_prefixed_and_quiet_drops_them(tmp_path):
    store = tmp_path / "store"
    _produce(store, "words", ["alpha", "beta"])
    proc = sscc("run", ENVLOG, "--store", store, "--until-idle", "-e", "GREETING=x", check=True)
    assert PREFIXED.findall(proc.stderr) == [("out", "alpha"), ("err", "alpha"), ("out", "beta"), ("err", "beta")]
    assert proc.stdout == "", "operator output is the run's log (stderr), not its stdout"
    _produce(store, "words", ["gamma"])
    quiet = sscc("run", ENVLOG, "--store", store, "--until-idle", "--quiet", "-e", "GREETING=x", check=True)
    assert quiet.stderr == "" and quiet.stdout == ""
    assert _consume(store, "greetings")[-1].startswith("x gamma"), "quiet still runs the operator"


def test_a_chatty_operator_is_rate_limited_and_the_dropped_lines_are_counted(tmp_path):
    store = tmp_path / "store"
    words = [f"w{i}" for i in range(2000)]
    _produce(store, "words", words)
    proc = sscc("run", CHATTY, "--store", store, "--until-idle", "--log-rate", "1", check=True)
    printed = re.findall(r"^\[talk/chatter\] w\d+ line \d$", proc.stderr, re.M)
    dropped = [int(n.replace(",", "")) for n in re.findall(r"^\[talk/chatter\] \.\.\. ([\d,]+) lines? dropped", proc.stderr, re.M)]
    total = 3 * len(words)
    assert printed and dropped, proc.stderr[-2000:]
    assert len(printed) + sum(dropped) == total, "every line is either written or counted as dropped"
    assert len(printed) < total // 10, "the cap holds: a burst of 10 lines, then 1 line/s"
    assert printed[:3] == ["[talk/chatter] w0 line 0", "[talk/chatter] w0 line 1", "[talk/chatter] w0 line 2"]
    assert len(_consume(store, "lengths")) == len(words), "the records themselves are all processed"


def test_the_emitted_project_takes_the_same_flags(tmp_path):
    out = tmp_path / "project"
    sscc("compile", ENVLOG, "-o", out, check=True)
    project(out, "envlog", "topic", "produce", "words", input="one\n", cwd=tmp_path, check=True)
    proc = project(out, "envlog", "run", "--until-idle", "-e", "GREETING=Yo", cwd=tmp_path, check=True)
    assert PREFIXED.findall(proc.stderr) == [("out", "one"), ("err", "one")]
    assert _consume(tmp_path / ".sscc", "greetings") == ["Yo one host=unset vars=1"]


def test_process_exit_fails_only_its_record_and_the_clock_is_the_runs(tmp_path):
    store = tmp_path / "store"
    _produce(store, "words", ["a", "quit", "b"])
    sscc("run", EXIT, "--store", store, "--until-idle", check=True, SSCC_NOW_MS="1700000000123")
    assert _consume(store, "kept") == ["a 1700000000123", "b 1700000000123"]
    (letter,) = _consume(store, "quit.dead-letters")
    assert "the operator called std::process::exit(3)" in letter and "trap" in letter
