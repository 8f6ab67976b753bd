"""docs/ir.md shows real output: its JSON and text examples are what sscc produces today."""

import os
import re

import corpus
from sscc.ir.dump import dump
from sscc.ir.serialize import from_json, to_json
from sscc.passes import optimize

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "ir.md")
MAP_OPERATOR = "fluvio-docs__sdf___embeds__dataflows__map-operator.yaml"


def test_the_json_example_in_the_docs_is_current():
    with open(DOC, encoding="utf-8") as fh:
        (example,) = re.findall(r"```json\n(.*?)```", fh.read(), re.S)
    ir = corpus.lowered(MAP_OPERATOR)
    assert to_json(from_json(example)) == to_json(ir).replace(MAP_OPERATOR, "map-operator.yaml")


def test_the_text_dump_example_in_the_docs_is_current():
    name = "stateful-dataflows-examples__dataflows__word-counter__dataflow.yaml"
    with open(DOC, encoding="utf-8") as fh:
        (example,) = re.findall(r"```\n(Pipeline .*?)\n```", fh.read(), re.S)
    assert dump(optimize(corpus.lowered(name)), "text").replace(name, "dataflow.yaml") == example
