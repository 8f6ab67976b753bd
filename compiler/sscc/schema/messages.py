"""jsonschema errors -> plain-words problems with a code, a place and a hint.

jsonschema says "3 is not of type 'string'"; a user should read "`duration` must be a string
like `10s`, found a number". The words come from the schema's annotations (see build.py), so
this module knows JSON Schema keywords but nothing about pipelines.

  E010 a required key is missing          E014 a list is empty
  E011 a value has the wrong type         E015 two keys that exclude each other
  E012 a value is not one of the allowed  E016 a text value has the wrong form
  E013 the value has none of the forms    E017 a number is out of range
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..diagnostics import did_you_mean, suggest
from ..load.yaml_loader import Document
from .navigate import view_at, where

if TYPE_CHECKING:  # jsonschema is imported only once a document is found invalid (validate.py)
    from jsonschema.exceptions import ValidationError

_TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "`true` or `false`",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


_KIND_WORDS = {
    "mapping": "a mapping",
    "list": "a list",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
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


def explain(error: ValidationError, root: dict, doc: Document) -> list[Problem]:
    """The problems one jsonschema error stands for (usually one; one per missing key for `required`)."""
    case = _Case(error, root, doc)
    handler = _HANDLERS.get(error.validator, _Case.other)
    return handler(case)


class _Case:
    """One error and what the handlers need to word it."""

    def __init__(self, error: ValidationError, root: dict, doc: Document) -> None:
        self.error, self.root, self.doc = error, root, doc
        self.path = tuple(error.absolute_path)
        self.schema = error.schema if isinstance(error.schema, dict) else {}
        self.name = _name(self.path)

    @property
    def where(self) -> str:
        return where(view_at(self.root, self.doc.data, self.path).title, self.path)

    def problem(self, code: str, message: str, hint: str | None = None, *, at_key: bool = False, path=None) -> Problem:
        return Problem(code, self.path if path is None else path, at_key, message, hint)

    def source(self) -> str:
        """The value as written in the file (`0.1`, `yes`), for messages and hints that quote it."""
        span = self.doc.span(self.path)
        lines = self.doc.text.splitlines()
        if span.end_line == span.line and span.end_col > span.col and 0 < span.line <= len(lines):
            return lines[span.line - 1][span.col - 1 : span.end_col - 1]
        return str(self.error.instance)

    # ------------------------------------------------------------------------ one per keyword

    def required(self) -> list[Problem]:
        missing = [
            k
            for k in self.error.validator_value
            if isinstance(self.error.instance, dict) and k not in self.error.instance
        ]
        return [
            self.problem("E010", f"missing required key `{k}` {self.where}", self._add(k), at_key=True) for k in missing
        ]

    def any_of(self) -> list[Problem]:
        keys = self.schema.get("x-missing")
        if keys and len(keys) == 1:
            return [
                self.problem("E010", f"missing required key `{keys[0]}` {self.where}", f"add `{keys[0]}:`", at_key=True)
            ]
        if keys:
            names = ", ".join(f"`{k}`" for k in keys[:-1]) + f" or `{keys[-1]}`"
            return [
                self.problem(
                    "E010", f"missing one of the keys {names} {self.where}", self.schema.get("x-hint"), at_key=True
                )
            ]
        from jsonschema.exceptions import best_match

        best = best_match([self.error])  # jsonschema's pick: the branch that got deepest
        if best is not self.error:
            return explain(best, self.root, self.doc)
        return [self.problem("E013", f"{self.name} has none of the accepted forms")]

    def not_(self) -> list[Problem]:
        if "x-conflict" not in self.schema:
            return self.other()
        first, second = self.schema["x-conflict"]
        if self.schema.get("x-alias"):
            message = f"`{second}` is another spelling of `{first}`; the key is written twice"
            hint = f"keep only `{first}`"
        else:
            first, second = sorted((first, second), key=lambda k: self.doc.key_span(self.path + (k,)))
            message = f"`{first}` and `{second}` cannot be used together {self.where}"
            hint = f"keep one of `{first}` and `{second}`"
        return [self.problem("E015", message, hint, at_key=True, path=self.path + (second,))]

    def type(self) -> list[Problem]:
        wanted = self.error.validator_value
        types = wanted if isinstance(wanted, list) else [wanted]
        expect = self.schema.get("x-expect") or " or ".join(_TYPE_WORDS[t] for t in types)
        found = kind_of(self.error.instance)
        key = _last_key(self.path)
        hint = self.schema.get("x-type-hints", {}).get(found)
        if hint is None and found in ("number", "boolean") and "string" in types:
            hint = f'quote it: `{key}: "{self.source()}"`'
        if hint is None and found == "null":
            hint = f"write the value after `{key}:`, or indent its keys under it"
        shown = f"`{self.source()}`" if found == "boolean" else _KIND_WORDS[found]
        at_key = found in ("mapping", "list", "null")  # a container's value starts on another line
        return [self.problem("E011", f"{self.name} must be {expect}, found {shown}", hint, at_key=at_key)]

    def enum(self) -> list[Problem]:
        allowed = self.error.validator_value if self.error.validator == "enum" else [self.error.validator_value]
        listed = ", ".join(f"`{a}`" for a in allowed)
        expect = self.schema.get("x-expect") or (listed if len(allowed) == 1 else f"one of {listed}")
        value = self.error.instance
        kind = kind_of(value)
        found = f"`{self.source()}`" if kind in ("string", "number", "boolean") else _KIND_WORDS[kind]
        return [self.problem("E012", f"{self.name} must be {expect}, found {found}", self._enum_hint(value, allowed))]

    def pattern(self) -> list[Problem]:
        expect = self.schema.get("x-expect", f"text matching `{self.error.validator_value}`")
        examples = self.schema.get("examples")
        hint = f"for example `{_last_key(self.path)}: {_yaml(examples[0])}`" if examples else None
        return [self.problem("E016", f"{self.name} must be {expect}, found `{self.error.instance}`", hint)]

    def min_items(self) -> list[Problem]:
        return [self.problem("E014", f"{self.name} is empty", "add at least one item", at_key=True)]

    def bound(self) -> list[Problem]:
        word = "at least" if self.error.validator == "minimum" else "at most"
        message = f"{self.name} must be {word} {self.error.validator_value}, found {self.error.instance}"
        return [self.problem("E017", message)]

    def other(self) -> list[Problem]:
        """A keyword our schemas do not use today; jsonschema's own words are better than nothing."""
        return [self.problem("E013", f"{self.name} is not valid here: {self.error.message}")]

    # ------------------------------------------------------------------------ hints

    def _add(self, key: str) -> str:
        examples = self.schema.get("properties", {}).get(key, {}).get("examples")
        return f"add `{key}:` (for example `{key}: {_yaml(examples[0])}`)" if examples else f"add `{key}:`"

    def _enum_hint(self, value: Any, allowed: list) -> str | None:
        if isinstance(value, str):
            if value in self.schema.get("x-value-hints", {}):
                return self.schema["x-value-hints"][value]
            later = self.schema.get("x-later-values", {})
            if value in later:
                return f"`{value}` needs `apiVersion: {later[value]}` or later"
            if suggest(value, allowed):
                return did_you_mean(value, allowed)
        return self.schema.get("x-hint")


_HANDLERS = {
    "required": _Case.required,
    "anyOf": _Case.any_of,
    "oneOf": _Case.any_of,
    "not": _Case.not_,
    "type": _Case.type,
    "enum": _Case.enum,
    "const": _Case.enum,
    "pattern": _Case.pattern,
    "minItems": _Case.min_items,
    "minimum": _Case.bound,
    "maximum": _Case.bound,
}


def _yaml(value: str) -> str:
    """A string as it can be written in YAML: plain when safe, else double-quoted."""
    return value if re.fullmatch(r"[\w./@-]+", value) else json.dumps(value)


def _last_key(path: tuple) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


def _name(path: tuple) -> str:
    if not path:
        return "the file"
    last = path[-1]
    return f"item {last + 1} of `{_last_key(path[:-1])}`" if isinstance(last, int) else f"`{last}`"
