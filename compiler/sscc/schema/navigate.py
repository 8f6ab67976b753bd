"""Walk the data alongside the schema: which schemas apply to a node, which keys it may have.

Used by unknown_keys (which keys are known at a mapping) and by messages (what to call the
mapping: "topic", "window"). Follows `$ref`, `allOf`, `anyOf`/`oneOf` (every branch, so a key
known in any branch counts as known) and `if`/`then`/`else` (the branch the data selects).
The `if` conditions in our schemas only test `required` keys and `enum` values of properties,
which is all `selects` understands (test_schema checks that no other form is used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

    @property
    def title(self) -> str | None:
        return next((s["title"] for s in self.schemas if isinstance(s.get("title"), str)), None)

    @property
    def free_form(self) -> bool:
        """A mapping whose keys are names chosen by the user (types, topics, `with:` ...)."""
        return any(s.get("additionalProperties", False) is not False for s in self.schemas)

    def known_keys(self) -> dict[str, None]:
        return {key: None for s in self.schemas for key in s.get("properties", {})}

    def annotation(self, name: str) -> dict:
        out: dict = {}
        for s in self.schemas:
            out.update(s.get(name, {}))
        return out

    def child(self, key: Any) -> list[dict]:
        """Schemas for the value under `key` (a mapping key or a list index)."""
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
    out = View()
    for schema in schemas:
        _expand(root, schema, instance, out)
    return out


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
