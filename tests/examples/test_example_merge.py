"""examples/merge: two source topics of different types mapped per source into one sink.

The order in which the two sources' records interleave in the sink is the scheduler's business;
each source's own records must keep their order, and nothing may be lost or added.
"""

import json

from example_cli import Example, assert_outputs, require_toolchain, run_with_sscc

EXAMPLE = Example("merge")


def reference(trucks: list[str], sedans: list[str]) -> tuple[list[str], list[str]]:
    from_trucks = [f"truck {t['truck']} ({t['axles']} axles): {t['license']}" for t in map(json.loads, trucks)]
    from_sedans = [f"sedan {s['sedan']}: {s['license']}" for s in map(json.loads, sedans)]
    return from_trucks, from_sedans


def per_source(lines: list[str]) -> tuple[list[str], list[str]]:
    return [x for x in lines if x.startswith("truck ")], [x for x in lines if x.startswith("sedan ")]


def test_expected_file_matches_the_plain_python_reference():
    expected = EXAMPLE.expected_topics()["licenses"]
    assert per_source(expected) == reference(EXAMPLE.input_lines("trucks"), EXAMPLE.input_lines("sedans"))


def test_both_sources_reach_the_one_sink_in_their_own_order(tmp_path):
    require_toolchain()
    outputs = run_with_sscc(EXAMPLE, tmp_path / "store")
    got = outputs.topics.pop("licenses")
    expected = EXAMPLE.expected_topics()["licenses"]
    assert sorted(got) == sorted(expected)
    assert per_source(got) == per_source(expected)
    outputs.topics["licenses"] = expected  # the interleaving is checked above; the rest as usual
    assert_outputs(EXAMPLE, outputs)
