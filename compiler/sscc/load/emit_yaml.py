"""A Document's data as deterministic, readable YAML (what `sscc upgrade` prints).

PyYAML's emitter does the writing; this module only tunes it:
- key order is the data's order (no sorting), block style, lists indented under their key;
- a multi-line string is a literal block (`run: |`) kept verbatim, trailing spaces included
  (stock PyYAML falls back to a double-quoted string when a line ends in a space);
- a string is quoted only when plain text would read back as something else, under YAML 1.1
  (PyYAML, sscc's loader: `yes`, `null`, `1.5`) and YAML 1.2 (SDF's own reader: `1e3`, `0o17`),
  so `0.6.0` stays plain and `'1e3'` stays a string;
- no line wrapping; a blank line between top-level sections.
An upgraded document starts with a comment naming the version it came from, and its notes.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .upgrade import TARGET, UpgradedDocument
from .yaml_loader import Document

_NO_WRAP = 1 << 30
_DOCUMENT_END = "\n...\n"
# Lines the loader refuses (tab indentation) must not be produced by a literal block.
_TAB_AFTER_SPACES = re.compile(r"^ *\t", re.M)
# Line breaks of YAML 1.1 besides \n: only a double-quoted string keeps them (as escapes).
_OTHER_BREAKS = ("\x85", "\u2028", "\u2029")


def _printable(ch: str) -> bool:
    """Characters a literal block may hold as they are (PyYAML's printable set, plus tab)."""
    return (
        ch in "\n\t"
        or "\x20" <= ch <= "\x7e"
        or ("\xa0" <= ch <= "\ud7ff" and ch not in _OTHER_BREAKS)
        or ("\ue000" <= ch <= "\ufffd" and ch != "\ufeff")
        or "\U00010000" <= ch <= "\U0010ffff"
    )


def _literal_safe(text: str) -> bool:
    """Whether a multi-line string reads back unchanged from a literal block."""
    return "\n" in text and all(_printable(ch) for ch in text) and not _TAB_AFTER_SPACES.search(text)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent a list under its key (`key:\\n  - a`), as SDF files are written."""
        return super().increase_indent(flow, False)

    def analyze_scalar(self, scalar: str):
        """Allow literal blocks with trailing spaces and tabs (kept verbatim there); write a
        string holding a YAML 1.1 line break other than \\n double-quoted (PyYAML would fold it)."""
        analysis = super().analyze_scalar(scalar)
        if _literal_safe(scalar):
            analysis.allow_block = True
        if any(ch in scalar for ch in _OTHER_BREAKS):
            analysis.allow_flow_plain = analysis.allow_block_plain = analysis.allow_single_quoted = analysis.allow_block = False
        return analysis


def _represent_str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _represent_str)
# YAML 1.2 numbers that YAML 1.1 reads as strings: quote them too, so SDF reads a string.
_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)
_Dumper.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^0o[0-7]+$"), ["0"])


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=_NO_WRAP)


def _header(doc: Document) -> str:
    if not isinstance(doc, UpgradedDocument):
        return ""
    lines = [f"# Upgraded from apiVersion {doc.upgraded_from} to {TARGET} by `sscc upgrade`."]
    lines += [f"# note: {note}" for note in doc.notes]
    return "\n".join(lines) + "\n"


def emit_yaml(doc: Document) -> str:
    """The document's data as YAML text that loads back to equal data."""
    data = doc.data
    if not isinstance(data, dict):
        return _header(doc) + _dump(data)
    return _header(doc) + _sections(data)


def _sections(data: dict) -> str:
    """The top-level entries, a blank line between them; but none after a block kept with `|+`
    (whose trailing blank lines are its content): PyYAML ends that one with the document end
    marker `...`, which is dropped there so the next entry continues the same document."""
    text = ""
    for key, value in data.items():
        if text.endswith(_DOCUMENT_END):
            text = text[: -len(_DOCUMENT_END) + 1]
        elif text:
            text += "\n"
        text += _dump({key: value})
    return text
