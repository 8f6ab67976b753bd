"""emit_yaml: deterministic, readable YAML that reads back to the same data."""

import yaml
from hypothesis import given, settings, strategies as st

from sscc.diagnostics import Diagnostics
from sscc.load.emit_yaml import emit_yaml
from sscc.load.upgrade import UpgradedDocument
from sscc.load.yaml_loader import Document, load_text


def emit(data):
    return emit_yaml(Document("p.yaml", "", data))


def reload(text):
    diags = Diagnostics()
    doc = load_text(text, "q.yaml", diags)
    assert diags.items == []
    return doc.data


def test_layout_keeps_key_order_indents_lists_and_separates_sections():
    text = emit(
        {
            "apiVersion": "0.6.0",
            "meta": {"name": "x", "version": "0.1.0"},
            "services": {"s": {"sources": [{"type": "topic", "id": "a"}]}},
        }
    )
    assert text == (
        "apiVersion: 0.6.0\n"
        "\n"
        "meta:\n"
        "  name: x\n"
        "  version: 0.1.0\n"
        "\n"
        "services:\n"
        "  s:\n"
        "    sources:\n"
        "      - type: topic\n"
        "        id: a\n"
    )


def test_strings_are_quoted_only_when_plain_text_would_read_differently():
    plain = ["0.6.0", "20s", "word-count", "https://x.y/z?a=b", "hello world", "a:b"]
    quoted = [
        "yes",
        "No",
        "on",
        "null",
        "~",
        "",
        "1e3",
        "1.5",
        "10",
        "0o17",
        "0x1F",
        ".inf",
        "true",
        "2024-01-01",
        "- a",
        "a: b",
        "#x",
        "*a",
    ]
    for value in plain:
        assert emit({"k": value}) == f"k: {value}\n", value
    for value in quoted:
        text = emit({"k": value})
        assert text[3] in "'\"", (value, text)
        assert reload(text) == {"k": value}
        assert yaml.safe_load(text) == {"k": value}


def test_other_scalars_stay_what_they_are():
    data = {"i": 3, "f": 1.5, "b": False, "n": None, "neg": -7}
    assert reload(emit(data)) == data
    assert emit({"b": True, "n": None}) == "b: true\n\nn: null\n"


def test_code_is_a_literal_block_kept_verbatim_with_trailing_spaces():
    code = "fn f(x: u8) -> Result<u8, String> {   \n  Ok(x)\t// tab inside\n\n}  \n"
    text = emit({"run": code})
    assert text == "run: |\n  fn f(x: u8) -> Result<u8, String> {   \n    Ok(x)\t// tab inside\n\n  }  \n"
    assert reload(text) == {"run": code}


def test_block_chomping_and_leading_indentation_survive():
    for code in ("a\nb", "a\nb\n\n", "  indented\nb\n", "\nstarts with a break\n", "a\n   \nb\n"):
        assert reload(emit({"run": code})) == {"run": code}, code
        assert "|" in emit({"run": code}), code


def test_text_the_loader_would_refuse_in_a_block_is_quoted():
    code = "a\n\tb\n"  # a tab right after the indentation is refused as tab indentation
    text = emit({"run": code})
    assert text.startswith('run: "')
    assert reload(text) == {"run": code}


def test_upgraded_documents_start_with_their_provenance_and_notes():
    doc = UpgradedDocument("p.yaml", "", {"apiVersion": "0.6.0"}, upgraded_from="0.2.0", notes=["line 3: something"])
    assert (
        emit_yaml(doc)
        == "# Upgraded from apiVersion 0.2.0 to 0.6.0 by `sscc upgrade`.\n# note: line 3: something\napiVersion: 0.6.0\n"
    )


def test_a_block_keeping_its_trailing_newlines_is_followed_directly_by_the_next_section():
    text = emit({"a": "x\n\n", "b": 1})
    assert text == "a: |+\n  x\n\nb: 1\n"
    assert reload(text) == {"a": "x\n\n", "b": 1}


def test_output_is_deterministic():
    data = {"b": {"z": 1, "a": [1, {"y": "x\n"}]}, "a": "s"}
    assert emit(data) == emit(data)
    assert list(reload(emit(data))) == ["b", "a"]


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_string_reads_back_unchanged(value):
    text = emit({"k": value, "l": [value]})
    assert reload(text) == {"k": value, "l": [value]}


CODE_LIKE = st.lists(
    st.sampled_from(["\n", " ", "  ", "\t", "x", "fn f() {", "}", "#", "- ", ": ", "'", '"', "|", "é", "\r", "\x85", "\ufeff"]),
    max_size=30,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(CODE_LIKE)
def test_any_code_like_text_reads_back_unchanged(value):
    data = {"run": value, "next": [value, {"run": value}], "last": value}
    assert reload(emit(data)) == data
