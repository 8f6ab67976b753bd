"""examples/split-sentence: map + filter + flat-map on a source, two sinks (one with its own map)."""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("split-sentence")


def reference(sentences: list[str]) -> dict[str, list[str]]:
    """Plain Python: trim + lowercase, drop empty sentences, split on whitespace, count chars."""
    words = [word for sentence in sentences for word in sentence.strip().lower().split()]
    return {"words": words, "word-lengths": [json.dumps(len(word)) for word in words]}


def test_expected_files_match_the_plain_python_reference():
    assert reference(EXAMPLE.input_lines("sentences")) == EXAMPLE.expected_topics()


def test_sscc_run_gives_the_expected_output(tmp_path):
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store"))
