"""examples/key-value: functions reading the record key and a map returning a new key."""

import json

from example_cli import KEY_SEPARATOR, Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("key-value")


def reference(lines: list[str]) -> list[tuple[str, dict]]:
    """(key printed by `consume --keys`, value): keyless records print an empty key."""
    out = []
    for line in lines:
        key, value = line.split(KEY_SEPARATOR, 1) if KEY_SEPARATOR in line else (None, line)
        user = json.loads(value)
        if key == "blocked" or not user["name"]:
            continue
        group = "child" if user["age"] < 18 else "adult"
        out.append((group if key is not None else "", {"id": key, "name": user["name"], "age": user["age"]}))
    return out


def test_expected_file_matches_the_plain_python_reference():
    expected = [
        (key, json.loads(value))
        for key, _, value in (line.partition(KEY_SEPARATOR) for line in EXAMPLE.expected_topics()["users-by-group"])
    ]
    assert reference(EXAMPLE.input_lines("users")) == expected


def test_keys_are_read_and_replaced(tmp_path):
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store"))
