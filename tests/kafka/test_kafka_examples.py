"""The examples' end-to-end checks (tests/examples) on Kafka: the same inputs produced with
`sscc topic produce --broker`, the same `sscc run --until-idle`, the outputs, dead letters,
states and SQL read back from a real tansu broker, compared with the same expected files."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

from example_cli import KEY_SEPARATOR, Example, Outputs, assert_outputs, call, require_toolchain  # noqa: E402

# example -> input phases (each phase: produce these topics, then run); None = one phase
EXAMPLES = {
    "split-sentence": None,
    "split": None,
    "chain": None,
    "key-value": None,
    "json-struct": None,
    "order-totals": None,
    "sensor-average": None,
    "word-counter": None,
    "word-join": [["source-a", "source-b"], ["probe-word"]],
    "word-probe": [["sentences"], ["words"]],
}


def run_on_kafka(example: Example, url: str, phases) -> Outputs:
    phases = phases or [list(example.inputs())]
    inputs = example.inputs()
    for phase in phases:
        for topic in phase:
            extra = ["--key-separator", KEY_SEPARATOR] if example.keyed(topic) else []
            call(["sscc", "topic", "produce", topic, "--broker", url, "--file", str(inputs[topic]), *extra])
        call(["sscc", "run", str(example.file), "--broker", url, "--until-idle"])
    topics = {}
    for topic in example.expected_topics():
        extra = ["--keys", "--key-separator", KEY_SEPARATOR] if example.keyed(topic) else []
        text = call(["sscc", "topic", "consume", topic, "--broker", url, "--from-beginning", "--until-idle", *extra])
        topics[topic] = text.splitlines()
    dead = {}
    for service in example.services:
        text = call(["sscc", "topic", "consume", f"{service}.dead-letters", "--broker", url, "--from-beginning", "--until-idle"])
        dead[service] = [json.loads(line) for line in text.splitlines()]
    return Outputs(topics, dead)


def state_show(url: str, state: str) -> dict:
    lines = call(["sscc", "state", "show", state, "--broker", url]).splitlines()
    assert lines[0].split() == ["KEY", "VALUE"], lines
    return {k: json.loads(v) for k, v in (re.split(r"\s{2,}", line, maxsplit=1) for line in lines[1:])}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_on_kafka_gives_the_expected_output(tansu, name):
    require_toolchain()
    example = Example(name)
    outputs = run_on_kafka(example, tansu.url, EXAMPLES[name])
    assert_outputs(example, outputs)
    for state, want in example.expected_states().items():
        assert state_show(tansu.url, state) == want, f"state {state} of {name}"


def test_sql_over_kafka_changelogs(tansu):
    require_toolchain()
    example = Example("word-join")
    run_on_kafka(example, tansu.url, EXAMPLES["word-join"])
    counts = state_show(tansu.url, next(iter(example.expected_states())))
    rows = [json.loads(line) for line in call(["sscc", "sql", "select count(*) as n from " + _first_table(tansu.url), "--broker", tansu.url, "--json"]).splitlines()]
    assert rows == [{"n": len(counts)}]


def _first_table(url: str) -> str:
    listing = call(["sscc", "state", "list", "--broker", url]).splitlines()[1:]
    service, state = listing[0].split()[:2]
    return f"`{state}`"
