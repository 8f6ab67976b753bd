"""Cron schedules -> expanded sets, and field-precise errors."""

import pytest

from sscc.syntax import SyntaxProblem, parse_cron

ALL_DAYS = frozenset(range(7))


def test_every_five_minutes():
    c = parse_cron("*/5 * * * *")
    assert c.seconds == {0} and c.minutes == set(range(0, 60, 5)) and c.hours == set(range(24))
    assert c.days_of_month == set(range(1, 32)) and c.months == set(range(1, 13)) and c.days_of_week == ALL_DAYS
    assert not c.days_either


def test_names_ranges_lists_steps():
    c = parse_cron("0 9 * jan,Jul-SEP/2 MON-FRI")
    assert c.minutes == {0} and c.hours == {9} and c.months == {1, 7, 9} and c.days_of_week == {1, 2, 3, 4, 5}


def test_six_fields_have_seconds_first():
    c = parse_cron("30 0 12 * * ?")
    assert (c.seconds, c.minutes, c.hours) == ({30}, {0}, {12})


def test_value_with_step_runs_to_the_end():
    assert parse_cron("5/15 * * * *").minutes == {5, 20, 35, 50}


def test_sunday_is_0_and_7():
    assert parse_cron("* * * * 7").days_of_week == {0}
    assert parse_cron("* * * * 5-7").days_of_week == {0, 5, 6}


def test_both_day_fields_restricted_means_either():
    assert parse_cron("0 0 1,15 * MON").days_either
    assert not parse_cron("0 0 */2 * MON").days_either


@pytest.mark.parametrize("macro, same", [("@daily", "0 0 * * *"), ("@HOURLY", "0 * * * *"), ("@weekly", "0 0 * * 0")])
def test_macros(macro, same):
    a, b = parse_cron(macro), parse_cron(same)
    assert a.text == macro and (a.minutes, a.hours, a.days_of_week) == (b.minutes, b.hours, b.days_of_week)


def problem(text):
    with pytest.raises(SyntaxProblem) as info:
        parse_cron(text)
    return info.value


@pytest.mark.parametrize(
    "text, col, end_col, message",
    [
        ("60 * * * *", 1, 3, "minute `60` is out of range 0-59"),
        ("* 24 * * *", 3, 5, "hour `24` is out of range 0-23"),
        ("* * 0 * *", 5, 6, "day of month `0` is out of range 1-31"),
        ("* * * 13 *", 7, 9, "month `13` is out of range 1-12"),
        ("* * * * 8", 9, 10, "day of week `8` is out of range 0-7"),
        ("61 * * * * *", 1, 3, "second `61` is out of range 0-59"),
        ("  5-1 * * * *", 3, 6, "range `5-1` runs backwards"),
        ("*/0 * * * *", 3, 4, "a step must be at least 1"),
        ("* * * JANX *", 7, 11, "unknown month name `JANX`"),
        ("* MON * * *", 3, 6, "`MON` is not a number; the hour field takes 0-23"),
        ("* * L * *", 5, 6, "`L` is not supported"),
        ("* * * * 1#2", 10, 11, "`#` (nth weekday) is not supported"),
        ("? * * * *", 1, 2, "`?` is only allowed in the day fields, not in the minute field"),
        ("1,,2 * * * *", 3, 4, "unexpected `,` in cron schedule"),
        ("1- * * * *", 3, 4, "unexpected space in cron schedule"),
        ("* * * * 1-", 11, 12, "unexpected end of cron schedule"),
        ("@reboot", 1, 8, "unknown cron macro `@reboot`"),
    ],
)
def test_errors(text, col, end_col, message):
    p = problem(text)
    assert (p.line, p.col, p.end_col, p.message) == (1, col, end_col, message)


def test_suggestion_for_a_misspelt_name():
    assert problem("* * * * MOM").hint == "did you mean `MON`?"


def test_field_count():
    assert problem("* * *").message.endswith("not 3")
    p = problem("0 0 12 * * ? 2025")
    assert p.col == 14 and "year" in p.hint


def test_empty():
    assert problem("").message == "empty cron schedule"
