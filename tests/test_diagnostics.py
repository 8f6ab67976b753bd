"""Rendering of diagnostics, rustc style, and the did-you-mean helper."""

from sscc.diagnostics import Diagnostics, SourceCache, Span, did_you_mean, render_text, suggest


def test_render_has_location_line_caret_and_hint():
    src = SourceCache()
    src.add("p.yaml", "topics:\n  words:\n    id: sentense\n")
    diags = Diagnostics()
    diags.error("E041", Span("p.yaml", 3, 9, 3, 17), "unknown topic `sentense`", "did you mean `sentence`?")
    text = render_text(diags.items[0], src)
    lines = text.splitlines()
    assert lines[0] == "p.yaml:3:9: error[E041]: unknown topic `sentense`"
    assert lines[2] == "3 |     id: sentense"
    assert lines[3] == "  |         ^^^^^^^^"
    assert lines[4] == "  hint: did you mean `sentence`?"


def test_strict_promotes_warnings():
    diags = Diagnostics()
    diags.warning("W001", Span("p", 1, 1), "unknown key")
    assert not diags.has_errors
    diags.promote_warnings()
    assert diags.has_errors and diags.items[0].code == "W001"


def test_suggestions():
    assert suggest("sentense", ["sentence", "words"]) == "sentence"
    assert suggest("flat_map", ["flat-map", "map"]) == "flat-map"
    assert suggest("zzz", ["sentence"]) is None
    assert did_you_mean("zzz", ["a", "b"], "topics") == "topics defined here: `a`, `b`"
