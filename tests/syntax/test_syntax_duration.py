"""Humantime durations -> milliseconds, and their errors."""

import pytest

from sscc.syntax import SyntaxProblem, parse_duration


@pytest.mark.parametrize(
    "text, ms",
    [
        ("15s", 15_000), ("1m 30s", 90_000), ("1m30s", 90_000), ("500ms", 500), ("1h", 3_600_000),
        ("2days", 172_800_000), ("1min", 60_000), ("3 seconds", 3_000), ("10sec", 10_000), ("100 millis", 100),
        ("1w", 604_800_000), ("1h 2m 3s 4ms", 3_723_004), ("2000000ns", 2), ("3000us", 3), ("1M", 2_630_016_000),
        ("1y", 31_557_600_000), ("0s", 0), (" 20s ", 20_000), ("5 hrs", 18_000_000), ("2 weeks", 1_209_600_000),
    ],
)  # fmt: skip
def test_durations(text, ms):
    assert parse_duration(text) == ms


def test_units_are_case_sensitive():
    assert parse_duration("1M") != parse_duration("1m")


def problem(text):
    with pytest.raises(SyntaxProblem) as info:
        parse_duration(text)
    return info.value


def test_bare_number_needs_a_unit():
    p = problem("10")
    assert (p.line, p.col, p.end_col) == (1, 1, 3)
    assert p.message == "missing time unit after `10`" and "`10s`" in p.hint


def test_missing_unit_after_a_later_number():
    p = problem("1m 30")
    assert (p.col, p.end_col) == (4, 6)


def test_unknown_unit_with_suggestion():
    p = problem("5 Sec")
    assert (p.col, p.end_col) == (3, 6)
    assert p.message == "unknown time unit `Sec`" and p.hint == "did you mean `sec`?"


@pytest.mark.parametrize(
    "text, col, hint",
    [("1.5s", 2, "1500ms"), ("-5s", 1, "negative"), ("s10", 1, "a number"), ("10 20s", 4, "a time unit")],
)
def test_unexpected_input(text, col, hint):
    p = problem(text)
    assert p.col == col and hint in p.hint


def test_empty():
    assert problem("  ").message == "empty duration"


def test_sub_millisecond_is_refused():
    assert "whole number of milliseconds" in problem("1500us").message
