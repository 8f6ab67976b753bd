"""A `from:` reference is callable by its local name and by its owner state's name
(`tracker: {from: tally.word-count}` read as `word_count()`, as corpus code does), through the CLI."""

from __future__ import annotations

from sqlstate_cli import HERE, consume, pipeline_copy, produce, run

import pytest


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, HERE / "ref_alias.yaml")


def test_a_reference_is_read_by_the_owner_state_name(pipeline, tmp_path):
    store = tmp_path / "store"
    produce(store, "words", ["oak", "elm", "oak", "ash", "oak"])
    run(pipeline, store)  # the owner
    produce(store, "probes", ["oak", "elm", "yew"])
    run(pipeline, store)
    assert consume(store, "answers") == ["oak=3 of 3", "elm=1 of 3", "yew=0 of 3"]  # by both names
