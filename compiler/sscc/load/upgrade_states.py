"""Upgrade rules for state declarations (services and packages).

Preview files and early 0.4.0 files list states as `- name:` items; 0.5/0.6 use a map keyed by
the state name. The preview put a service's states inside its `transforms:` mapping. The very
first files (0.1.0) called the keyed-state type `key-value`.
"""

from __future__ import annotations

from typing import Optional

from ..diagnostics import Span
from .upgrade_tree import Context, Node, mapping


def state_list(owner: Node, cx: Context) -> None:
    """A list of named states becomes a map keyed by the name (a service or a package root).

    Before:                                      After:
        states:                                      states:
          - name: count                                count:
            type: keyed-state                            type: keyed-state
            properties: {...}                            properties: {...}
          - name: plates                               plates:
            from: save-plates.plates                     from: save-plates.plates
          - from: bank.balance                         balance:
                                                         from: bank.balance
    """
    states = owner.get("states")
    if states is not None and states.is_list:
        owner.value["states"] = states_as_map(states, cx)


def states_as_map(states: Node, cx: Context) -> Node:
    """The states node as a map node (a list is converted; a map or anything else is kept)."""
    if not states.is_list:
        return states
    entries: dict[str, Node] = {}
    for item in states.value:
        named = _named_state(item, cx)
        if named is None:
            continue
        name, body = named
        if name in entries:
            _duplicate(cx, name, body.key_or_value_span())
        else:
            entries[name] = body
    return mapping(entries.items(), states)


def _named_state(item: Node, cx: Context) -> Optional[tuple[str, Node]]:
    """(name, the declaration without `name:` keyed where the name is written), or None + E124.

    A reference without a name is named after the referenced state: `from: svc.s` -> `s`."""
    if not item.is_map:
        cx.diags.error(
            "E124", item.span, "a state in a list must be a mapping with `name:`", "write `- name: <state>` and its type"
        )
        return None
    name = item.text("name")
    name_node = item.get("name")
    if name is None and item.text("from") is not None and "." in item.text("from"):
        name = item.text("from").rsplit(".", 1)[1]
        name_node = item.get("from")
    if not name:
        cx.diags.error(
            "E124",
            item.span,
            "this state has no `name:`",
            "add `name: <state>`; a reference may instead give `from: <service>.<state>`",
        )
        return None
    return name, Node({k: v for k, v in item.value.items() if k != "name"}, item.span, name_node.span)


def _duplicate(cx: Context, name: str, span: Span) -> None:
    cx.diags.error("E125", span, f"state `{name}` is defined twice", "state names must be unique within a service")


def merge_states(first: Node, second: Node, cx: Context) -> Node:
    """Two state maps (service level and preview `transforms.states`) as one; E125 on a name in both."""
    if not (first.is_map and second.is_map):
        return first
    merged = dict(first.value)
    for name, body in second.value.items():
        if name in merged:
            _duplicate(cx, name, body.key_or_value_span())
        else:
            merged[name] = body
    return mapping(merged.items(), first)


def key_value_state(owner: Node, cx: Context) -> None:
    """0.1.0 called the keyed-state type `key-value`.

    Before:                          After:
        states:                          states:
          count:                           count:
            type: key-value                  type: keyed-state
            properties: {...}                properties: {...}
    """
    states = owner.get("states")
    if states is None or not states.is_map:
        return
    for body in states.value.values():
        tag = body.get("type")
        if tag is not None and tag.value == "key-value":
            tag.value = "keyed-state"
