"""`sql()` over the service's own state from inside update-state (own_state_sql.yaml): the guest
sends its rows with the query (docs/abi.md, "sql()"), so a record sees its own update and those of
the records before it in the same batch, also after a trap replaced the instance mid-batch."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlstate_cli import HERE, dead_letters, pipeline_copy, produce, run, state_show

WORDS = "a b a c b a boom d a boom e".split()


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, HERE / "own_state_sql.yaml")


def test_each_record_sees_its_own_batch_through_sql(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "words", WORDS)
    run(pipeline, store)
    # a trapped record leaves no trace (its update included); every other record counts
    dead = dead_letters(store, "count")
    assert [(d["kind"], d["value"]) for d in dead] == [("trap", "boom")] * 2
    counted = [w for w in WORDS if w != "boom"]
    want = Counter(counted)
    assert {k: v["count"] for k, v in state_show(store, "word-count").items()} == dict(want)
    # the last record of each word saw its own update through sql(): the count it wrote
    assert state_show(store, "seen-count") == dict(want)
    # and the table's rows then: the distinct words among the records up to it
    rows_seen = {w: len(set(counted[: i + 1])) for i, w in enumerate(counted)}
    assert state_show(store, "seen-rows") == rows_seen
