"""A state whose type changes between runs (issue 13 item 8): the run refuses with a message
that names the state, both types and the two ways out; `sscc sql` and `state show` still work on
the old data; `sscc state drop` deletes it (only with --yes) and the next run starts the state
empty. Real compiled pipelines on a real store."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import sscc  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"

# The same word count with an arrow-row state instead of the u32 value state.
AS_ROWS = {
    """          value:
            type: u32""": """          value:
            type: arrow-row
            properties:
              count: {type: u32}""",
    """            let n = count_per_word().increment(1);""": """            let mut row = count_per_word();
            row.count += 1;
            let n = row.count;
            row.update()?;""",
}


def produce(store: Path, lines: list[str]) -> None:
    sscc("topic", "produce", "sentences", "--store", store, input="\n".join(lines) + "\n", check=True)


def test_a_changed_state_type_is_refused_until_the_old_data_is_dropped(tmp_path):
    store = tmp_path / "store"
    pipeline = tmp_path / "dataflow.yaml"
    text = PIPELINE.read_text()
    pipeline.write_text(text)
    produce(store, ["a b a", "c"])
    sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)

    for old, new in AS_ROWS.items():
        assert old in text
        text = text.replace(old, new)
    pipeline.write_text(text)
    refused = sscc("run", pipeline, "--store", store, "--until-idle", "--quiet")
    assert refused.returncode == 1, refused.stderr
    err = refused.stderr
    assert "state `count-per-word` of service `count-words` changed its type" in err
    assert "a value state" in err and "an arrow-row state (count INTEGER)" in err
    assert "--store DIR" in err and "sscc state drop count-words.count-per-word --yes" in err
    assert "Traceback" not in err and "malformed" not in err

    # The old data is intact and readable.
    rows = sscc("sql", "select _key, value from count_per_word order by _key", "--store", store, "--json", check=True)
    assert [json.loads(r) for r in rows.stdout.splitlines()] == [
        {"_key": "a", "value": 2}, {"_key": "b", "value": 1}, {"_key": "c", "value": 1}
    ]

    dry = sscc("state", "drop", "count-per-word", "--store", store)
    assert dry.returncode == 1 and "would delete the 3 change records" in dry.stderr and "--yes" in dry.stderr
    assert "a" in sscc("state", "show", "count-per-word", "--store", store, check=True).stdout

    dropped = sscc("state", "drop", "count-words.count-per-word", "--yes", "--store", store, check=True)
    assert "dropped state test.word-count-state.count-words.count-per-word (3 change records)" in dropped.stderr

    produce(store, ["x y x"])
    sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", check=True)
    rows = sscc("sql", "select _key, count from count_per_word order by _key", "--store", store, "--json", check=True)
    got = {row["_key"]: row["count"] for row in map(json.loads, rows.stdout.splitlines())}
    assert got == dict(Counter("x y x".split()))
