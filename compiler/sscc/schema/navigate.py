"""Walk the data alongside the schema: which schemas apply to a node, which keys it may have.

Used by unknown_keys (which keys are known at a mapping) and by messages (what to call the
mapping: "topic", "window"). Follows `$ref`, `allOf`, `anyOf`/`oneOf` (every branch, so a key
known in any branch counts as known) and `if`/`then`/`else` (the branch the data selects).
The `if` conditions in our schemas only test `required` keys and `enum` values of properties,
which is all `selects` understands (tests/schema/test_published.py checks that no other form is used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


def where(title: str | None, path: tuple) -> str:
    """How messages name a mapping: 'in topic', or 'at the top level' for the root."""
    if not path:
        return "at the top level"
    if title:
        return f"in {title}"
    last = next((part for part in reversed(path) if isinstance(part, str)), "value")
    return f"in `{last}`"


def resolve(root: dict, schema: dict) -> dict:
    """The target of a local `$ref` (every ref in our schemas is `#/$defs/<name>`)."""
    return root["$defs"][schema["$ref"].rsplit("/", 1)[1]]


def selects(condition: dict, instance: Any) -> bool:
    """Whether `instance` satisfies an `if` condition (only `required` and `enum`s of properties)."""
    if not isinstance(instance, dict):
        return True  # `required` and `properties` ignore non-mappings
    if any(key not in instance for key in condition.get("required", ())):
        return False
    for key, sub in condition.get("properties", {}).items():
        if key in instance and instance[key] not in sub["enum"]:
            return False
    return True


@dataclass
class View:
    """The schemas that apply to one data node, and the `then` branches its data did not select."""

    schemas: list[dict] = field(default_factory=list)
    unselected: list[tuple[dict, dict]] = field(default_factory=list)  # (if-condition, then-branch)
    _children: dict = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return next((s["title"] for s in self.schemas if isinstance(s.get("title"), str)), None)

    @cached_property
    def free_form(self) -> bool:
        """A mapping whose keys are names chosen by the user (types, topics, `with:` ...)."""
        return any(s.get("additionalProperties", False) is not False for s in self.schemas)

    @cached_property
    def known_keys(self) -> dict[str, None]:
        return {key: None for s in self.schemas for key in s.get("properties", {})}

    def annotation(self, name: str) -> dict:
        out: dict = {}
        for s in self.schemas:
            out.update(s.get(name, {}))
        return out

    def child(self, key: Any) -> list[dict]:
        """Schemas for the value under `key` (a mapping key or a list index)."""
        if isinstance(key, int):
            key = 0  # every item of a list has the same schemas
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = self._child(key)
        return found

    def _child(self, key: Any) -> list[dict]:
        out = []
        for s in self.schemas:
            if isinstance(key, int):
                sub = s.get("items")
            else:
                sub = s.get("properties", {}).get(key, s.get("additionalProperties"))
            if isinstance(sub, dict):
                out.append(sub)
        return out


def view(root: dict, schemas: list[dict], instance: Any) -> View:
    """The view of `instance` under `schemas`, memoized per root schema: it depends on the instance
    only through the keys it has and the values of the properties that `if` conditions test."""
    memo = _MEMOS.get(id(root))
    if memo is None or memo.root is not root:
        memo = _MEMOS[id(root)] = _Memo(root)
    key = (tuple(map(id, schemas)), memo.shape(instance))
    found = memo.views.get(key)
    if found is None:
        if len(memo.views) > 50_000:  # a long-lived process sees endless shapes; start over
            memo.views.clear()
        found = memo.views[key] = View()
        for schema in schemas:
            _expand(root, schema, instance, found)
    return found


class _Memo:
    def __init__(self, root: dict) -> None:
        self.root = root  # kept so that id(root) is not reused while the memo lives
        self.tested = sorted({k for c in _conditions(root) for k in c.get("properties", {})})
        self.views: dict[tuple, View] = {}

    def shape(self, instance: Any):
        if not isinstance(instance, dict):
            return type(instance)
        tested = tuple(v if isinstance(v, str) else type(v) for v in map(instance.get, self.tested))
        return frozenset(instance), tested


_MEMOS: dict[int, _Memo] = {}


def _conditions(node: Any):
    """Every `if` condition in a schema."""
    if isinstance(node, dict):
        if isinstance(node.get("if"), dict):
            yield node["if"]
        for value in node.values():
            yield from _conditions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _conditions(value)


def _expand(root: dict, schema: dict, instance: Any, out: View) -> None:
    out.schemas.append(schema)
    if "$ref" in schema:
        _expand(root, resolve(root, schema), instance, out)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, ()):
            _expand(root, sub, instance, out)
    if "if" in schema:
        if selects(schema["if"], instance):
            if "then" in schema:
                _expand(root, schema["then"], instance, out)
        else:
            if "then" in schema:
                out.unselected.append((schema["if"], schema["then"]))
            if "else" in schema:
                _expand(root, schema["else"], instance, out)


def view_at(root: dict, data: Any, path: tuple) -> View:
    """The view of the node at `path`, found by walking down from the root."""
    schemas, node = [root], data
    for part in path:
        schemas = view(root, schemas, node).child(part)
        node = node[part]
    return view(root, schemas, node)
