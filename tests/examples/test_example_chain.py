"""examples/chain: service `parse-clicks` writes `clicks`, service `purchases` reads it; one
`sscc run --until-idle` drains both."""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("chain")


def reference(lines: list[str]) -> tuple[list[dict], list[str], list[int]]:
    """(clicks, purchases, offsets of dead-lettered lines)."""
    clicks, dead = [], []
    for offset, line in enumerate(lines):
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 3 or fields[0].startswith("#"):
            continue
        if not fields[2].isdigit():
            dead.append(offset)
            continue
        clicks.append({"user": fields[0], "action": fields[1], "cents": int(fields[2])})
    purchases = [f"{c['user']} paid {c['cents'] // 100}.{c['cents'] % 100:02d}" for c in clicks if c["action"] == "buy"]
    return clicks, purchases, dead


def test_expected_files_match_the_plain_python_reference():
    expected = EXAMPLE.expected_topics()
    clicks = [json.loads(line) for line in expected["clicks"]]
    dead = [d["offset"] for d in EXAMPLE.expected_dead_letters("parse-clicks")]
    assert reference(EXAMPLE.input_lines("click-lines")) == (clicks, expected["purchases"], dead)
    assert EXAMPLE.expected_dead_letters("purchases") == []


def test_two_chained_services_drain_in_one_run(tmp_path):
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store"))
