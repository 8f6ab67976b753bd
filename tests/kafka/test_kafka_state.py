"""Keyed state on Kafka across a kill -9: the changelog (a compacted topic written in the batch's
transaction) brings a restarted worker's state back; nothing counted is lost."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ck = pytest.importorskip("confluent_kafka")
from confluent_kafka import TopicPartition  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from example_cli import require_toolchain  # noqa: E402
from test_kafka_runs import create, produce  # noqa: E402

WC = Path(__file__).resolve().parents[2] / "bench" / "pipelines" / "wc_value.yaml"  # sentences -> count per word


def counts(url: str) -> Counter:
    out = subprocess.run(["sscc", "sql", "select _key, value from count_per_word", "--broker", url, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return Counter({row["_key"]: row["value"] for row in map(json.loads, out.splitlines())})


def test_a_killed_stateful_worker_is_taken_over_without_losing_counts(tansu):
    require_toolchain()
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(300)]
    lines = [" ".join(rng.choices(vocab, k=rng.randint(3, 9))) for _ in range(60_000)]
    want = Counter(w for line in lines for w in line.split())
    create(tansu.servers, "sentences", 1)
    produce(tansu.servers, "sentences", [(None, line.encode(), 0) for line in lines], 1)
    group = ["-X", "sscc.group.id=wc-{service}"]
    # --until-idle: the source (End by default) starts at the beginning (batch mode)
    worker = subprocess.Popen(["sscc", "run", str(WC), "--broker", tansu.url, "--batch-records", "200", "--until-idle", *group],
                              env={**os.environ, "SSCC_TRANSACTIONAL_ID": "first"}, stderr=subprocess.PIPE, text=True)
    for line in worker.stderr:  # progress lines, one a second: kill it once it has counted some
        if " in " in line and not line.split(" in ")[1].startswith("0 "):
            break
    assert worker.poll() is None, "the worker finished before it could be killed"
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    # another worker (another transactional id) restores the state from the changelog and goes on
    last = subprocess.run(["sscc", "run", str(WC), "--broker", tansu.url, "--until-idle", "--quiet", *group],
                          env={**os.environ, "SSCC_TRANSACTIONAL_ID": "second"}, capture_output=True, text=True, timeout=600)
    assert last.returncode == 0, last.stderr
    got = counts(tansu.url)
    assert set(got) == set(want)
    lost = {w: want[w] - got[w] for w in want if got[w] < want[w]}
    assert lost == {}, f"counts lost: {lost}"
    extra = sum(got.values()) - sum(want.values())
    print(f"\nstate after kill -9 and takeover: nothing lost, {extra} words counted twice"
          " (tansu replays an aborted transaction's changelog records)")
    assert extra <= 200 * 9  # at most the batch in flight (200 sentences of up to 9 words)


def test_state_list_and_drop_on_kafka(tansu):
    require_toolchain()
    create(tansu.servers, "sentences", 1)
    produce(tansu.servers, "sentences", [(None, b"a b a", 0), (None, b"b c", 0)], 1)
    run = subprocess.run(["sscc", "run", str(WC), "--broker", tansu.url, "--until-idle", "--quiet"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert counts(tansu.url) == Counter({"a": 2, "b": 2, "c": 1})
    listing = subprocess.run(["sscc", "state", "list", "--broker", tansu.url], capture_output=True, text=True, check=True).stdout
    assert listing.splitlines()[1].split()[:3] == ["bench.bench-wc-value.count-words", "count-per-word", "3"]
    drop = subprocess.run(["sscc", "state", "drop", "count-words.count-per-word", "--broker", tansu.url, "--yes"],
                          capture_output=True, text=True, timeout=120)
    assert drop.returncode == 0 and "dropped state bench.bench-wc-value.count-words.count-per-word" in drop.stderr, drop.stderr
    listing = subprocess.run(["sscc", "state", "list", "--broker", tansu.url], capture_output=True, text=True, check=True)
    assert listing.stdout == "" and "no state" in listing.stderr
