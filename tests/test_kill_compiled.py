"""Exactly-once across kill -9 for a compiled pipeline: examples/order-totals compiled with
`sscc compile`, run with `python -m order_totals run --until-idle` over 200,000 orders (some not
JSON, some not u32, some rejected by the map), SIGKILLed at random moments at least 10 times and
restarted, must leave the sink and the dead letters exactly as one uninterrupted run does.

tests/runtime/test_runtime_crash.py does the same at the runtime level with a hand-written guest;
this one goes through the compiler, the generated Rust crate and the emitted project's CLI.
The orders topic has two partitions, and so has the sink (created beforehand with
`topic produce --partitions 2`), so source partition p feeds sink partition p and order is
checked per partition; the one dead-letter partition is compared per source partition.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from kill_harness import Command, compile_project, kill_9_and_restart

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

from sscc_runtime import frames  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

EXAMPLE = Path(ROOT) / "examples" / "order-totals" / "dataflow.yaml"
PACKAGE = "order_totals"
SERVICE, SOURCE, SINK = "examples.order-totals.pricing", "orders", "totals"  # namespace.pipeline.service
DEAD = f"{SERVICE}.dead-letters"
RECORDS = 200_000
KILLS = 12
PARTITIONS = 2


def order(i: int) -> str:
    """Order i; every 997th is not JSON, every 1511th has qty -1 (not a u32), every 1999th a
    qty the map rejects, and a quarter have qty 0 (filtered out)."""
    if i % 997 == 0:
        return '{"id": %d, "broken' % i
    qty = -1 if i % 1511 == 0 else 5000 if i % 1999 == 0 else i % 4
    return json.dumps({"id": i, "item": f"item-{i % 100}", "qty": qty, "price": 0.25})


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return compile_project(EXAMPLE, tmp_path_factory.mktemp("compiled") / "order-totals")


def app(project: Path, *args: str) -> Command:
    return Command.emitted(project, PACKAGE, *args)


def run_until_idle(project: Path, store: Path) -> Command:
    return app(project, "run", "--store", str(store), "--until-idle", "--quiet", "--batch-records", "4096")


@pytest.fixture
def store(project, tmp_path) -> Path:
    """A store holding the 200,000 orders, produced through the project's own CLI."""
    lines = tmp_path / "orders.txt"
    lines.write_text("".join(order(i) + "\n" for i in range(RECORDS)))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    where = tmp_path / "store"
    for topic, path in ((SOURCE, lines), (SINK, empty)):  # unkeyed lines go round-robin
        app(project, "topic", "produce", topic, "--store", str(where), "--file", str(path),
            "--partitions", str(PARTITIONS), "--quiet").run(120)  # fmt: skip
    return where


def snapshot(store: Path):
    """Per partition: sink records (key, value, origin) and the dead letters of that source
    partition (offset, kind, operator, reason), in stored order, read straight from the store so
    that nothing is reformatted on the way."""
    with Store(store / "store.db") as db:
        assert db.partitions(SINK) == PARTITIONS
        sinks = {
            p: [(r.key, r.value, r.origin) for r in frames.iter_records(db.read(SINK, p, 0, 10**9).data)]
            for p in range(PARTITIONS)
        }
        letters = [json.loads(r.value) for r in frames.iter_records(db.read(DEAD, 0, 0, 10**9).data)]
    dead = {
        p: [(d["offset"], d["kind"], d["operator"], d["reason"]) for d in letters if d["partition"] == p]
        for p in range(PARTITIONS)
    }
    return sinks, dead


def committed(db: Store) -> int:
    return sum(db.position(SERVICE, SOURCE, p) or 0 for p in range(PARTITIONS))


def test_kill_9_at_random_moments_neither_loses_nor_duplicates(project, store, tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(store, reference)
    run_until_idle(project, reference).run(300)
    expected_sinks, expected_dead = snapshot(reference)
    bad = sum(1 for i in range(RECORDS) if i % 997 == 0 or i % 1511 == 0 or i % 1999 == 0)
    letters = [d for p in range(PARTITIONS) for d in expected_dead[p]]
    assert len(letters) == bad and {kind for _, kind, _, _ in letters} == {"decode", "operator"}
    assert all(len(expected_sinks[p]) > RECORDS // 3 // PARTITIONS for p in range(PARTITIONS))

    # The first kill lands during start-up; the others once a random amount of work is
    # committed, plus a few random milliseconds, so they fall anywhere in a batch or a commit.
    # The targets stop at half the records, so the run cannot finish before a kill lands.
    seen = kill_9_and_restart(
        run_until_idle(project, store),
        store_db=store / "store.db", progress=committed,
        kills=KILLS, after=(5_000, RECORDS // 2), seed=31337,
    ).seen  # fmt: skip

    got_sinks, got_dead = snapshot(store)
    for p in range(PARTITIONS):
        assert len(got_sinks[p]) == len(expected_sinks[p]), f"partition {p}"
        assert got_sinks[p] == expected_sinks[p], f"partition {p}"
        assert got_dead[p] == expected_dead[p], f"partition {p}"
    print("committed at each kill:", seen, "sink", [len(v) for v in got_sinks.values()], "dead", len(letters))
    assert len(seen) == KILLS and all(0 < n < RECORDS for n in seen[1:]), seen
