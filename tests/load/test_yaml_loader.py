"""The positioned YAML loader: data, positions, and the inputs it refuses."""

from sscc.diagnostics import Diagnostics
from sscc.load.detect import detect_kind, detect_version
from sscc.load.yaml_loader import load_text


def load(text, path="p.yaml"):
    diags = Diagnostics()
    doc = load_text(text, path, diags)
    return doc, diags.sorted()


def only(diags):
    assert len(diags) == 1, diags
    d = diags[0]
    return d.code, d.span.line, d.span.col


def test_positions_of_keys_and_values():
    doc, diags = load("apiVersion: 0.6.0\nmeta:\n  name: x\ntopics:\n  a:\n    schema: {value: {type: u32}}\nlist:\n  - one\n  - two\n")
    assert not diags
    assert doc.data["apiVersion"] == "0.6.0"
    assert doc.data["list"] == ["one", "two"]
    assert (doc.span(("meta", "name")).line, doc.span(("meta", "name")).col) == (3, 9)
    assert (doc.key_span(("topics", "a")).line, doc.key_span(("topics", "a")).col) == (5, 3)
    assert (doc.span(("topics", "a", "schema", "value", "type")).line, doc.span(("topics", "a", "schema", "value", "type")).col) == (6, 28)
    assert doc.span(("list", 1)).line == 9
    # a path that does not exist falls back to its nearest parent
    assert doc.span(("topics", "a", "nope")).line == 6


def test_scalars_keep_yaml_types_but_not_timestamps():
    doc, _ = load("a: 1\nb: 1.5\nc: true\nd: null\ne: 2024-01-01\nf: '0.5.0'\ng: 0.5\n")
    assert doc.data == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "2024-01-01", "f": "0.5.0", "g": 0.5}


def test_duplicate_key_is_an_error_at_the_second_key():
    _, diags = load("meta:\n  name: a\n  name: b\n")
    assert only(diags) == ("E002", 3, 3)
    assert "line 2" in diags[0].hint


def test_a_duplicate_key_whose_value_is_a_list_or_mapping_is_an_error_at_the_second_key():
    """`sources:` twice in one service: the second value is a list that ends after its key."""
    text = "services:\n  svc:\n    sources:\n      - id: a\n    sources:\n      - id: b\n    sinks: {x: {id: b}}\n    sinks:\n      x: {id: c}\n"
    doc, diags = load(text)
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("E002", 5, 5), ("E002", 8, 5)]
    assert "line 3" in diags[0].hint and "line 7" in diags[1].hint
    assert doc.data["services"]["svc"] == {"sources": [{"id": "a"}], "sinks": {"x": {"id": "b"}}}  # the first wins


def test_a_duplicate_key_through_the_cli_is_a_diagnostic_not_an_internal_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "dataflow.yaml"
    path.write_text(
        "apiVersion: 0.5.0\nmeta: {name: dup, version: 0.1.0, namespace: test}\n"
        "topics:\n  a: {schema: {value: {type: string}}}\n"
        "services:\n  svc:\n    sources:\n      - {type: topic, id: a}\n    sources:\n      - {type: topic, id: a}\n"
        "    sinks:\n      - {type: topic, id: a}\n"
    )
    proc = subprocess.run([sys.executable, "-m", "sscc", "check", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert f"{path}:9:5: error[E002]: duplicate key `sources`" in proc.stdout + proc.stderr


def test_tab_indentation():
    _, diags = load("meta:\n\tname: a\n")
    assert only(diags) == ("E001", 2, 1)


def test_anchor_and_alias_are_refused():
    _, diags = load("a: &x 1\nb: *x\n")
    assert only(diags)[0] == "E001"
    assert "anchor" in diags[0].message


def test_multi_document():
    _, diags = load("a: 1\n---\nb: 2\n")
    assert only(diags) == ("E001", 2, 1)


def test_root_must_be_mapping():
    _, diags = load("- a\n- b\n")
    assert only(diags) == ("E003", 1, 1)
    _, diags = load("# only a comment\n")
    assert only(diags)[0] == "E003"


def test_yaml_syntax_error_has_position_and_hint():
    _, diags = load("meta:\n  name: a\n   bad: b\n")
    code, line, _ = only(diags)
    assert code == "E001" and line == 3
    assert diags[0].hint


def test_detect_kind_by_content():
    doc, _ = load("apiVersion: 0.5.0\nfunctions: {}\n", path="whatever.yaml")
    assert detect_kind(doc) == "package"
    doc, _ = load("apiVersion: 0.5.0\nservices: {}\n", path="sdf-package.yaml")
    assert detect_kind(doc) == "dataflow"
    doc, _ = load("types:\n  a: {type: u32}\n")
    assert detect_kind(doc) == "types"


def test_missing_and_unsupported_api_version():
    doc, _ = load("meta:\n  name: x\nservices: {}\n")
    diags = Diagnostics()
    assert detect_version(doc, "dataflow", diags) is None
    assert only(diags.sorted())[0] == "E004"
    doc, _ = load("apiVersion: 0.9.0\nservices: {}\n")
    diags = Diagnostics()
    assert detect_version(doc, "dataflow", diags) is None
    assert only(diags.sorted()) == ("E005", 1, 13)
    doc, _ = load("apiVersion: 0.5\nservices: {}\n")
    assert detect_version(doc, "dataflow", Diagnostics()) == "0.5.0"
    doc, _ = load("apiversion: 0.5.0\nservices: {}\n")
    diags = Diagnostics()
    detect_version(doc, "dataflow", diags)
    assert "apiversion" in diags.items[0].hint
