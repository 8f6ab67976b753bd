"""examples/word-probe: `count-words` counts words in an arrow-row state, `lookup-word` answers
probe words with `sql()` over it through `from:`. Run in two phases (sentences, then words), since
a reader sees what the owner has committed."""

import json
import sys
from collections import Counter

from example_cli import (
    Example,
    assert_outputs,
    assert_states,
    call,
    collect_outputs,
    require_toolchain,
    run_in_phases,
    sql_rows,
    sscc,
)

EXAMPLE = Example("word-probe")
PACKAGE = "word_probe"
# Runs `python -m word_probe ...` with sscc made unimportable: the emitted project must not need it.
NO_SSCC = (
    "import runpy, sys; sys.modules['sscc'] = None; mod = sys.argv[1]; "
    "sys.argv = [mod] + sys.argv[2:]; runpy.run_module(mod, run_name='__main__', alter_sys=True)"
)
PHASES = [["sentences"], ["words"]]


def key_of(word: str) -> str:
    """assign-key: lowercase, alphanumeric characters only (Rust's char::is_alphanumeric is
    Unicode's Alphabetic + Numeric, as Python's str.isalnum for these inputs)."""
    return "".join(c for c in word.lower() if c.isalnum())


def reference(sentences: list[str], words: list[str]) -> tuple[dict[str, dict], list[dict], list[int]]:
    """(state rows, word-counts records, offsets of dead-lettered probe words). The lookup runs
    `... where _key = '<word>'` with the word pasted into the SQL text: a word is looked up as
    written (`Fox` finds nothing: keys are lowercase), and a quote in it is an SQL syntax error,
    so that word is a dead letter."""
    counts = Counter(key_of(w) for s in sentences for w in s.split())
    records, dead = [], []
    for offset, word in enumerate(words):
        if "'" in word:
            dead.append(offset)
            continue
        records.append({"word": word, "count": counts.get(word, 0)})
    return {k: {"count": n} for k, n in counts.items()}, records, dead


def test_expected_files_match_the_plain_python_reference():
    rows, records, dead = reference(EXAMPLE.input_lines("sentences"), EXAMPLE.input_lines("words"))
    assert EXAMPLE.expected_states() == {"count-per-word": rows}
    assert [json.loads(line) for line in EXAMPLE.expected_topics()["word-counts"]] == records
    assert [d["offset"] for d in EXAMPLE.expected_dead_letters("lookup-word")] == dead
    assert EXAMPLE.expected_dead_letters("count-words") == []


def test_lookups_after_the_counts_are_committed(tmp_path):
    require_toolchain()
    store = tmp_path / "store"
    assert_outputs(EXAMPLE, run_in_phases(EXAMPLE, store, PHASES))
    assert_states(EXAMPLE, store)
    # The README's `sscc sql` line: the state as a table, `count-per-word` a view of it.
    want = EXAMPLE.expected_states()["count-per-word"]
    top = sorted(want.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:3]
    query = "select _key, count from count_per_word order by count desc, _key limit 3"
    assert sql_rows(store, query) == [{"_key": k, "count": v["count"]} for k, v in top]
    assert sql_rows(store, "select count from `count-per-word` where _key = 'fox'") == [
        {"count": want["fox"]["count"]}
    ]


def test_the_emitted_project_runs_the_lookups_without_sscc(tmp_path):
    require_toolchain()
    project = tmp_path / "project"
    sscc("compile", str(EXAMPLE.file), "-o", str(project))
    app = ["env", f"PYTHONPATH={project}", sys.executable, "-c", NO_SSCC, PACKAGE]
    store = tmp_path / "store"
    for phase in PHASES:
        for topic in phase:
            call(
                [
                    *app,
                    "topic",
                    "produce",
                    topic,
                    "--store",
                    str(store),
                    "--file",
                    str(EXAMPLE.inputs()[topic]),
                ]
            )
        # each phase a new process: the reader's mirror comes back from the owner's changelog
        call([*app, "run", "--store", str(store), "--until-idle", "--quiet"], cwd=project)
    assert_outputs(EXAMPLE, collect_outputs(EXAMPLE, store, [*app, "topic"]))
    shown = call(
        [*app, "state", "show", "count-per-word", "--store", str(store), "--key", "the"]
    ).splitlines()
    assert [line.split(None, 1) for line in shown[1:]] == [
        ["the", json.dumps(EXAMPLE.expected_states()["count-per-word"]["the"])]
    ]
    rows = call([*app, "sql", "select count(*) as n from count_per_word", "--store", str(store), "--json"])
    assert json.loads(rows) == {"n": len(EXAMPLE.expected_states()["count-per-word"])}
