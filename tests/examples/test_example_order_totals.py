"""examples/order-totals: the fused decode -> filter -> map -> encode chain with bad records
(not JSON, a negative u32, an operator Err) dead-lettered; also run unfused (-O0)."""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("order-totals")


def reference(lines: list[str]) -> tuple[list[dict], list[int]]:
    """(totals, offsets of dead-lettered orders)."""
    totals, dead = [], []
    for offset, line in enumerate(lines):
        try:
            order = json.loads(line)
        except ValueError:
            dead.append(offset)
            continue
        if not 0 <= order["qty"] < 2**32:
            dead.append(offset)  # not a u32: the decode fails
            continue
        if order["qty"] == 0:
            continue
        if order["qty"] > 1000:
            dead.append(offset)
            continue
        totals.append({"id": order["id"], "item": order["item"], "total": order["qty"] * order["price"]})
    return totals, dead


def test_expected_files_match_the_plain_python_reference():
    totals = [json.loads(line) for line in EXAMPLE.expected_topics()["totals"]]
    dead = [d["offset"] for d in EXAMPLE.expected_dead_letters("pricing")]
    assert reference(EXAMPLE.input_lines("orders")) == (totals, dead)


def test_bad_records_become_dead_letters_and_the_rest_is_priced(tmp_path):
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store"))


def test_unfused_gives_the_same_records_and_dead_letters(tmp_path):
    """With -O0 each operator is its own stage, so a batch's decode failures are found before its
    operator errors; the runtime still writes dead letters in source-offset order, as fused."""
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store", "-O0"))
