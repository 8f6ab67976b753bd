"""Positioned nodes for the legacy upgrade: moving a subtree moves its positions with it.

`lift` turns a Document into a tree of `Node`s, each holding its value, the span of the value
and the span of the key it was written under. The upgrade rules then move, wrap and rename
nodes; since a node carries its own positions, "move the subtree at old path to new path with
all positions" is just re-parenting the node. `lower` turns the tree back into plain data plus
the `spans`/`key_spans` tables of a Document, keyed by the new paths:

    source: {type: topic, id: a}       lift -> move `source` node into a new `sources` list
                                       lower -> spans[("sources", 0, "id")] is still the span
                                                of `a` in the original file

A node the upgrade synthesizes (a `partition:` made from an `assign-key` step, a dependency made
from `adaptors: [http]`) is given the span of the source node it was derived from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from ..diagnostics import Diagnostics, Span
from .yaml_loader import Document, Path


@dataclass(eq=False)
class Node:
    """One YAML node: a dict of Nodes, a list of Nodes, or a scalar, plus where it was written."""

    value: Any
    span: Span
    key_span: Optional[Span] = None  # the key naming this node in the original file, if any

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> Optional["Node"]:
        """The child node at `key` of a mapping node (None for a missing key or a non-mapping)."""
        return self.value.get(key) if self.is_map else None

    def text(self, key: str) -> Optional[str]:
        """The scalar at `key` as a string, or None when absent or not a scalar."""
        child = self.get(key)
        if child is None or child.is_map or child.is_list or child.value is None:
            return None
        return str(child.value)

    def key_or_value_span(self) -> Span:
        return self.key_span or self.span


def scalar(value: Any, like: Node) -> Node:
    """A synthesized scalar placed where `like` was written."""
    return Node(value, like.span, like.key_span)


def mapping(entries: Iterable[tuple[str, Node]], like: Node, key_span: Optional[Span] = None) -> Node:
    """A synthesized mapping placed where `like` was written."""
    return Node(dict(entries), like.span, key_span if key_span is not None else like.key_span)


def sequence(items: list[Node], like: Node, key_span: Optional[Span] = None) -> Node:
    """A synthesized list placed where `like` was written."""
    return Node(list(items), like.span, key_span if key_span is not None else like.key_span)


# ---------------------------------------------------------------------------- Document <-> Node


def lift(doc: Document) -> Node:
    """The Document as a Node tree (fresh containers: the Document is not modified)."""

    def go(path: Path, value: Any) -> Node:
        if isinstance(value, dict):
            value = {k: go(path + (k,), v) for k, v in value.items()}
        elif isinstance(value, list):
            value = [go(path + (i,), v) for i, v in enumerate(value)]
        return Node(value, doc.span(path), doc.key_spans.get(path))

    return go((), doc.data)


def lower(root: Node) -> tuple[Any, dict[Path, Span], dict[Path, Span]]:
    """Plain data plus the spans of every value and of every mapping key, by new path."""
    spans: dict[Path, Span] = {}
    key_spans: dict[Path, Span] = {}

    def go(path: Path, node: Node) -> Any:
        spans[path] = node.span
        if node.is_map:
            out = {}
            for k, child in node.value.items():
                key_spans[path + (k,)] = child.key_or_value_span()
                out[k] = go(path + (k,), child)
            return out
        if node.is_list:
            return [go(path + (i,), child) for i, child in enumerate(node.value)]
        return node.value

    return go((), root), spans, key_spans


# ---------------------------------------------------------------------------- editing mappings


@dataclass
class Context:
    """What the rules share: the diagnostics, the version upgraded from, notes for the dump."""

    diags: Diagnostics
    version: str
    notes: list[str] = field(default_factory=list)

    def note(self, span: Span, text: str) -> None:
        self.notes.append(f"line {span.line}: {text}")


def replace_entry(
    owner: Node,
    old: str,
    new: Iterable[tuple[str, Node]],
    conflict: Callable[[str, Node], None],
) -> None:
    """Replace the entry `old` of a mapping node by `new` entries at the same position.

    A new key that another entry of `owner` already has is not placed: `conflict(key, node)`
    is called for it instead (the rule reports it)."""
    placed = []
    for key, node in new:
        if key != old and key in owner.value:
            conflict(key, node)
        else:
            placed.append((key, node))
    items: list[tuple[str, Node]] = []
    for key, node in owner.value.items():
        if key == old:
            items.extend(placed)
        else:
            items.append((key, node))
    owner.value = dict(items)


def add_entries(owner: Node, new: Iterable[tuple[str, Node]], conflict: Callable[[str, Node], None]) -> None:
    """Append `new` entries to a mapping node; a key it already has goes to `conflict` instead."""
    for key, node in new:
        if key in owner.value:
            conflict(key, node)
        else:
            owner.value[key] = node


def defined_twice(cx: Context, what: str) -> Callable[[str, Node], None]:
    """A `conflict` callback for replace_entry: E125 at the node that could not be placed."""

    def report(key: str, node: Node) -> None:
        cx.diags.error(
            "E125",
            node.key_or_value_span(),
            f"`{key}` is defined twice: {what}",
            f"merge the two into one `{key}:`; the upgraded file can hold only one",
        )

    return report
