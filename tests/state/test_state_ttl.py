"""`ttl` on arrow-row state (SDF 0.6): a row not updated within its ttl reads as absent and is
deleted (a `D` change record committed with a batch, so `state show`, `sql` and a restart agree).
Wall-clock based by definition: the test waits past the 2 s ttl of tests/state/ttl_state.yaml."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, remove_run_cache, sscc  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "state" / "ttl_state.yaml"
TTL_S = 2


def show(store: Path) -> dict[str, dict]:
    lines = sscc("state", "show", "seen", "--store", store, check=True).stdout.splitlines()[1:]
    return {key: json.loads(value) for key, value in (line.split(None, 1) for line in lines)}


def run(pipeline: Path, store: Path, words: str) -> None:
    sscc("topic", "produce", "words", "--store", store, input=words, check=True)
    sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)


def test_rows_past_their_ttl_are_gone_and_a_new_hit_starts_from_a_default_row(tmp_path):
    need_toolchain()
    pipeline = tmp_path / "ttl_state.yaml"
    shutil.copy(PIPELINE, pipeline)
    store = tmp_path / "store"
    try:
        before = time.time() * 1000
        run(pipeline, store, "a\nb\na\n")
        first = show(store)
        assert {k: v["hits"] for k, v in first.items()} == {"a": 2, "b": 1}
        assert all(before <= v["_updated_at"] <= time.time() * 1000 for v in first.values())
        time.sleep(TTL_S + 0.5)
        run(pipeline, store, "c\nb\n")
        # `a` expired and was deleted; `b` expired too, so its hit counts from a fresh row.
        assert {k: v["hits"] for k, v in show(store).items()} == {"b": 1, "c": 1}
        rows = sscc("sql", "select _key from seen order by _key", "--store", store, "--json", check=True).stdout
        assert [json.loads(r)["_key"] for r in rows.splitlines()] == ["b", "c"]
    finally:
        remove_run_cache(pipeline)


def test_a_row_updated_within_its_ttl_stays(tmp_path):
    need_toolchain()
    pipeline = tmp_path / "ttl_state.yaml"
    pipeline.write_text(PIPELINE.read_text().replace("ttl: 2s", "ttl: 60s"))
    store = tmp_path / "store"
    try:
        run(pipeline, store, "a\n")
        run(pipeline, store, "a\n")  # well within 60 s of the first
        assert {k: v["hits"] for k, v in show(store).items()} == {"a": 2}
    finally:
        remove_run_cache(pipeline)
