"""The legacy front end: older dataflow and package shapes -> the 0.6.0 shape.

    load -> detect -> [schema of 0.4.0+] -> upgrade -> build_ast (reads 0.5/0.6 shapes only)

`upgrade` returns a new Document whose data has the 0.6.0 shape and whose positions point at
where each node was written in the original file, so every later diagnostic lands on the user's
real line. The rules are plain functions over positioned nodes (`upgrade_tree.Node`), applied
in order; each handles one shape difference and says so, with a before/after, in its docstring.
They are chosen by shape, not by version, except where one shape meant different things
(0.1.0's flush argument). What cannot be mapped is a diagnostic (E120-E127, W020), never an
exception. docs/upgrade.md lists every rule.

0.5.0 and 0.6.0 (and anything not legacy) are returned as they are: aliases are the AST
builder's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Diagnostics
from .upgrade_functions import adaptors, aggregate_argument
from .upgrade_services import (
    endpoint_steps,
    partition_update_state,
    preview_states,
    preview_steps,
    singular_endpoints,
    slot_operator_keys,
)
from .upgrade_states import key_value_state, state_list
from .detect import LEGACY, needs_upgrade  # noqa: F401 - kept here too: the upgrade's own table
from .upgrade_tree import Context, Node, lift, lower, scalar
from .yaml_loader import Document

TARGET = "0.6.0"

SERVICE_RULES = (
    singular_endpoints,  # source:/sink: -> sources:/sinks: lists
    endpoint_steps,  # sources[]/sinks[] steps: -> transforms:
    preview_states,  # transforms.states -> service states
    preview_steps,  # transforms: {window, steps, flush} -> transforms list + window/partition slots
    state_list,  # states: [- name: s] -> states: {s: ...}
    key_value_state,  # state type key-value -> keyed-state
    partition_update_state,  # partition.transforms [.., update-state] -> partition.update-state
    slot_operator_keys,  # no `operator:` inside named slots
    adaptors,  # adaptors/capabilities: [http] -> dependencies
    aggregate_argument,  # 0.1.0 flush(state) -> flush() reading the state
)
PACKAGE_RULES = (state_list, key_value_state)


@dataclass
class UpgradedDocument(Document):
    """A Document upgraded to the 0.6.0 shape (same path and text; positions into that text)."""

    upgraded_from: str = ""
    notes: list[str] = field(default_factory=list)  # what changed beyond the shape, for `sscc upgrade`


def upgrade(doc: Document, kind: str, api_version: str, diags: Diagnostics) -> Document:
    """The document in the 0.6.0 shape (a new Document), or `doc` itself when it needs no upgrade."""
    if not needs_upgrade(kind, api_version) or not isinstance(doc.data, dict):
        return doc
    cx = Context(diags, api_version)
    root = lift(doc)
    _target_version(root)
    if kind == "dataflow":
        for service in _services(root):
            for rule in SERVICE_RULES:
                rule(service, cx)
    else:
        for rule in PACKAGE_RULES:
            rule(root, cx)
    data, spans, key_spans = lower(root)
    return UpgradedDocument(doc.path, doc.text, data, spans, key_spans, upgraded_from=api_version, notes=cx.notes)


def _target_version(root: Node) -> None:
    """`apiVersion: 0.6.0`, at the position of the version written."""
    old = root.get("apiVersion")
    if old is not None:
        root.value["apiVersion"] = scalar(TARGET, old)
    else:
        root.value = {"apiVersion": Node(TARGET, root.span, root.span), **root.value}


def _services(root: Node) -> list[Node]:
    services = root.get("services")
    return [s for s in services.value.values() if s.is_map] if services is not None and services.is_map else []
