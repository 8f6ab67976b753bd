"""Upgrade rules for the shape of a service: endpoints, the preview `transforms:` mapping, slots.

The preview (0.1.0 - 0.3.0) wrote a service's processing as one `transforms:` mapping whose
`steps:` list held every operator, window operators included. From 0.4.0 on, `transforms:` is a
list of stateless steps and the window operators live in named slots of `window:` and
`partition:`. These rules move each preview step into its slot; a step that has no place in the
0.5/0.6 shape is reported (E120-E123) and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..diagnostics import did_you_mean
from .upgrade_states import merge_states, states_as_map
from .upgrade_tree import Context, Node, add_entries, defined_twice, mapping, replace_entry, sequence

PREVIEW_OPERATOR_NAMES = {"group-by": "assign-key", "process": "update-state"}
PREVIEW_TRANSFORMS_KEYS = ("window", "states", "steps", "flush")
# A window-operator step moves the steps after it into the next section:
# 0 = service `transforms`, 1 = `window.transforms`, 2 = `partition.transforms`, 3 = none (terminal).
SECTION_AFTER = {"assign-timestamp": 1, "assign-key": 2, "update-state": 3}


def operator_of(step: Node) -> Optional[str]:
    """The operator a step names, in its 0.5 spelling (`group-by` -> `assign-key`, `_` -> `-`)."""
    op = step.text("operator")
    if op is None:
        return None
    op = op.replace("_", "-")
    return PREVIEW_OPERATOR_NAMES.get(op, op)


def _operator_span(step: Node):
    op = step.get("operator")
    return op.span if op is not None else step.span


def as_slot(step: Node) -> Node:
    """A step placed in a named slot; its key is where the operator was named.

    Its `operator:` entry is dropped later by `slot_operator_keys`."""
    return Node(step.value, step.span, _operator_span(step))


# ---------------------------------------------------------------------------- endpoints


def singular_endpoints(service: Node, cx: Context) -> None:
    """0.1.0/0.2.0 services had one source and at most one sink.

    Before:                                 After:
        source:                                 sources:
          type: topic                             - type: topic
          id: sentence                              id: sentence
        sink: {type: topic, id: words}          sinks:
                                                  - {type: topic, id: words}
    """
    for old, new in (("source", "sources"), ("sink", "sinks")):
        node = service.get(old)
        if node is not None:
            listed = node if node.is_list else sequence([node], node)
            replace_entry(service, old, [(new, listed)], defined_twice(cx, f"`{old}:` and `{new}:` in one service"))


def endpoint_steps(service: Node, cx: Context) -> None:
    """Per-source and per-sink `steps:` is spelled `transforms:` from 0.5.0 on.

    Before:                                 After:
        sinks:                                  sinks:
          - type: topic                           - type: topic
            id: trucks                              id: trucks
            steps:                                  transforms:
              - operator: filter-map                  - operator: filter-map
    """
    for key in ("sources", "sinks"):
        endpoints = service.get(key)
        for endpoint in endpoints.value if endpoints is not None and endpoints.is_list else []:
            if endpoint.is_map and "steps" in endpoint.value:
                conflict = defined_twice(cx, "`steps:` and `transforms:` on one source or sink")
                replace_entry(endpoint, "steps", [("transforms", endpoint.value["steps"])], conflict)


# ---------------------------------------------------------------------------- preview transforms


def preview_states(service: Node, cx: Context) -> None:
    """0.1.0/0.2.0 declared a service's states inside its `transforms:` mapping.

    Before:                                 After:
        transforms:                             states:
          states:                                 count-per-word: {type: keyed-state, ...}
            - name: count-per-word              transforms:
              type: keyed-state                   ...
          steps: [...]
    """
    transforms = service.get("transforms")
    if transforms is None or not transforms.is_map or "states" not in transforms.value:
        return
    moved = states_as_map(transforms.value.pop("states"), cx)
    existing = service.get("states")
    if existing is None:
        replace_entry(service, "transforms", [("states", moved), ("transforms", transforms)], defined_twice(cx, "states"))
    else:
        service.value["states"] = merge_states(states_as_map(existing, cx), moved, cx)


@dataclass
class Sections:
    """Where the steps of a preview `steps:` list go."""

    lists: tuple[list, list, list] = field(default_factory=lambda: ([], [], []))  # by SECTION_AFTER value
    slots: dict[str, Node] = field(default_factory=dict)  # operator -> slot node

    @property
    def service(self) -> list[Node]:
        return self.lists[0]

    @property
    def window(self) -> list[Node]:
        return self.lists[1]

    @property
    def partition(self) -> list[Node]:
        return self.lists[2]


def preview_steps(service: Node, cx: Context) -> None:
    """The preview `transforms:` mapping becomes `transforms:` + `window:` or `partition:`.

    Before:                                          After:
        transforms:                                      transforms:
          window:                                          - operator: flat-map
            tumbling: {duration: 20s}                    window:
          steps:                                           tumbling: {duration: 20s}
            - operator: flat-map                           assign-timestamp: {run: ...}
            - operator: assign-timestamp                   partition:
            - operator: assign-key    # or group-by          assign-key: {run: ...}
            - operator: update-state  # or process           update-state: {run: ...}
          flush:                                           flush: {run: ...}
            operator: aggregate
            run: ...

    Without `window:`, `assign-key` starts the service's `partition:`. Steps between
    `assign-timestamp` and `assign-key` go to `window.transforms`, steps between `assign-key`
    and `update-state` to `partition.transforms`.
    """
    transforms = service.get("transforms")
    if transforms is None or not transforms.is_map:
        return
    _unknown_preview_keys(transforms, cx)
    window, steps, flush = (transforms.get(k) for k in ("window", "steps", "flush"))
    sections = split_steps(steps.value if steps is not None and steps.is_list else [], window is not None, cx)
    partition = _partition(sections)
    entries = []
    if steps is not None and not steps.is_list:
        entries.append(("transforms", steps))  # not a list: the schema reports it where it is
    elif steps is not None and (sections.service or (window is None and partition is None)):
        entries.append(("transforms", sequence(sections.service, steps)))
    if window is not None:
        entries.append(("window", _window(window, sections, partition, flush, cx)))
    else:
        if partition is not None:
            entries.append(("partition", partition))
        if flush is not None:
            _window_operator_without_window(cx, flush.key_or_value_span(), "flush")
    replace_entry(service, "transforms", entries, defined_twice(cx, "in the preview `transforms:` mapping and at service level"))


def _unknown_preview_keys(transforms: Node, cx: Context) -> None:
    for key, node in transforms.value.items():
        if key not in PREVIEW_TRANSFORMS_KEYS:
            cx.diags.warning(
                "W020",
                node.key_or_value_span(),
                f"unknown key `{key}` in a preview `transforms:` mapping; left out of the upgraded file",
                did_you_mean(key, PREVIEW_TRANSFORMS_KEYS, "keys"),
            )


def split_steps(steps: list[Node], has_window: bool, cx: Context) -> Sections:
    """Sort preview steps into the three step lists and the window-operator slots."""
    sections = Sections()
    section = 0
    for step in steps:
        op = operator_of(step) if step.is_map else None
        if op in SECTION_AFTER:
            if _slot_allowed(step, op, section, sections, has_window, cx):
                sections.slots[op] = as_slot(step)
                section = SECTION_AFTER[op]
        elif section == 3:
            _after_update_state(cx, step)
        else:
            sections.lists[section].append(step)
    return sections


def _slot_allowed(step: Node, op: str, section: int, sections: Sections, has_window: bool, cx: Context) -> bool:
    """Whether a window-operator step can take its slot; reports E121-E123 when it cannot."""
    span = _operator_span(step)
    written = step.text("operator")
    if op in sections.slots:
        cx.diags.error(
            "E121",
            span,
            f"a second `{written}` step",
            f"a service has one `{op}`; remove this step or move it to another service",
        )
    elif op == "assign-timestamp" and not has_window:
        _window_operator_without_window(cx, span, written)
    elif op == "assign-timestamp" and section >= SECTION_AFTER["assign-key"]:
        cx.diags.error(
            "E122", span, "`assign-timestamp` after `assign-key`", "move the `assign-timestamp` step before the `assign-key` step"
        )
    elif op == "update-state" and "assign-key" not in sections.slots:
        cx.diags.error(
            "E122",
            span,
            f"`{written}` without an `assign-key` step before it",
            "state is updated per key: add an `assign-key` step before this one",
        )
    else:
        return True
    return False


def _after_update_state(cx: Context, step: Node) -> None:
    cx.diags.error(
        "E120",
        _operator_span(step),
        f"a `{step.text('operator') or 'step'}` after `update-state` cannot be upgraded",
        "`update-state` ends a partition from apiVersion 0.4.0 on; move this step before it or into another service",
    )


def _window_operator_without_window(cx: Context, span, written: str) -> None:
    cx.diags.error(
        "E123",
        span,
        f"`{written}` in a service without `window:`",
        "add a `window:` (e.g. `window: {tumbling: {duration: 20s}}`) to the service's `transforms:`, or remove it",
    )


def _partition(sections: Sections) -> Optional[Node]:
    """The `partition:` mapping of the assign-key/update-state slots (None without assign-key)."""
    assign_key = sections.slots.get("assign-key")
    if assign_key is None:
        return None
    entries = [("assign-key", assign_key)]
    if sections.partition:
        entries.append(("transforms", sequence(sections.partition, sections.partition[0], sections.partition[0].span)))
    if "update-state" in sections.slots:
        entries.append(("update-state", sections.slots["update-state"]))
    return mapping(entries, assign_key)


def _window(window: Node, sections: Sections, partition: Optional[Node], flush: Optional[Node], cx: Context) -> Node:
    """The preview `window:` (tumbling/sliding only) completed with its operators."""
    if not window.is_map:
        return window  # the schema reports the shape
    entries = []
    if "assign-timestamp" in sections.slots:
        entries.append(("assign-timestamp", sections.slots["assign-timestamp"]))
    if sections.window:
        entries.append(("transforms", sequence(sections.window, sections.window[0], sections.window[0].span)))
    if partition is not None:
        entries.append(("partition", partition))
    if flush is not None:
        entries.append(("flush", flush))
    add_entries(window, entries, defined_twice(cx, "in the preview `window:` and as a step"))
    return window


# ---------------------------------------------------------------------------- 0.4.0 partitions


def partition_update_state(service: Node, cx: Context) -> None:
    """0.4.0 (preview 7) wrote `update-state` as the last item of `partition.transforms`.

    Before:                                  After:
        partition:                               partition:
          assign-key: {run: ...}                   assign-key: {run: ...}
          transforms:                              update-state:
            - operator: update-state                 run: ...
              run: ...
    The same inside `window.partition`.
    """
    for partition in partitions_of(service):
        steps = partition.get("transforms")
        if steps is None or not steps.is_list:
            continue
        found = next((i for i, s in enumerate(steps.value) if s.is_map and operator_of(s) == "update-state"), None)
        if found is None:
            continue
        for late in steps.value[found + 1 :]:
            _after_update_state(cx, late)
        slot = as_slot(steps.value[found])
        kept = [("transforms", sequence(steps.value[:found], steps))] if found else []
        replace_entry(
            partition, "transforms", kept + [("update-state", slot)], defined_twice(cx, "as a slot and in `partition.transforms`")
        )


# ---------------------------------------------------------------------------- slots


SLOT_OPERATOR_NAMES = {
    "assign-timestamp": ("assign-timestamp",),
    "assign-key": ("assign-key",),
    "update-state": ("update-state",),
    "flush": ("flush", "aggregate"),
}


def slot_operator_keys(service: Node, cx: Context) -> None:
    """A named slot holds a function without `operator:` (it is implied by the slot).

    Before:                                  After:
        flush:                                   flush:
          operator: aggregate                      run: ...
          run: ...
    An `operator:` naming another operator is kept, for the checker to report.
    """
    for key, slot in slots_of(service):
        if slot.is_map and operator_of(slot) in SLOT_OPERATOR_NAMES[key]:
            del slot.value["operator"]


def partitions_of(service: Node) -> list[Node]:
    """The `partition:` mappings of a service (its own and its window's)."""
    window = service.get("window")
    candidates = (service.get("partition"), window.get("partition") if window is not None else None)
    return [p for p in candidates if p is not None and p.is_map]


def slots_of(service: Node) -> Iterator[tuple[str, Node]]:
    """(slot name, function node) of every named slot of a service."""
    window = service.get("window")
    for key in ("assign-timestamp", "flush"):
        node = window.get(key) if window is not None else None
        if node is not None:
            yield key, node
    for partition in partitions_of(service):
        for key in ("assign-key", "update-state"):
            node = partition.get(key)
            if node is not None:
                yield key, node


def functions_of(service: Node) -> Iterator[Node]:
    """Every function definition of an upgraded service: step items and named slots."""
    lists = [service.get("transforms")]
    for key in ("sources", "sinks"):
        endpoints = service.get(key)
        lists += [e.get("transforms") for e in (endpoints.value if endpoints is not None and endpoints.is_list else [])]
    window = service.get("window")
    lists += [window.get("transforms") if window is not None else None]
    lists += [p.get("transforms") for p in partitions_of(service)]
    for steps in lists:
        if steps is not None and steps.is_list:
            yield from (s for s in steps.value if s.is_map)
    yield from (slot for _, slot in slots_of(service) if slot.is_map)
