"""examples/word-stats: windows and state, which the runtime does not run yet (docs/runtime.md
§6); the example is checked and lowered only."""

from example_cli import Example, sscc

EXAMPLE = Example("word-stats")


def test_checks_clean_and_lowers_to_two_services():
    sscc("check", "--strict", str(EXAMPLE.file))
    text = sscc("ir", str(EXAMPLE.file))
    assert "Service liked-posts" in text and "Service word-counter" in text
