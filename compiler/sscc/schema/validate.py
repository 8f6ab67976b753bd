"""Validate a Document against the schema of its kind and apiVersion.

Validators are built once per schema and kept. jsonschema spends most of its time creating a
child validator for every node it descends into, so the validator class used here skips the
descents whose outcome is plain: a scalar that satisfies a leaf schema (`type`, `enum`,
`pattern`, bounds), a small mapping of scalars already found valid under the same schema, an
`if` decided by `navigate.selects` (and `allOf` items that are such an `if` the data does not
select), an `anyOf` of `required`s decided by looking at the keys, and a bare `$ref` looked up
in a dict. Whatever is not plainly valid is descended into as usual, so every error still comes
from jsonschema itself (tests/schema/test_validator.py compares the verdicts with a plain
Draft202012Validator). The corpus validates about five times faster than with the plain one.

jsonschema is imported only when verdict.py says a document is not valid: importing it costs
more than checking a whole valid file, and a valid file needs no error messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

from ..diagnostics import Diagnostics
from ..load.yaml_loader import Document
from .navigate import selects
from .verdict import checker
from .versions import schema_for

if TYPE_CHECKING:
    from .messages import Problem

_ANNOTATIONS = {"title", "description", "examples"}
_PY_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}


def _quick_check(schema: Any) -> Callable[[Any], bool] | None:
    """A predicate that says yes only when `schema` surely accepts a value, or None if the schema
    is not a plain leaf (then jsonschema is asked every time)."""
    if not isinstance(schema, dict):
        return None
    keywords = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if not keywords or not keywords <= {"type", "enum", "const", "pattern", "minimum", "maximum"}:
        return None
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if any(t not in _PY_TYPES for t in types):
        return None
    checks = [lambda v, ts=[_PY_TYPES[t] for t in types]: any(f(v) for f in ts)] if types else []
    if "enum" in schema:
        allowed = schema["enum"]
        checks.append(lambda v: isinstance(v, str) and v in allowed)
    if "const" in schema:
        checks.append(lambda v, c=schema["const"]: isinstance(v, str) and v == c)
    if "pattern" in schema:
        checks.append(lambda v, rx=re.compile(schema["pattern"]): isinstance(v, str) and rx.search(v) is not None)
    if "minimum" in schema:
        checks.append(lambda v, lo=schema["minimum"]: _PY_TYPES["number"](v) and v >= lo)
    if "maximum" in schema:
        checks.append(lambda v, hi=schema["maximum"]: _PY_TYPES["number"](v) and v <= hi)
    return lambda v: all(c(v) for c in checks)


class _Quick:
    """Answers "surely valid?" without jsonschema: a leaf predicate per schema, and a memo of
    small flat mappings already found valid (`{type: string}` appears thousands of times).
    Keyed by schema id; the schemas live as long as the validator that owns this object."""

    def __init__(self) -> None:
        self._leaf: dict[int, tuple[Any, Callable | None]] = {}
        self._valid: set[tuple] = set()

    def ok(self, schema: Any, value: Any) -> bool:
        if isinstance(value, dict):
            return _flat_key(schema, value) in self._valid
        entry = self._leaf.get(id(schema))
        if entry is None:
            entry = self._leaf[id(schema)] = (schema, _quick_check(schema))
        check = entry[1]
        return check is not None and check(value)

    def remember(self, schema: Any, value: Any) -> None:
        key = _flat_key(schema, value)
        if key is not None:
            if len(self._valid) > 100_000:  # a long-lived process sees endless values; start over
                self._valid.clear()
            self._valid.add(key)


def _flat_key(schema: Any, value: Any) -> tuple | None:
    """A key for a small mapping of scalars; the value's class is part of it since True == 1."""
    if not isinstance(value, dict) or len(value) > 4:
        return None
    items = []
    for k, v in value.items():
        if v is not None and not isinstance(v, (str, int, float)):
            return None
        items.append((k, v.__class__, v))
    return (id(schema), frozenset(items))


def _validator_class(root: dict):
    from jsonschema import Draft202012Validator, validators

    _BASE = Draft202012Validator.VALIDATORS
    quick = _Quick()
    refs = {f"#/$defs/{name}": sub for name, sub in root["$defs"].items()}

    def target(sub: Any) -> Any:
        """A schema that is only a local `$ref` (plus annotations) stands for its target."""
        if isinstance(sub, dict) and sub.get("$ref") in refs and all(k in _ANNOTATIONS or k == "$ref" for k in sub):
            return refs[sub["$ref"]]
        return sub

    def check(validator, value, sub, **where):
        if quick.ok(sub, value):
            return
        errors = list(validator.descend(value, target(sub), **where))
        if not errors:
            quick.remember(sub, value)
        yield from errors

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for key, sub in props.items():
                if key in instance:
                    yield from check(validator, instance[key], sub, path=key, schema_path=key)

    def additional_properties(validator, extra, instance, schema):
        if not isinstance(extra, dict) or "patternProperties" in schema:
            yield from _BASE["additionalProperties"](validator, extra, instance, schema)
        elif isinstance(instance, dict):
            known = schema.get("properties", {})
            for key, value in instance.items():
                if key not in known:
                    yield from check(validator, value, extra, path=key)

    def items(validator, item, instance, schema):
        if not isinstance(item, dict) or "prefixItems" in schema:
            yield from _BASE["items"](validator, item, instance, schema)
        elif isinstance(instance, list):
            for index, value in enumerate(instance):
                yield from check(validator, value, item, path=index)

    def ref(validator, ref, instance, schema):
        if ref in refs:
            yield from validator.descend(instance, refs[ref])
        else:
            yield from _BASE["$ref"](validator, ref, instance, schema)

    def if_(validator, condition, instance, schema):
        branch = "then" if selects(condition, instance) else "else"
        if branch in schema:
            yield from validator.descend(instance, schema[branch], schema_path=branch)

    def all_of(validator, subs, instance, schema):
        """An `if`/`then` whose condition the data does not meet has nothing to check."""
        for index, sub in enumerate(subs):
            if not (sub.keys() == {"if", "then"} and not selects(sub["if"], instance)):
                yield from validator.descend(instance, sub, schema_path=index)

    def any_of(validator, branches, instance, schema):
        """`anyOf` of single `required`s (one_of_keys) is answered by looking at the keys."""
        keys = [b["required"][0] for b in branches if b.keys() == {"required"} and len(b["required"]) == 1]
        if len(keys) == len(branches) and (not isinstance(instance, dict) or any(k in instance for k in keys)):
            return
        yield from _BASE["anyOf"](validator, branches, instance, schema)

    return validators.extend(
        Draft202012Validator,
        {
            "properties": properties,
            "additionalProperties": additional_properties,
            "items": items,
            "$ref": ref,
            "if": if_,
            "allOf": all_of,
            "anyOf": any_of,
        },
    )


@lru_cache(maxsize=None)
def root_schema(kind: str, api_version: str) -> dict:
    """The one shared copy of a schema that validators and navigate's memos are keyed on."""
    return schema_for(kind, api_version)


@lru_cache(maxsize=None)
def validator_for(kind: str, api_version: str):
    """The compiled jsonschema validator of one schema (built on first use, then reused)."""
    root = root_schema(kind, api_version)
    return _validator_class(root)(root)


@lru_cache(maxsize=None)
def verdict_for(kind: str, api_version: str):
    """A predicate: is a document valid under this schema (see verdict.py)?"""
    return checker(root_schema(kind, api_version))


def schema_problems(doc: Document, kind: str, api_version: str) -> list[Problem]:
    """Every schema problem of `doc`, one per distinct message, in document order of discovery."""
    if verdict_for(kind, api_version)(doc.data):
        return []
    from .messages import explain  # wording errors: only for an invalid file

    validator = validator_for(kind, api_version)
    seen: dict[tuple, Problem] = {}
    for error in validator.iter_errors(doc.data):
        for problem in explain(error, validator.schema, doc):
            seen.setdefault((problem.code, problem.path, problem.message), problem)
    return list(seen.values())


def report(doc: Document, problems: list[Problem], diags: Diagnostics) -> None:
    for p in problems:
        span = doc.key_span(p.path) if p.at_key else doc.span(p.path)
        diags.error(p.code, span, p.message, p.hint)
