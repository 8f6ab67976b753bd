"""The schemas as published for editors: valid draft 2020-12, described, and the same as the ones we validate with."""

import json

import pytest
from jsonschema import Draft202012Validator

from sscc.schema import SUPPORTED, schema_for, schema_json

ALL = [(kind, version) for kind, versions in SUPPORTED.items() for version in versions]


def test_supported_versions():
    assert SUPPORTED == {"dataflow": ["0.4.0", "0.5.0", "0.6.0"], "package": ["0.4.0", "0.5.0", "0.6.0"]}


@pytest.mark.parametrize("kind,version", [("dataflow", "0.3.0"), ("package", "0.7.0"), ("pipeline", "0.6.0")])
def test_unsupported_kind_or_version_is_a_key_error(kind, version):
    with pytest.raises(KeyError):
        schema_for(kind, version)


@pytest.mark.parametrize("kind,version", ALL)
def test_published_schema_is_a_valid_2020_12_schema(kind, version):
    published = json.loads(schema_json(kind, version))
    Draft202012Validator.check_schema(published)
    assert published == schema_for(kind, version)
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert published["$id"] == f"urn:sscc:schema:{kind}:{version}"
    assert version in published["title"]


@pytest.mark.parametrize("kind,version", ALL)
def test_main_keys_are_described(kind, version):
    schema = schema_for(kind, version)
    for key, sub in schema["properties"].items():
        assert sub.get("description"), key
    for name, sub in schema["$defs"].items():
        assert sub.get("description"), name


def test_each_caller_gets_its_own_copy():
    schema_for("dataflow", "0.6.0")["properties"].clear()
    assert schema_for("dataflow", "0.6.0")["properties"]


def test_versions_differ_only_where_the_format_does():
    df = {v: schema_for("dataflow", v) for v in SUPPORTED["dataflow"]}
    assert "schedule" in df["0.6.0"]["properties"] and "schedule" not in df["0.5.0"]["properties"]
    assert df["0.5.0"]["x-later-keys"] == {"schedule": "0.6.0"}
    assert "with" in df["0.6.0"]["$defs"]["function"]["properties"]
    assert "with" not in df["0.5.0"]["$defs"]["function"]["properties"]
    assert "array" in df["0.4.0"]["properties"]["services"]["additionalProperties"]["properties"]["states"]["type"]
    assert _without_versioned(df["0.5.0"]) == _without_versioned(df["0.6.0"])
    for kind in SUPPORTED:
        assert _without_versioned(schema_for(kind, "0.5.0")) == _without_versioned(schema_for(kind, "0.6.0"))


def _without_versioned(schema):
    """The schema less the 0.6.0 additions (`schedule`, `with`, `ttl`) and the notes that point to them."""
    text = json.dumps(schema)
    for version in SUPPORTED["dataflow"]:
        text = text.replace(version, "V")
    data = json.loads(text.replace('"topic", "schedule"', '"topic"'))
    for node in _walk(data):
        if isinstance(node, dict):
            for key in ("x-later-keys", "x-later-values"):
                node.pop(key, None)
            for key in ("schedule", "with", "ttl"):
                node.get("properties", {}).pop(key, None)
    return data


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("kind,version", ALL)
def test_if_conditions_only_use_what_navigate_understands(kind, version):
    """navigate.selects (and the fast `if` of validate) decide conditions by `required` and `enum` only."""
    for node in _walk(schema_for(kind, version)):
        if isinstance(node, dict) and isinstance(node.get("if"), dict):
            condition = node["if"]
            assert set(condition) <= {"required", "properties"}, condition
            for sub in condition.get("properties", {}).values():
                assert set(sub) == {"enum"}, condition
