"""examples/split: one source, three sinks each keeping its own records (filter-map, filter)."""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("split")


def reference(cars: list[str]) -> dict[str, list[dict]]:
    decoded = [json.loads(line) for line in cars]
    return {
        "electric-cars": [car for car in decoded if car["electric"]],
        "sedans": [{"sedan": c["car"], "license": c["license"]} for c in decoded if c["category"] == "sedan"],
        "trucks": [{"truck": c["car"], "license": c["license"]} for c in decoded if c["category"] == "truck"],
    }


def test_expected_files_match_the_plain_python_reference():
    expected = {topic: [json.loads(line) for line in lines] for topic, lines in EXAMPLE.expected_topics().items()}
    assert reference(EXAMPLE.input_lines("cars")) == expected


def test_every_sink_gets_only_its_records(tmp_path):
    require_toolchain()
    assert_outputs(EXAMPLE, run_with_sscc(EXAMPLE, tmp_path / "store"))
