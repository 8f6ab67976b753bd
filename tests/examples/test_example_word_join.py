"""examples/word-join: two services count words of their own topic in arrow-row states; a third
reads both through `from:` and answers probe words with one `sql()` FULL OUTER JOIN. Run in two
phases (sources, then probes), since a reader sees what the owners have committed."""

import json
from collections import Counter

from example_cli import Example, assert_outputs, assert_states, require_toolchain, run_in_phases, sql_rows

EXAMPLE = Example("word-join")
PHASES = [["source-a", "source-b"], ["probe-word"]]


def words(sentence: str) -> list[str]:
    """The corpus's split: whitespace, alphanumeric characters only, no empty words."""
    return [w for w in ("".join(c for c in s if c.isalnum()) for s in sentence.split()) if w]


def counts(lines: list[str]) -> Counter:
    """A counter service: key = the word lowercased."""
    return Counter(w.lower() for line in lines for w in words(json.loads(line)))


def reference(a: list[str], b: list[str], probes: list[str]) -> tuple[Counter, Counter, list[str], list[int]]:
    """(state a, state b, word-count records, offsets of dead-lettered probe lines).

    Per probe word (not lowercased): `SUM(COALESCE(a.occurrences,0) + COALESCE(b.occurrences,0))`
    over the FULL OUTER JOIN rows where either key is the word. No such row: SUM of nothing is
    NULL (SQLite, and Polars 2.1 which SDF uses), `rows.i32` on NULL is an `Err`, and the `?` makes
    it an operator error. A probe line is one record through the fused flat-map -> map chain, so
    one failing word costs the whole line (docs/abi.md §5)."""
    ca, cb = counts(a), counts(b)
    records, dead = [], []
    for offset, line in enumerate(probes):
        out = []
        for word in words(json.loads(line)):
            if word not in ca and word not in cb:
                dead.append(offset)
                break
            out.append(f"key: `{word}` count: {ca[word] + cb[word]}")
        else:
            records += out
    return ca, cb, records, dead


def test_expected_files_match_the_plain_python_reference():
    ca, cb, records, dead = reference(
        *(EXAMPLE.input_lines(t) for t in ("source-a", "source-b", "probe-word"))
    )
    occurrences = lambda c: {k: {"occurrences": n} for k, n in c.items()}  # noqa: E731
    assert EXAMPLE.expected_states() == {
        "count-per-word-a": occurrences(ca),
        "count-per-word-b": occurrences(cb),
    }
    assert [json.loads(line) for line in EXAMPLE.expected_topics()["word-count"]] == records
    assert [d["offset"] for d in EXAMPLE.expected_dead_letters("look-up-word")] == dead
    for service in ("word-count-source-a", "word-count-source-b"):
        assert EXAMPLE.expected_dead_letters(service) == []


def test_the_join_after_both_counts_are_committed(tmp_path):
    require_toolchain()
    store = tmp_path / "store"
    assert_outputs(EXAMPLE, run_in_phases(EXAMPLE, store, PHASES))
    assert_states(EXAMPLE, store)
    # The README's `sscc sql` line: the same join over the store's state tables.
    query = (
        "select coalesce(a._key, b._key) as word, coalesce(a.occurrences, 0) + coalesce(b.occurrences, 0) as total "
        "from count_per_word_a a full outer join count_per_word_b b on a._key = b._key order by total desc, word limit 3"
    )
    ca, cb = (
        Counter({k: v["occurrences"] for k, v in s.items()}) for s in EXAMPLE.expected_states().values()
    )
    top = sorted((ca + cb).items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert sql_rows(store, query) == [{"word": w, "total": n} for w, n in top]
