"""Two pipelines with a service of the same name in one store (issue 13 item 6): positions, dead
letters and state changelogs are kept under namespace.pipeline.service, so neither reads the
other's positions or writes into the other's topics; `topic list` and `state list` show the
namespace; short names work while they are unambiguous. A store written before namespacing is
adopted by the first pipeline that runs the service. Real compiled pipelines, real store."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import copy_pipeline, need_toolchain, remove_run_cache, sscc  # noqa: E402

WORD_COUNT = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"
A, B = "test.word-count-state.count-words", "test.other-count.count-words"


def _pipelines(tmp_path: Path) -> tuple[Path, Path]:
    need_toolchain()
    first = copy_pipeline(tmp_path / "a", WORD_COUNT, "dataflow.yaml")
    second = copy_pipeline(tmp_path / "b", WORD_COUNT, "dataflow.yaml")
    text = second.read_text()
    assert "name: word-count-state" in text
    second.write_text(text.replace("name: word-count-state", "name: other-count"))
    return first, second


def _counts(store: Path, state: str) -> dict[str, int]:
    shown = sscc("state", "show", state, "--store", store, check=True).stdout.splitlines()[1:]
    return {line.split()[0]: int(line.split()[1]) for line in shown}


def _dead(store: Path, topic: str) -> list[dict]:
    out = sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_two_pipelines_with_a_service_of_the_same_name_share_nothing(tmp_path):
    first, second = _pipelines(tmp_path)
    try:
        store = tmp_path / "store"
        sscc("topic", "produce", "sentences", "--store", store, input="a b a\nboom c\n", check=True)
        sscc("run", first, "--store", store, "--until-idle", "--quiet", check=True)
        sscc("run", second, "--store", store, "--until-idle", "--quiet", check=True)
        counted = _counts(store, f"{A}.count-per-word")
        assert counted["a"] == 2 and counted["b"] == 1
        assert _counts(store, f"{B}.count-per-word") == counted, "the second pipeline read every record too"
        for key in (A, B):
            (letter,) = _dead(store, f"{key}.dead-letters")
            assert letter["offset"] == 1 and letter["service"] == "count-words"

        listing = sscc("state", "list", "--store", store, check=True).stdout.splitlines()
        assert [line.split()[:2] for line in listing[1:]] == [[B, "count-per-word"], [A, "count-per-word"]]
        topics = {line.split()[0] for line in sscc("topic", "list", "--store", store, check=True).stdout.splitlines()[1:]}
        assert {f"{A}.dead-letters", f"{B}.dead-letters", f"{A}.count-per-word.changelog"} <= topics

        for args in (["state", "show", "count-per-word"], ["topic", "consume", "count-words.dead-letters", "--until-idle"]):
            ambiguous = sscc(*args, "--store", store)
            assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
        sql = sscc("sql", "select count(*) from count_per_word", "--store", store)
        assert "Traceback" not in sql.stderr
    finally:
        remove_run_cache(first)
        remove_run_cache(second)


def test_a_store_from_before_namespacing_is_adopted(tmp_path):
    first, second = _pipelines(tmp_path)
    try:
        store = tmp_path / "store"
        sscc("topic", "produce", "sentences", "--store", store, input="a b a\nboom c\n", check=True)
        sscc("run", first, "--store", store, "--until-idle", "--quiet", check=True)
        before = Counter(_counts(store, f"{A}.count-per-word"))
        # What an older sscc wrote: everything under the bare service name.
        with sqlite3.connect(store / "store.db") as db:
            db.execute("UPDATE positions SET service = 'count-words' WHERE service = ?", (A,))
            db.execute("UPDATE state SET service = 'count-words' WHERE service = ?", (A,))
            for suffix in (".dead-letters", ".count-per-word.changelog"):
                for table, column in (("topics", "name"), ("batches", "topic")):
                    db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", ("count-words" + suffix, A + suffix))
        sscc("topic", "produce", "sentences", "--store", store, input="d a\n", check=True)
        sscc("run", first, "--store", store, "--until-idle", "--quiet", check=True)
        after = _counts(store, f"{A}.count-per-word")
        assert after == dict(before + Counter(["d", "a"])), "continued, not restarted"
        topics = {line.split()[0] for line in sscc("topic", "list", "--store", store, check=True).stdout.splitlines()[1:]}
        assert not any(t.startswith("count-words.") for t in topics), topics
        assert len(_dead(store, f"{A}.dead-letters")) == 1, "the old dead letters moved along"
        # The other pipeline finds nothing of the bare name left: it starts on its own.
        sscc("run", second, "--store", store, "--until-idle", "--quiet", check=True)
        assert _counts(store, f"{B}.count-per-word") == after
    finally:
        remove_run_cache(first)
        remove_run_cache(second)
