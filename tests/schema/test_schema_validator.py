"""The quick paths of the validator change its speed, never its verdict.

Two quick paths: validate.py's jsonschema validator that skips plain descents, and verdict.py's
yes/no answer that spares importing jsonschema for a valid file. Both are compared with a
plain Draft202012Validator on corpus files, on the same files with one scalar replaced at a
time, and on every schema snippet test."""

import copy
import json
import os
import textwrap

import pytest
from conftest import CORPUS, MANIFEST
from jsonschema import Draft202012Validator
from test_schema_snippets import CASES

from sscc.diagnostics import Diagnostics
from sscc.load.yaml_loader import load_file, load_text
from sscc.schema import schema_for
from sscc.schema.messages import explain
from sscc.schema.validate import validator_for, verdict_for


def _verdicts(validator, data):
    return sorted(
        (tuple(map(str, e.absolute_path)), e.validator, str(e.validator_value)) for e in validator.iter_errors(data)
    )


def _mutations(data):
    """The data with one scalar at a time replaced by a value of another type (a cheap fuzzer)."""
    stack = [()]
    while stack:
        path = stack.pop()
        node = data
        for part in path:
            node = node[part]
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in children:
            if isinstance(value, (dict, list)):
                stack.append(path + (key,))
            else:
                for bad in (7, "text", None, {"type": "string"}):
                    mutated = copy.deepcopy(data)
                    target = mutated
                    for part in path:
                        target = target[part]
                    target[key] = bad
                    yield mutated


if not os.path.exists(MANIFEST):  # pragma: no cover - the corpus lives beside the checkout
    pytest.skip(f"conformance corpus not found at {MANIFEST}", allow_module_level=True)
with open(MANIFEST) as fh:
    SAMPLE = [e for e in json.load(fh) if e["apiVersion"] in ("0.4.0", "0.5.0", "0.6.0") and e["kind"] != "aux"][::25]


@pytest.mark.parametrize("entry", SAMPLE, ids=lambda e: e["file"])
def test_quick_validator_agrees_with_plain_jsonschema_on_mutated_corpus_files(entry):
    doc = load_file(os.path.join(CORPUS, entry["file"]), Diagnostics())
    quick = validator_for(entry["kind"], entry["apiVersion"])
    plain = Draft202012Validator(schema_for(entry["kind"], entry["apiVersion"]))
    verdict = verdict_for(entry["kind"], entry["apiVersion"])
    for data in [doc.data, *_mutations(doc.data)]:
        expected = _verdicts(plain, data)
        assert _verdicts(quick, data) == expected
        assert verdict(data) == (not expected)


with open(MANIFEST) as fh:
    NATIVE = [e for e in json.load(fh) if e["apiVersion"] in ("0.4.0", "0.5.0", "0.6.0") and e["kind"] != "aux"]


def test_yes_no_verdict_agrees_with_plain_jsonschema_on_every_corpus_file():
    for entry in NATIVE:
        doc = load_file(os.path.join(CORPUS, entry["file"]), Diagnostics())
        plain = Draft202012Validator(schema_for(entry["kind"], entry["apiVersion"]))
        verdict = verdict_for(entry["kind"], entry["apiVersion"])(doc.data)
        assert verdict == plain.is_valid(doc.data), entry["file"]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_quick_validator_agrees_with_plain_jsonschema_on_the_snippets(case):
    _, text, kind, version = case[:4]
    doc = load_text(textwrap.dedent(text), "p.yaml", Diagnostics())
    plain = Draft202012Validator(schema_for(kind, version))
    assert _verdicts(validator_for(kind, version), doc.data) == _verdicts(plain, doc.data)
    assert verdict_for(kind, version)(doc.data) == plain.is_valid(doc.data)


def test_yes_no_verdict_follows_json_schema_corner_cases():
    from sscc.schema.verdict import checker

    root = {
        "$defs": {"n": {"type": "integer", "minimum": 0}},
        "properties": {"n": {"$ref": "#/$defs/n"}, "flag": {"enum": [True]}, "k": {"const": 1}},
        "dependentSchemas": {"a": {"required": ["b"]}},
        "additionalProperties": {"type": "string"},
    }
    check = checker(root)
    for data in [{"n": 1.0}, {"n": -1}, {"n": True}, {"flag": 1}, {"flag": True}, {"k": True}, {"k": 1.0},
                 {"a": "x"}, {"a": "x", "b": "y"}, {"z": 3}, [], "text"]:  # fmt: skip
        assert check(data) == Draft202012Validator(root).is_valid(data), data
    with pytest.raises(KeyError):
        checker({"patternProperties": {"x": {}}})


def test_an_unannotated_any_of_is_explained_by_its_deepest_branch():
    root = {"$defs": {}, "anyOf": [{"type": "string"}, {"type": "object", "required": ["name"]}]}
    doc = load_text("other: 1\n", "p.yaml", Diagnostics())
    (error,) = Draft202012Validator(root).iter_errors(doc.data)
    (problem,) = explain(error, root, doc)
    assert (problem.code, problem.message) == ("E010", "missing required key `name` at the top level")


def test_every_published_schema_uses_only_keywords_the_yes_no_verdict_handles():
    from sscc.schema import SUPPORTED
    from sscc.schema.verdict import _HANDLED, _IGNORED

    def subschemas(s):
        yield s
        for key in ("properties", "dependentSchemas", "$defs"):
            for sub in s.get(key, {}).values():
                yield from subschemas(sub)
        for key in ("additionalProperties", "items", "if", "then", "else", "not"):
            if isinstance(s.get(key), dict):
                yield from subschemas(s[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in s.get(key, ()):
                yield from subschemas(sub)

    for kind, versions in SUPPORTED.items():
        for version in versions:
            for s in subschemas(schema_for(kind, version)):
                unknown = {k for k in s if k not in _HANDLED | _IGNORED and not k.startswith("x-")}
                assert not unknown, (kind, version, unknown)
