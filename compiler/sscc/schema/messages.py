"""jsonschema errors -> plain-words problems with a code, a place and a hint.

jsonschema says "3 is not of type 'string'"; a user should read "`duration` must be a string
like `10s`, found a number". The words come from the schema's annotations (see parts.py), so
this module knows the keywords but nothing about pipelines.

Codes (docs/errors.d/schema.md):
  E010 a required key is missing        E014 a list or mapping is empty
  E011 a value has the wrong type       E015 two keys that exclude each other
  E012 a value is not one of the allowed E016 a text value has the wrong form
  E013 no accepted form matches         E017 a number is out of range
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError, best_match, relevance

from ..diagnostics import did_you_mean, suggest
from ..load.yaml_loader import Document
from .navigate import view_at

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "`true` or `false`",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


@dataclass(frozen=True)
class Problem:
    code: str
    path: tuple
    at_key: bool  # point at the key that names `path` rather than at its value
    message: str
    hint: str | None = None


def kind_of(value: Any) -> str:
    """The YAML kind of a value, as used in x-type-hints: mapping, list, string, number, boolean, null."""
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def where(title: str | None, path: tuple) -> str:
    """'in topic', or 'at the top level' for the root."""
    if not path:
        return "at the top level"
    return f"in {title}" if title else f"in `{_last_key(path)}`"


def explain(error: ValidationError, root: dict, doc: Document) -> list[Problem]:
    """The problems one jsonschema error stands for (usually one; one per missing key for `required`)."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kw = error.validator
    if kw == "required":
        title = _title(root, error, doc)
        return [
            Problem("E010", path, True, f"missing required key `{key}` {where(title, path)}", _add_hint(key, schema))
            for key in error.validator_value
            if isinstance(error.instance, dict) and key not in error.instance
        ]
    if kw == "anyOf" and "x-missing" in schema:
        keys = schema["x-missing"]
        title = _title(root, error, doc)
        if len(keys) == 1:
            return [
                Problem(
                    "E010", path, True, f"missing required key `{keys[0]}` {where(title, path)}", f"add `{keys[0]}:`"
                )
            ]
        names = ", ".join(f"`{k}`" for k in keys[:-1]) + f" or `{keys[-1]}`"
        return [
            Problem("E010", path, True, f"missing one of the keys {names} {where(title, path)}", schema.get("x-hint"))
        ]
    if kw in ("anyOf", "oneOf"):
        if error.context:
            return explain(best_match(error.context, key=_deepest), root, doc)
        return [Problem("E013", path, False, f"{_name(path)} does not have any of the accepted forms")]
    if kw == "not" and "x-conflict" in schema:
        first, second = sorted(schema["x-conflict"], key=lambda k: doc.key_span(path + (k,)))
        if schema.get("x-alias"):
            first, second = schema["x-conflict"]
            msg = f"`{second}` is another spelling of `{first}`; the key is written twice"
            hint = f"keep only `{first}`"
        else:
            msg = f"`{first}` and `{second}` cannot be used together {where(_title(root, error, doc), path)}"
            hint = f"keep one of `{first}` and `{second}`"
        return [Problem("E015", path + (second,), True, msg, hint)]
    if kw == "type":
        return [_wrong_type(error, path, schema, doc)]
    if kw in ("enum", "const"):
        return [_not_allowed(error, path, schema)]
    if kw == "pattern":
        expect = schema.get("x-expect", f"text matching `{error.validator_value}`")
        return [
            Problem(
                "E016",
                path,
                False,
                f"{_name(path)} must be {expect}, found `{error.instance}`",
                _example_hint(path, schema),
            )
        ]
    if kw in ("minItems", "minProperties"):
        return [Problem("E014", path, True, f"{_name(path)} is empty", "add at least one item")]
    if kw in ("minimum", "maximum"):
        bound = "at least" if kw == "minimum" else "at most"
        return [
            Problem(
                "E017", path, False, f"{_name(path)} must be {bound} {error.validator_value}, found {error.instance}"
            )
        ]
    return [Problem("E013", path, False, f"{_name(path)} is not valid here: {error.message}")]


# ---------------------------------------------------------------------------- the cases


def _wrong_type(error: ValidationError, path: tuple, schema: dict, doc: Document) -> Problem:
    types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    expect = schema.get("x-expect") or " or ".join(_TYPE_WORDS[t] for t in types)
    found = kind_of(error.instance)
    hint = schema.get("x-type-hints", {}).get(found)
    if hint is None and found in ("number", "boolean") and "string" in types:
        hint = f'quote it: `{_last_key(path)}: "{_source(doc, path)}"`'
    if hint is None and found == "null":
        hint = f"write the value after `{_last_key(path)}:`, or indent its keys under it"
    found_words = {
        "mapping": "a mapping",
        "list": "a list",
        "string": "a string",
        "number": "a number",
        "boolean": f"`{_source(doc, path)}` (a boolean)",
        "null": "nothing",
    }[found]
    at_key = found in ("mapping", "list", "null")  # a container's value starts on the next line
    return Problem("E011", path, at_key, f"{_name(path)} must be {expect}, found {found_words}", hint)


def _not_allowed(error: ValidationError, path: tuple, schema: dict) -> Problem:
    allowed = error.validator_value if error.validator == "enum" else [error.validator_value]
    shown = ", ".join(f"`{a}`" for a in allowed)
    expect = schema.get("x-expect") or (shown if len(allowed) == 1 else f"one of {shown}")
    value = error.instance
    found = f"`{value}`" if isinstance(value, (str, int, float)) and not isinstance(value, bool) else kind_of(value)
    if found in ("mapping", "list", "null", "boolean"):
        found = {"mapping": "a mapping", "list": "a list", "null": "nothing", "boolean": f"`{value}`"}[found]
    hint = None
    if isinstance(value, str):
        later = schema.get("x-later-values", {})
        hint = schema.get("x-value-hints", {}).get(value)
        if hint is None and value in later:
            hint = f"`{value}` needs `apiVersion: {later[value]}` or later"
        if hint is None and suggest(value, allowed):
            hint = did_you_mean(value, allowed)
    hint = hint or schema.get("x-hint")
    return Problem("E012", path, False, f"{_name(path)} must be {expect}, found {found}", hint)


# ---------------------------------------------------------------------------- words and places


def _deepest(error: ValidationError):
    """best_match key for unannotated anyOf/oneOf: the branch that got furthest into the data wins."""
    return (len(error.absolute_path), *relevance(error))


def _last_key(path: tuple) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


def _name(path: tuple) -> str:
    if not path:
        return "the file"
    last = path[-1]
    if isinstance(last, int):
        return f"item {last + 1} of `{_last_key(path[:-1])}`"
    return f"`{last}`"


def _add_hint(key: str, schema: dict) -> str:
    sub = schema.get("properties", {}).get(key, {})
    examples = sub.get("examples")
    if examples:
        return f"add `{key}:` (for example `{key}: {examples[0]}`)"
    return f"add `{key}:`"


def _example_hint(path: tuple, schema: dict) -> str | None:
    examples = schema.get("examples")
    return f"for example `{_last_key(path)}: {examples[0]}`" if examples else None


def _source(doc: Document, path: tuple) -> str:
    """The value as written in the file (`0.1`, `yes`), for hints that quote it."""
    span = doc.span(path)
    line = doc.text.splitlines()[span.line - 1] if 0 < span.line <= doc.text.count("\n") + 1 else ""
    if span.end_line == span.line and span.end_col > span.col:
        return line[span.col - 1 : span.end_col - 1]
    return str(doc.get(path))


def _title(root: dict, error: ValidationError, doc: Document) -> str | None:
    return view_at(root, doc.data, tuple(error.absolute_path)).title
