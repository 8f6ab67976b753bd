"""The examples' end-to-end checks (tests/examples) on JetStream: the same `sscc topic produce`,
`sscc run --until-idle`, `sscc topic consume`, `sscc state show` and `sscc sql` command lines, with
`--broker` naming a fresh nats-server, must give the hand-written expected files.

examples/car-makers needs the local HTTP registry of its own test and is left to it; merge's
interleaving of two sources is checked per source, as in tests/examples."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import ROOT
from nats_servers import nats_server, nats_url  # noqa: F401 - fixtures

sys.path.insert(0, os.path.join(ROOT, "tests", "examples"))

from example_cli import (  # noqa: E402
    Example,
    assert_outputs,
    assert_states,
    require_toolchain,
    run_in_phases,
    run_with_sscc,
    sql_rows,
    sscc,
)

PHASES = {  # as in tests/examples/test_example_word_join.py and test_example_word_probe.py
    "word-join": [["source-a", "source-b"], ["probe-word"]],
    "word-probe": [["sentences"], ["words"]],
}
EXAMPLES = ["chain", "json-struct", "key-value", "merge", "order-totals", "sensor-average", "split",
            "split-sentence", "word-counter", "word-join", "word-probe"]  # fmt: skip


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_on_jetstream(name, nats_url, tmp_path, monkeypatch):
    require_toolchain()
    import example_cli

    monkeypatch.setattr(example_cli, "store_args", lambda _store: ["--broker", nats_url])
    example = Example(name)
    store = tmp_path / "unused-store"  # every command runs on the broker: nothing may appear here
    if name in PHASES:
        outputs = run_in_phases(example, store, PHASES[name])
    else:
        outputs = run_with_sscc(example, store)
    if name == "merge":
        for topic, expected in example.expected_topics().items():
            assert sorted(outputs.topics[topic]) == sorted(expected)
            outputs.topics[topic] = expected
    assert_outputs(example, outputs)
    assert_states(example, store)
    assert not store.exists()
    if name == "word-probe":
        assert sql_rows(store, "select count from `count-per-word` where _key = 'fox'")


def test_the_broker_option_wins_over_the_store(nats_url, tmp_path):
    """`--broker` on each command, no environment variable: topic list shows what is on the
    server, and a bad URL is one error line."""
    require_toolchain()
    example = Example("split-sentence")
    (topic,) = example.inputs()
    sscc("topic", "produce", topic, "--broker", nats_url, "--file", str(example.inputs()[topic]))
    sscc("run", str(example.file), "--broker", nats_url, "--until-idle", "--quiet")
    listing = sscc("topic", "list", "--broker", nats_url)
    assert topic in listing and "not created yet" not in listing.split(topic)[1].splitlines()[0]
    for sink, expected in example.expected_topics().items():
        out = sscc("topic", "consume", sink, "--broker", nats_url, "--from-beginning", "--until-idle")
        assert out.splitlines() == expected
    import subprocess

    bad = subprocess.run(["sscc", "topic", "list", "--broker", "kafka2://x:1"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("error: broker URL 'kafka2://x:1': unknown scheme")
    dead = subprocess.run(["sscc", "topic", "list", "--broker", "nats://127.0.0.1:1"], capture_output=True, text=True)
    assert dead.returncode == 1 and "cannot connect to the NATS server" in dead.stderr and "Traceback" not in dead.stderr
