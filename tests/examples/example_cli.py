"""Runs the pipelines under examples/ through the real command line and compares their outputs.

Every example directory holds `dataflow.yaml`, `input/<topic>.txt` (one record per line; a topic
with a key schema has `key=value` lines), `expected/<topic>.txt` for every sink topic it checks and
`expected/<service>.dead-letters.txt` (one JSON object per line holding the fields a dead letter
must have) for services that dead-letter records, and, for stateful examples,
`expected/<state>.state.txt` (`key=JSON value` per line, as `sscc state show` must print them). The expected files were written by hand and are
re-derived by a plain-Python reference in each test module, never copied from sscc's output.

Imported by tests/examples/test_example_*.py (a module, not a conftest.py: tests/conftest.py is
the only one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import runtime_build  # noqa: E402

EXAMPLES = Path(ROOT) / "examples"
KEY_SEPARATOR = "="
TIMEOUT = 600  # a cold build of an example's Rust crate takes a minute or two on this machine


def require_toolchain() -> None:
    """Skip (with the install command) when the Rust -> wasm toolchain is missing."""
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)


def store_args(store: Path) -> list[str]:
    """Where the commands keep topics: the store directory (tests/nats and tests/kafka put a
    broker here instead, with monkeypatch)."""
    return ["--store", str(store)]


def sscc(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run `sscc ARGS`; its stdout, or a test failure showing stderr."""
    return call(["sscc", *args], stdin, cwd)


def call(argv: list[str], stdin: str | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@dataclass
class Example:
    """One example directory and what its dataflow.yaml says about its topics and services."""

    name: str
    dir: Path = field(init=False)
    spec: dict = field(init=False)

    def __post_init__(self) -> None:
        self.dir = EXAMPLES / self.name
        self.spec = yaml.safe_load((self.dir / "dataflow.yaml").read_text())

    @property
    def file(self) -> Path:
        return self.dir / "dataflow.yaml"

    @property
    def services(self) -> list[str]:
        return list(self.spec["services"])

    def inputs(self) -> dict[str, Path]:
        return {p.stem: p for p in sorted((self.dir / "input").glob("*.txt"))}

    def expected_topics(self) -> dict[str, list[str]]:
        return {
            p.stem: _lines(p)
            for p in sorted((self.dir / "expected").glob("*.txt"))
            if not p.stem.endswith((".dead-letters", ".state"))
        }

    def expected_states(self) -> dict[str, dict[str, object]]:
        """state name -> {key: value} from `expected/<state>.state.txt`."""
        out = {}
        for p in sorted((self.dir / "expected").glob("*.state.txt")):
            pairs = (line.partition(KEY_SEPARATOR) for line in _lines(p))
            out[p.name[: -len(".state.txt")]] = {k: json.loads(v) for k, _, v in pairs}
        return out

    def expected_dead_letters(self, service: str) -> list[dict]:
        path = self.dir / "expected" / f"{service}.dead-letters.txt"
        return [json.loads(line) for line in _lines(path)] if path.exists() else []

    def keyed(self, topic: str) -> bool:
        return "key" in self.spec["topics"][topic]["schema"]

    def json_valued(self, topic: str) -> bool:
        value = self.spec["topics"][topic]["schema"]["value"]
        return value.get("converter", self.spec.get("config", {}).get("converter", "raw")) == "json"

    def input_lines(self, topic: str) -> list[str]:
        return _lines(self.inputs()[topic])


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return text.splitlines() if text else []


# ------------------------------------------------------------------ driving the command line


@dataclass
class Outputs:
    """What a run left in the store: every expected topic's lines and every service's dead letters."""

    topics: dict[str, list[str]]
    dead_letters: dict[str, list[dict]]


def produce_inputs(example: Example, store: Path, topic_cmd: list[str]) -> None:
    for topic, path in example.inputs().items():
        extra = ["--key-separator", KEY_SEPARATOR] if example.keyed(topic) else []
        call([*topic_cmd, "produce", topic, *store_args(store), "--file", str(path), *extra])


def collect_outputs(example: Example, store: Path, topic_cmd: list[str]) -> Outputs:
    topics = {}
    for topic in example.expected_topics():
        extra = ["--keys", "--key-separator", KEY_SEPARATOR] if example.keyed(topic) else []
        text = call([*topic_cmd, "consume", topic, *store_args(store), "--from-beginning", "--until-idle", *extra])
        topics[topic] = text.splitlines()
    dead = {}
    for service in example.services:
        topic = f"{service}.dead-letters"
        text = call([*topic_cmd, "consume", topic, *store_args(store), "--from-beginning", "--until-idle"])
        dead[service] = [json.loads(line) for line in text.splitlines()]
    return Outputs(topics, dead)


def run_with_sscc(example: Example, store: Path, *compile_flags: str) -> Outputs:
    """`sscc topic produce` every input, `sscc run --until-idle`, consume every output."""
    produce_inputs(example, store, ["sscc", "topic"])
    sscc("run", str(example.file), *store_args(store), "--until-idle", *compile_flags)
    return collect_outputs(example, store, ["sscc", "topic"])


def run_in_phases(example: Example, store: Path, phases: list[list[str]]) -> Outputs:
    """For each phase: produce the inputs of its topics, then `sscc run --until-idle`. A `from:`
    reader sees what the owner committed before its batch, so lookups that must see every count
    go in a later phase than the records they count."""
    inputs = example.inputs()
    assert sorted(t for phase in phases for t in phase) == sorted(inputs), "every input in one phase"
    for phase in phases:
        for topic in phase:
            extra = ["--key-separator", KEY_SEPARATOR] if example.keyed(topic) else []
            sscc("topic", "produce", topic, *store_args(store), "--file", str(inputs[topic]), *extra)
        sscc("run", str(example.file), *store_args(store), "--until-idle")
    return collect_outputs(example, store, ["sscc", "topic"])


def state_show(store: Path, state: str) -> dict[str, object]:
    """`sscc state show STATE` as {key: parsed JSON value}."""
    lines = sscc("state", "show", state, *store_args(store)).splitlines()
    assert lines[0].split() == ["KEY", "VALUE"], lines
    return {key: json.loads(value) for key, value in (re.split(r"\s{2,}", line, maxsplit=1) for line in lines[1:])}


def sql_rows(store: Path, query: str) -> list[dict]:
    """`sscc sql QUERY --json`: one object per row."""
    return [json.loads(line) for line in sscc("sql", query, *store_args(store), "--json").splitlines() if line.strip()]


def assert_states(example: Example, store: Path) -> None:
    for state, want in example.expected_states().items():
        assert state_show(store, state) == want, f"state {state} of example {example.name}"


# ------------------------------------------------------------------ comparing


def parse_record(example: Example, topic: str, line: str):
    """A consumed or expected line as a comparable value: (key, value), value parsed when JSON."""
    key = None
    if example.keyed(topic):
        key, _, line = line.partition(KEY_SEPARATOR)
    value = json.loads(line) if example.json_valued(topic) else line
    return (key, value) if example.keyed(topic) else value


def assert_topic(example: Example, topic: str, got: list[str], expected: list[str]) -> None:
    got_records = [parse_record(example, topic, line) for line in got]
    want_records = [parse_record(example, topic, line) for line in expected]
    assert got_records == want_records, f"topic {topic} of example {example.name}"


def assert_dead_letters(example: Example, service: str, got: list[dict], ordered: bool = True) -> None:
    """Each dead letter has at least the expected fields with the expected values, in order (or,
    with `ordered=False`, in the order of their source offsets)."""
    want = example.expected_dead_letters(service)
    if not ordered:
        got = sorted(got, key=lambda d: (d["topic"], d["partition"], d["offset"]))
    assert len(got) == len(want), f"dead letters of {service}: {got}"
    for letter, fields in zip(got, want):
        assert {k: letter.get(k) for k in fields} == fields, letter
        assert letter["service"] == service and letter["reason"], letter


def assert_outputs(example: Example, outputs: Outputs, dead_letters_ordered: bool = True) -> None:
    for topic, expected in example.expected_topics().items():
        assert_topic(example, topic, outputs.topics[topic], expected)
    for service in example.services:
        assert_dead_letters(example, service, outputs.dead_letters[service], dead_letters_ordered)
