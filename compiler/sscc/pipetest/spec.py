"""A pipeline test file read into plain data, or positioned diagnostics (E240-E249).

The file is loaded by the compiler's YAML loader (positions of every node, duplicate keys and
anchors refused) and validated against schema.py with jsonschema; a schema error is reported at
the node its path names. What a record means (docs/testing.md):

    {"id": 1}  [1, 2]  42  true  null  the JSON value (its text is the record's bytes)
    "text"                              the bytes of the string as written (UTF-8)
    {key: K, value: V}                  a keyed record: exactly the keys `key` and `value`
    {value: V, timestamp: T}            (with or without `key`) a record with event time T in ms;
                                        without one a record's timestamp is the produce's wall time
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostics, SourceCache, Span
from ..load.yaml_loader import Document, load_file
from .schema import SCHEMA

NO_KEY = object()  # a record without a key (distinct from a key that is JSON null)
SUFFIX = ".test.yaml"


@dataclass(frozen=True)
class Record:
    """One input or expected record as written in the test file."""

    value: Any
    span: Span
    key: Any = NO_KEY
    timestamp: int | None = None

    @property
    def keyed(self) -> bool:
        return self.key is not NO_KEY


def as_bytes(value: Any) -> bytes:
    """A record part as bytes: a string as written, anything else as its JSON text."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Case:
    name: str
    span: Span
    index: int
    env: dict[str, str] = field(default_factory=dict)
    phases: list[dict[str, list[Record]]] = field(default_factory=list)  # produced, then run, in turn
    expect: dict[str, list[Record]] = field(default_factory=dict)
    topic_spans: dict[tuple[str, str], Span] = field(default_factory=dict)  # (input|expect, topic) -> where named
    http: bool = True


@dataclass
class TestFile:
    path: str
    pipeline: str  # the pipeline file as given, relative to the test file's directory
    pipeline_path: str  # as a path from the current directory
    pipeline_span: Span
    cases: list[Case]
    doc: Document


RECORD_FORMS = ({"key", "value"}, {"value", "timestamp"}, {"key", "value", "timestamp"})


def record(doc: Document, path: tuple, diags: Diagnostics) -> Record:
    data, span = doc.get(path), doc.span(path)
    if isinstance(data, dict) and set(data) in RECORD_FORMS:
        stamp = data.get("timestamp")
        if "timestamp" in data and (not isinstance(stamp, int) or isinstance(stamp, bool)):
            diags.error("E244", doc.span((*path, "timestamp")), f"the record's timestamp must be an integer (ms), found {_kind(stamp)}", "write the event time in milliseconds, e.g. `timestamp: 15000`")
            stamp = None
        return Record(data["value"], span, data.get("key", NO_KEY), stamp)
    return Record(data, span)


def load(path: str, diags: Diagnostics, sources: SourceCache) -> TestFile | None:
    """The test file at `path`, or None with its problems added to `diags`."""
    found = Diagnostics()
    doc = load_file(path, found)
    if doc is not None:
        sources.add(path, doc.text)
    for d in found.items:
        if d.code == "E003":  # the loader speaks of pipeline files
            what = "the file is empty" if "empty" in d.message else "the top level of a test file must be a mapping"
            diags.error("E240", d.span, what, "a test file starts with `pipeline: dataflow.yaml` and `cases:` (docs/testing.md)")
        elif d.code == "E006":  # bounded like a pipeline; the hint speaks of test files
            diags.error("E006", d.span, d.message, "a test file this large is hard to read; split its cases over several files")
        else:
            diags.extend([d])
    if doc is None:
        return None
    if not _valid(doc, diags):
        return None
    data = doc.data
    base = os.path.dirname(path)
    pipeline_path = os.path.normpath(os.path.join(base, data["pipeline"]))
    tf = TestFile(path, data["pipeline"], pipeline_path, doc.span(("pipeline",)), [], doc)
    if not os.path.isfile(pipeline_path):
        diags.error(
            "E241",
            tf.pipeline_span,
            f"pipeline file `{data['pipeline']}` not found (looked for {pipeline_path})",
            "`pipeline:` is relative to the test file's directory",
        )
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["cases"]):
        case = _case(doc, index, raw, diags)
        if case.name in seen:
            diags.error(
                "E243",
                doc.span(("cases", index, "name")),
                f"two cases are named `{case.name}`",
                f"the first is at line {doc.span(('cases', seen[case.name], 'name')).line}; names tell results apart, make them unique",
            )
        seen.setdefault(case.name, index)
        tf.cases.append(case)
    return None if diags.has_errors else tf


def _case(doc: Document, index: int, raw: dict, diags: Diagnostics) -> Case:
    at = ("cases", index)
    case = Case(raw["name"], doc.span((*at, "name")), index, http=raw.get("http", True))
    for name, value in (raw.get("env") or {}).items():
        case.env[name] = json.dumps(value) if isinstance(value, bool) else str(value)
    inputs = raw.get("input") or {}
    phases = [(inputs, (*at, "input"))] if isinstance(inputs, dict) else [(p, (*at, "input", i)) for i, p in enumerate(inputs)]
    for topics, where in phases:
        case.phases.append(_topics(doc, topics, where, case, "input", diags))
    case.expect = _topics(doc, raw["expect"], (*at, "expect"), case, "expect", diags)
    return case


def _topics(doc: Document, topics: dict, where: tuple, case: Case, role: str, diags: Diagnostics) -> dict[str, list[Record]]:
    out = {}
    for topic, records in topics.items():
        case.topic_spans.setdefault((role, topic), doc.key_span((*where, topic)))
        out[topic] = [record(doc, (*where, topic, i), diags) for i in range(len(records))]
    return out


def _valid(doc: Document, diags: Diagnostics) -> bool:
    """Schema errors as diagnostics at their nodes (the deepest error of each branch)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(SCHEMA)
    errors = list(validator.iter_errors(doc.data))
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        if error.context:  # anyOf: the branch that got furthest
            error = best_match(error.context)
        path = tuple(error.absolute_path)
        message, hint, span = _explain(error, path, doc)
        diags.error("E240", span, message, hint)
    return not errors


def _where(path: tuple) -> str:
    """`cases[0].expect.totals`"""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return f"`{text}`" if text else "the file"


def _explain(error, path: tuple, doc: Document) -> tuple[str, str | None, Span]:
    kind = error.validator
    hint = "docs/testing.md describes the test file format"
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing key `{missing}` in {_where(path)}", hint, doc.key_span(path) if path else doc.span(path)
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(f"`{k}`" for k in error.schema.get("properties", {}))
        name = extra[0] if extra else "?"
        from ..diagnostics import did_you_mean

        return (
            f"unknown key `{name}` in {_where(path)}",
            did_you_mean(name, error.schema.get("properties", {})) or f"known keys: {known}",
            doc.key_span((*path, name)),
        )
    if kind == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        noun = {"object": "a mapping", "array": "a list"}.get(want, f"a {want}")
        return f"{_where(path)} must be {noun}, found {_kind(error.instance)}", hint, doc.span(path)
    if kind == "minItems":
        return f"{_where(path)} must not be empty", hint, doc.span(path)
    if kind == "minLength":
        return f"{_where(path)} must not be empty", hint, doc.span(path)
    if kind == "pattern" and path[-1:] == ("env",) and isinstance(error.instance, str):
        return (
            f"`{error.instance}` is not an environment variable name",
            "names are letters, digits, `_`, `.` and `-`, not starting with a digit",
            doc.key_span((*path, error.instance)),
        )
    return f"{_where(path)}: {error.message}", hint, doc.span(path)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nothing (null)"
    return f"a {type(value).__name__.replace('str', 'string').replace('int', 'number').replace('float', 'number')}"


def discover(root: str) -> list[str]:
    """Every `*.test.yaml` under `root`, sorted; hidden directories (.sscc, .git, .venv) skipped."""
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
        found += [os.path.join(here, f) for f in files if f.endswith(SUFFIX)]
    return sorted(os.path.relpath(p) if not os.path.isabs(root) else p for p in found)
