"""Is a document valid under one of our schemas? A yes/no answer without importing jsonschema.

Importing jsonschema costs more than checking a whole file, and almost every file a user
checks is valid, so `validate` asks this module first and brings in jsonschema (for its
errors, which messages.py words) only when the answer is no. The answer follows draft
2020-12 for the keywords our schemas use; a subschema with any other validation keyword is
refused when it is first compiled (KeyError) rather than judged wrongly, and subschemas are
compiled on first use (a file reaches a small part of the schema).
tests/schema/test_schema_validator.py compares the verdicts with jsonschema's and checks that
every schema sscc publishes uses only the keywords handled here.
"""

from __future__ import annotations

import re
from typing import Any, Callable

# Keywords that never change a verdict (annotations, and the vocabulary of the schema itself).
_IGNORED = {"$schema", "$id", "$defs", "title", "description", "examples", "default"}
_HANDLED = {
    "type", "enum", "const", "pattern", "minimum", "maximum", "minItems", "required", "properties",
    "additionalProperties", "items", "dependentSchemas", "if", "then", "else", "allOf", "anyOf",
    "oneOf", "not", "$ref",
}  # fmt: skip

Check = Callable[[Any], bool]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    # jsonschema counts 1.0 as an integer
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
    "number": _is_number,
    "null": lambda v: v is None,
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


class _Compiler:
    """Turns each schema node into one predicate, once (refs are resolved lazily: schemas recurse)."""

    def __init__(self, root: dict) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}
        self.memo: dict[int, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        found = self.memo.get(id(schema))
        if found is None:
            found = self.memo[id(schema)] = self._compile(schema)
        return found

    def ref(self, target: str) -> Check:
        if not target.startswith("#/$defs/"):
            raise KeyError(f"only local `#/$defs/` references are supported, not {target}")
        name = target[len("#/$defs/") :]
        found = self.refs.get(name)
        if found is None:
            sub = self.root["$defs"][name]
            found = self.refs[name] = self.lazy(sub)  # definitions refer to themselves (types nest)
        return found

    def lazy(self, schema: Any) -> Check:
        """`compile(schema)` on first use: a file touches a small part of the schema, and the
        rest need not be compiled at all."""
        cell: list[Check] = []

        def check(v: Any) -> bool:
            if not cell:
                cell.append(self.compile(schema))
            return cell[0](v)

        return check

    def _compile(self, s: dict) -> Check:
        unknown = {k for k in s if k not in _HANDLED and k not in _IGNORED and not k.startswith("x-")}
        if unknown:
            raise KeyError(f"schema keyword(s) {sorted(unknown)} not supported by the quick verdict")
        checks: list[Check] = []
        if "type" in s:
            types = [s["type"]] if isinstance(s["type"], str) else list(s["type"])
            preds = [_TYPES[t] for t in types]
            checks.append(preds[0] if len(preds) == 1 else lambda v, ps=preds: any(p(v) for p in ps))
        if "enum" in s:
            allowed = list(s["enum"])
            plain = set(a for a in allowed if isinstance(a, str))
            if len(plain) == len(allowed):
                checks.append(lambda v: isinstance(v, str) and v in plain)
            else:
                checks.append(lambda v: any(_equal(v, a) for a in allowed))
        if "const" in s:
            checks.append(lambda v, c=s["const"]: _equal(v, c))
        if "pattern" in s:
            rx = re.compile(s["pattern"])
            checks.append(lambda v: not isinstance(v, str) or rx.search(v) is not None)
        if "minimum" in s:
            checks.append(lambda v, lo=s["minimum"]: not _is_number(v) or v >= lo)
        if "maximum" in s:
            checks.append(lambda v, hi=s["maximum"]: not _is_number(v) or v <= hi)
        if "minItems" in s:
            checks.append(lambda v, n=s["minItems"]: not isinstance(v, list) or len(v) >= n)
        if "required" in s:
            keys = tuple(s["required"])
            checks.append(lambda v: not isinstance(v, dict) or all(k in v for k in keys))
        if "properties" in s or "additionalProperties" in s:
            checks.append(self._object(s))
        if "items" in s:
            item = self.compile(s["items"])
            checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
        if "dependentSchemas" in s:
            deps = {k: self.lazy(sub) for k, sub in s["dependentSchemas"].items()}
            checks.append(lambda v: not isinstance(v, dict) or all(d(v) for k, d in deps.items() if k in v))
        if "if" in s:
            cond = self.compile(s["if"])
            then = self.compile(s.get("then", True))
            other = self.compile(s.get("else", True))
            checks.append(lambda v: then(v) if cond(v) else other(v))
        if "allOf" in s:
            subs = [self.compile(x) for x in s["allOf"]]
            checks.append(lambda v: all(f(v) for f in subs))
        if "anyOf" in s:
            subs = [self.compile(x) for x in s["anyOf"]]
            checks.append(lambda v: any(f(v) for f in subs))
        if "oneOf" in s:
            subs = [self.compile(x) for x in s["oneOf"]]
            checks.append(lambda v: sum(1 for f in subs if f(v)) == 1)
        if "not" in s:
            neg = self.compile(s["not"])
            checks.append(lambda v: not neg(v))
        if "$ref" in s:
            checks.append(self.ref(s["$ref"]))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def _object(self, s: dict) -> Check:
        props = {k: self.lazy(sub) for k, sub in s.get("properties", {}).items()}
        extra_schema = s.get("additionalProperties", True)
        extra = None if extra_schema is True else self.lazy(extra_schema)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, value in v.items():
                f = props.get(key)
                if f is not None:
                    if not f(value):
                        return False
                elif extra is not None and not extra(value):
                    return False
            return True

        return check


def checker(root: dict) -> Check:
    """A predicate: does a document satisfy schema `root`? (KeyError for keywords not handled.)"""
    return _Compiler(root).compile(root)
