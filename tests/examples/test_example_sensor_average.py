"""examples/sensor-average: a sliding 60 s / 10 s window with a 3 s grace period over event time
taken from the value; one flush per window with every sensor's average; late readings go to the
dead-letter topic with kind `late`. The expected files are re-derived here by the example's own
brute-force reference (plain Python), and the run is compared with them."""

import importlib.util
import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("sensor-average")


def _reference():
    spec = importlib.util.spec_from_file_location("sensor_average_reference", EXAMPLE.dir / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_expected_files_match_the_reference():
    outputs, late = _reference().run([json.loads(line) for line in EXAMPLE.input_lines("readings")])
    assert [json.loads(line) for line in EXAMPLE.expected_topics()["averages"]] == outputs
    assert EXAMPLE.expected_dead_letters("sensor-average") == late
    assert len(late) == 3 and len(outputs) == 24


def test_grace_admits_the_reading_just_behind_a_closed_window_end():
    """Line 15 is on time only thanks to the 3 s grace: without it, one window fewer holds it."""
    ref = _reference()
    readings = [json.loads(line) for line in EXAMPLE.input_lines("readings")]
    with_grace, _ = ref.run(readings)
    ref.GRACE = 0
    try:
        without, _ = ref.run(readings)
    finally:
        ref.GRACE = 3_000
    count = lambda outs: sum(s["readings"] for o in outs for s in o["sensors"])  # noqa: E731
    assert count(with_grace) == count(without) + 1


def test_sliding_averages_and_late_dead_letters(tmp_path):
    require_toolchain()
    outputs = run_with_sscc(EXAMPLE, tmp_path / "store")
    assert_outputs(EXAMPLE, outputs)
    assert all(d["kind"] == "late" and d["operator"] == "reading-time" for d in outputs.dead_letters["sensor-average"])
