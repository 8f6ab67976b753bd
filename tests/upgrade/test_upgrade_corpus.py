"""Every 0.1.0-0.4.0 corpus file upgrades to the 0.6.0 shape, with positions into the original."""

import json
import os

import pytest

from conftest import CORPUS, MANIFEST
from sscc.diagnostics import Diagnostics
from sscc.load.emit_yaml import emit_yaml
from sscc.load.upgrade import UpgradedDocument, needs_upgrade, upgrade
from sscc.load.yaml_loader import load_file, load_text

if not os.path.exists(MANIFEST):  # pragma: no cover - the corpus lives beside the checkout
    pytest.skip(f"conformance corpus not found at {MANIFEST}", allow_module_level=True)

with open(MANIFEST) as fh:
    ENTRIES = json.load(fh)
LEGACY = [e for e in ENTRIES if e["kind"] in ("dataflow", "package") and needs_upgrade(e["kind"], e["apiVersion"])]
CURRENT = [e for e in ENTRIES if e["kind"] in ("dataflow", "package") and not needs_upgrade(e["kind"], e["apiVersion"])]
IDS = [e["file"] for e in LEGACY]

# Preview and early-0.4 spellings that must not survive anywhere under `services:`.
LEGACY_KEYS = {"source", "sink", "steps", "group-by", "process", "adaptors", "capabilities"}
SLOT_OPERATORS = {"assign-timestamp", "assign-key", "update-state", "group-by", "process", "aggregate"}
# Where a key of the upgraded file may have been written under another name.
WRITTEN_AS = {
    "sources": ("source",),
    "sinks": ("sink",),
    "transforms": ("steps", "operator"),
    "partition": ("operator",),
    "assign-timestamp": ("operator",),
    "assign-key": ("operator",),
    "update-state": ("operator",),
    "dependencies": ("adaptors", "capabilities"),
}


def upgraded(entry):
    diags = Diagnostics()
    doc = load_file(os.path.join(CORPUS, entry["file"]), diags)
    return doc, upgrade(doc, entry["kind"], entry["apiVersion"], diags), diags


def walk(node, path=()):
    """(path, value) of every node."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_upgrade_is_quiet_on_the_corpus(entry):
    _, up, diags = upgraded(entry)
    assert diags.items == []
    assert isinstance(up, UpgradedDocument) and up.upgraded_from == entry["apiVersion"]
    assert up.data["apiVersion"] == "0.6.0"


def _assert_service_shape(name, svc):
    where = f"service {name}"
    assert not LEGACY_KEYS & {k for _, node in walk(svc) if isinstance(node, dict) for k in node}, where
    for key in ("sources", "sinks", "transforms"):
        assert isinstance(svc.get(key, []), list), (where, key)
    for endpoint in svc.get("sources", []) + svc.get("sinks", []):
        assert isinstance(endpoint.get("transforms", []), list), where
    states = svc.get("states", {})
    assert isinstance(states, dict), where
    assert all(isinstance(s, dict) and "name" not in s and ("type" in s or "from" in s) for s in states.values()), where
    assert all(s.get("type") != "key-value" for s in states.values()), where
    window = svc.get("window")
    if window is not None:
        assert "assign-timestamp" in window, where
    for part in (svc.get("partition"), (window or {}).get("partition")):
        if part is not None:
            assert "assign-key" in part, where
    for path, node in walk(svc):
        if isinstance(node, dict) and "operator" in node:
            assert path[-2] == "transforms", (where, path)  # only list steps name their operator
            assert node["operator"] not in SLOT_OPERATORS, (where, path)


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_upgraded_data_has_the_06_shape(entry):
    _, up, _ = upgraded(entry)
    data = up.data
    if entry["kind"] == "package":
        assert isinstance(data.get("states", {}), dict)
        return
    assert isinstance(data["services"], dict)
    for name, svc in data["services"].items():
        _assert_service_shape(name, svc)


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_emitted_yaml_reloads_to_the_same_data(entry):
    _, up, _ = upgraded(entry)
    text = emit_yaml(up)
    diags = Diagnostics()
    again = load_text(text, "upgraded.yaml", diags)
    assert diags.items == []
    assert again.data == up.data
    body = "".join(line for line in text.splitlines(True) if not line.startswith("#"))
    assert emit_yaml(again) == body  # stable: emitting again changes nothing but the header


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_every_path_points_at_its_text_in_the_original(entry):
    doc, up, _ = upgraded(entry)
    lines = doc.text.splitlines()
    for path, value in walk(up.data):
        span = up.spans[path]
        assert span.path == doc.path and 1 <= span.line <= len(lines), path
        line = lines[span.line - 1]
        if path and isinstance(path[-1], str):
            key_line = lines[up.key_spans[path].line - 1]
            names = (path[-1],) + WRITTEN_AS.get(path[-1], ()) + (("http",) if "dependencies" in path else ())
            assert any(name in key_line for name in names), (path, key_line)
        if isinstance(value, str) and "\n" not in value and path != ("apiVersion",):
            assert value in line or _synthesized(path, value, line), (path, value, line)
        if isinstance(value, str) and "\n" in value:
            assert "run" in line or "|" in line, (path, line)


def _synthesized(path, value, line):
    """Values the upgrade writes itself, at the position of what they replace."""
    if "dependencies" in path:
        return "http" in line  # adaptors: [http]
    return value == "keyed-state" and "key-value" in line


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_what_did_not_move_keeps_its_positions(entry):
    doc, up, _ = upgraded(entry)
    for path, value in walk(up.data):
        if path != ("apiVersion",) and path in doc.spans and doc.get(path) == value:
            assert up.spans[path] == doc.spans[path], path
            assert up.key_spans.get(path) == doc.key_spans.get(path), path


def _entry(fragment):
    (entry,) = [e for e in LEGACY if fragment in e["file"]]
    return entry


def test_spot_check_positions_of_the_first_preview_file():
    doc, up, _ = upgraded(_entry("1dedd951__window-processing__word-count"))
    lines = doc.text.splitlines()
    svc = ("services", "word-processing-window")

    def key_line(*path):
        return lines[up.key_spans[svc + path].line - 1].strip()

    def value_line(*path):
        return lines[up.spans[svc + path].line - 1].strip()

    assert key_line("sources") == "source:"
    assert value_line("sources", 0, "id") == "id: sentence"
    assert key_line("states") == "states:"
    assert key_line("states", "count-per-word") == "count-per-word:"
    assert value_line("states", "count-per-word", "type") == "type: key-value"
    assert key_line("transforms") == "steps:"
    assert key_line("window") == "window:"
    assert value_line("window", "tumbling", "duration") == "duration: 20s"
    assert key_line("window", "assign-timestamp") == "- operator: assign-timestamp"
    assert key_line("window", "partition") == "- operator: group-by"
    assert key_line("window", "partition", "assign-key") == "- operator: group-by"
    assert key_line("window", "partition", "update-state") == "- operator: process"
    assert value_line("window", "partition", "update-state", "run") == "run: |"
    assert key_line("window", "flush") == "flush:"
    assert key_line("sinks") == "sink:"


def test_spot_check_positions_of_list_states_and_adaptors():
    doc, up, _ = upgraded(_entry("stateful-services-examples__use-cases__car-processing"))
    lines = doc.text.splitlines()
    services = ("services",)
    plates = services + ("check-license-plates", "states", "licence-plates")
    assert lines[up.key_spans[plates].line - 1].strip() == "- name: licence-plates"
    assert lines[up.spans[plates + ("from",)].line - 1].strip() == "from: save-license-plates.licence-plates"
    dep = services + ("lookup-maker", "transforms", 0, "dependencies")
    assert lines[up.key_spans[dep].line - 1].strip() == "adaptors:"
    assert lines[up.spans[dep + (0, "name")].line - 1].strip() == "- http"
    sink_step = services + ("divide-by-location", "sinks", 0, "transforms")
    assert lines[up.key_spans[sink_step].line - 1].strip() == "steps:"


def test_spot_check_positions_of_a_preview7_partition():
    doc, up, _ = upgraded(_entry("64d30b4a__use-cases__car-processing"))
    lines = doc.text.splitlines()
    slot = ("services", "count-by-color", "window", "partition", "update-state")
    assert lines[up.key_spans[slot].line - 1].strip() == "- operator: update-state"
    assert lines[up.spans[slot + ("run",)].line - 1].strip() == "run: |"


# The same example, rewritten by its authors in the next format version, upgrades to the same
# shape (inline code aside). Pairs whose authors also changed the pipeline are left out.
SUCCESSORS = [
    ("@26921b8a__bank-processing", "@368835f6__use-cases__bank-processing"),
    ("@26921b8a__word-counter", "@368835f6__use-cases__word-counter"),
    ("@26921b8a__http-callout", "@368835f6__use-cases__http-callout"),
    ("@b6256ce3__operators__map", "@368835f6__functions__map"),
    ("@495ae28a__word-count", "@368835f6__use-cases__word-counter"),
    ("@368835f6__functions__ref-state", "s-examples__functions__ref-state"),
    ("@368835f6__functions__update-state", "s-examples__functions__update-state"),
    ("@368835f6__use-cases__word-counter", "s-examples__use-cases__word-counter"),
    ("@368835f6__use-cases__http-callout", "s-examples__use-cases__http-callout"),
    ("s-examples__functions__ref-state", "@64d30b4a__functions__ref-state"),
    ("s-examples__use-cases__bank-processing", "@64d30b4a__use-cases__bank-processing"),
    ("s-examples__use-cases__openai-callout", "@64d30b4a__use-cases__openai-callout"),
    ("s-examples__use-cases__word-counter", "@64d30b4a__use-cases__word-counter"),
]


def _without_code(node):
    if isinstance(node, dict):
        return {k: "<code>" if k == "run" else _without_code(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_without_code(v) for v in node]
    return node


@pytest.mark.parametrize("older,newer", SUCCESSORS)
def test_successive_versions_of_an_example_upgrade_alike(older, newer):
    a = _without_code(upgraded(_entry(older))[1].data)
    b = _without_code(upgraded(_entry(newer))[1].data)
    assert list(a) == list(b)
    assert a["services"] == b["services"]


def _schema_validate():
    try:
        from sscc.schema import validate
    except ImportError:
        return None
    return validate


@pytest.mark.parametrize("entry", LEGACY, ids=IDS)
def test_upgraded_corpus_validates_against_the_06_schema(entry):
    validate = _schema_validate()
    if validate is None:
        pytest.skip("sscc.schema.validate is not available yet")
    _, up, _ = upgraded(entry)
    diags = Diagnostics()
    validate(up, entry["kind"], "0.6.0", diags)
    assert [(d.code, d.span.line, d.message) for d in diags.errors()] == []


@pytest.mark.parametrize("entry", CURRENT[:3] + CURRENT[-3:], ids=lambda e: e["file"])
def test_current_versions_are_returned_as_they_are(entry):
    diags = Diagnostics()
    doc = load_file(os.path.join(CORPUS, entry["file"]), diags)
    assert upgrade(doc, entry["kind"], entry["apiVersion"], diags) is doc
    assert diags.items == []


@pytest.mark.parametrize("fragment", ["1dedd951__window-processing__word-count", "64d30b4a__use-cases__car-processing"])
def test_sscc_upgrade_prints_the_upgraded_file(fragment):
    cli = pytest.importorskip("sscc.cli", reason="the command line is not importable yet")
    from click.testing import CliRunner

    entry = _entry(fragment)
    result = CliRunner().invoke(cli.main, ["upgrade", os.path.join(CORPUS, entry["file"])])
    assert result.exit_code == 0, result.output
    assert result.output == emit_yaml(upgraded(entry)[1])
