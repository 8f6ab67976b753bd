"""examples/json-struct: renamed fields (one direction each), enums, an optional field, and two
bad records (not JSON; an operator Err) that end up as dead letters."""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("json-struct")


def reference(lines: list[str]) -> tuple[list[dict], list[int]]:
    """(reports, offsets of dead-lettered readings) computed the way the Rust map does."""
    reports, dead = [], []
    for offset, line in enumerate(lines):
        try:
            reading = json.loads(line)
        except ValueError:
            dead.append(offset)
            continue
        value = float(reading["value"])
        celsius = value if reading["unit"] == "Celsius" else (value - 32.0) * 5.0 / 9.0
        if celsius < -273.15:
            dead.append(offset)
            continue
        reports.append(
            {
                "sensor": reading["sensorId"],
                "celsius": celsius,
                "level": "HOT" if celsius > 30.0 else "Normal",
                "note": reading.get("note"),
            }
        )
    return reports, dead


def test_expected_files_match_the_plain_python_reference():
    reports = [json.loads(line) for line in EXAMPLE.expected_topics()["reports"]]
    dead = [d["offset"] for d in EXAMPLE.expected_dead_letters("convert-readings")]
    assert reference(EXAMPLE.input_lines("readings")) == (reports, dead)


def test_json_renames_enums_optional_fields_and_dead_letters(tmp_path):
    require_toolchain()
    outputs = run_with_sscc(EXAMPLE, tmp_path / "store")
    assert_outputs(EXAMPLE, outputs)
    (operator_error,) = [d for d in outputs.dead_letters["convert-readings"] if d["kind"] == "operator"]
    assert "below absolute zero" in operator_error["reason"]
