"""Services and what they are made of: functions, steps, partitions, windows, states (SDF-FORMAT.md §4)."""

from __future__ import annotations

from .build import duration, enum, list_of, map_of, name_list, obj, one_of_keys, ref, string
from .features import Version
from .typedefs import typed

FUNCTION_REF = ref("function")
STEP_REF = ref("step")
STATE_REF = ref("state")
STEP_OPERATORS = ("map", "filter", "filter-map", "flat-map")

_SLOT_HINTS = {
    "assign-key": "`assign-key` is not a step; write it as the `assign-key:` key of `partition:`",
    "update-state": "`update-state` is not a step; write it as the `update-state:` key of `partition:`",
    "assign-timestamp": "`assign-timestamp` is not a step; write it as the `assign-timestamp:` key of `window:`",
    "flush": "`flush` is not a step; write it as the `flush:` key of `window:`",
    "aggregate": "`aggregate` is not a step; write it as the `flush:` key of `window:`",
}


def dependency() -> dict:
    return obj(
        "dependency",
        {
            "name": string("Crate name."),
            "version": string("Crate version requirement.", examples=["1.0"]),
            "path": string("Local path of the crate."),
            "git": string("Git URL of the crate."),
            "branch": string("Git branch."),
            "rev": string("Git revision."),
            "tag": string("Git tag."),
            "default_features": {"type": "boolean", "description": "Enable the crate's default features."},
            "features": list_of(string(), "Crate features to enable."),
        },
        required=["name"],
        all_of=[
            one_of_keys("version", "path", "git", hint="say where the crate comes from: `version:`, `path:` or `git:`")
        ],
        description="A Rust crate the inline code uses.",
    )


def function(v: Version, *, uses: bool = True) -> dict:
    """A function: inline code (`run:`) or an imported/declared one (`uses:` + signature).

    In a package the function's name is its map key, so `uses:` is neither needed nor known.
    """
    param = {"optional": {"type": "boolean", "description": "The value may be absent."}}
    props: dict = {
        "run": string("Inline source of one function (Rust `fn`; Python `def` is an sscc extension)."),
        "lang": enum(["rust", "python"], "Language of `run:`; `python` is an sscc extension."),
        "states": name_list("state import", "States the function reads or writes."),
        "dependencies": list_of(dependency(), "Crates the inline code uses."),
        "inputs": list_of(
            typed(
                title="input",
                name=string("Parameter name."),
                kind=enum(["key", "value"], "Whether the parameter is the record key or value."),
                **param,
            ),
            "Parameters of a declared function.",
        ),
        "output": typed(
            title="output", list={"type": "boolean", "description": "The function returns a list."}, **param
        ),
    }
    checks = []
    if uses:
        props["uses"] = string("Name (or alias) of an imported function.")
        checks.append(
            one_of_keys("run", "uses", hint="write `run:` with inline code, or `uses:` naming an imported function")
        )
    if v.has("with"):
        props["with"] = map_of(string(), "Parameters passed to an imported function (0.6.0).")
    return obj(
        "function",
        props,
        all_of=checks,
        later=v.later("with"),
        description="Inline code (`run:`) or an imported function (`uses:`).",
    )


def step(operators=STEP_OPERATORS) -> dict:
    return {
        "title": "transform step",
        "description": "An operator (`operator: map|filter|filter-map|flat-map`) and its function.",
        **FUNCTION_REF,
        "properties": {"operator": enum(operators, "The operator kind.", hints=_SLOT_HINTS)},
        "required": ["operator"],
    }


def steps(description: str = "Operators run in order.") -> dict:
    return list_of(STEP_REF, description)


def io_ref(v: Version, noun: str) -> dict:
    kinds = ["topic", "schedule"] if v.has("schedule") else ["topic"]
    return obj(
        noun,
        {
            "type": enum(kinds, f"What the {noun} is.", later=v.later("schedule")),
            "id": string("Id of a topic under `topics:` (or of an event under `schedule:`)."),
            "transforms": steps(f"Operators applied to records of this {noun}."),
        },
        aliases={"steps": "transforms"},
        required=["type", "id"],
        description=f"A {noun}: `{{type: topic, id: <topic-id>, transforms: [...]}}`.",
    )


def partition(v: Version) -> dict:
    transforms = (
        list_of(step(STEP_OPERATORS + ("update-state",)), "Operators run per key, in order.")
        if v.has("update-state-step")
        else steps("Operators run per key, in order.")
    )
    return obj(
        "partition",
        {
            "assign-key": {**FUNCTION_REF, "description": "Function giving each record its key."},
            "transforms": transforms,
            "update-state": {**FUNCTION_REF, "description": "Function updating the keyed state (runs last)."},
        },
        aliases={"assign_key": "assign-key", "update_state": "update-state"},
        required=["assign-key"],
        description="Per-key processing: assign-key, then transforms and/or update-state.",
    )


def window(v: Version) -> dict:
    return obj(
        "window",
        {
            "tumbling": obj(
                "tumbling window",
                {"duration": duration("Window length."), "offset": duration("Shift of the window start.")},
                required=["duration"],
                description="Fixed, non-overlapping windows.",
            ),
            "sliding": obj(
                "sliding window",
                {
                    "duration": duration("Window length."),
                    "slide": duration("Distance between window starts."),
                    "offset": duration("Shift of the window start."),
                },
                required=["duration", "slide"],
                description="Overlapping windows.",
            ),
            "watermark": obj(
                "watermark",
                {
                    "idleness": duration("Advance the watermark after this long without records."),
                    "grace-period": duration("How long after its end a window still accepts late records."),
                },
                aliases={"grace_period": "grace-period"},
                description="Event-time progress: idleness and grace period.",
            ),
            "assign-timestamp": {**FUNCTION_REF, "description": "Function giving each record its event time (ms)."},
            "transforms": steps("Operators run after timestamping."),
            "partition": partition(v),
            "flush": {**FUNCTION_REF, "description": "Function emitting the window's result when it closes."},
        },
        aliases={"assign_timestamp": "assign-timestamp"},
        required=["assign-timestamp"],
        all_of=[
            one_of_keys(
                "tumbling", "sliding", hint="add `tumbling: {duration: 10s}` or `sliding: {duration: 10s, slide: 5s}`"
            )
        ],
        exclusive=[("tumbling", "sliding")],
        description="Event-time window: tumbling or sliding, assign-timestamp, partition, flush.",
    )


def keyed_state() -> dict:
    return typed(
        title="state",
        type={
            "const": "keyed-state",
            "description": "State definitions are `type: keyed-state` with key and value properties.",
            "x-hint": "a state is `type: keyed-state` with `properties: {key: {type: string}, value: {type: u32}}`",
        },
    )


def state() -> dict:
    """A state of a service: a reference `{from: svc.state}`, a system state, or a keyed-state definition."""
    return {
        "title": "state",
        "type": "object",
        "description": "A keyed-state definition or a reference `{from: <service>.<state>}`.",
        "if": {"required": ["from"]},
        "then": {
            "title": "state reference",
            "properties": {
                "from": string(
                    "The owner's state: `<service>.<state>`.",
                    expect="a reference like `service.state`",
                    pattern=r"^[^.\s]+\.[^.\s]+$",
                )
            },
        },
        "else": {
            "if": {"required": ["system"]},
            "then": {"title": "system state", "properties": {"system": string("Name of a system state.")}},
            "else": keyed_state(),
        },
    }


def states(v: Version) -> dict:
    by_name = map_of(STATE_REF, "States: name -> definition or `{from: <service>.<state>}`.")
    if not v.has("states-list"):
        return {
            **by_name,
            "x-type-hints": {
                "list": "the list form (`- name: ...`) is apiVersion 0.4.0; "
                "write states as a mapping `name: {type: keyed-state, ...}`"
            },
        }
    named = {
        "title": "state",
        **STATE_REF,
        "properties": {"name": string("State name.")},
        "if": {"required": ["from"]},
        "else": {"required": ["name"]},
    }
    return {
        **by_name,
        "type": ["object", "array"],
        "items": named,
        "description": "States: a mapping name -> definition, or (0.4.0) a list of `- name:` items.",
    }


def service(v: Version) -> dict:
    return obj(
        "service",
        {
            "sources": list_of(io_ref(v, "source"), "Where records come from; several sources merge.", min_items=1),
            "sinks": list_of(io_ref(v, "sink"), "Where records go; every record is offered to every sink."),
            "transforms": steps("Operators run in order after the sources' own transforms."),
            "states": states(v),
            "partition": partition(v),
            "window": window(v),
        },
        required=["sources"],
        exclusive=[("window", "partition")],
        description="A service: sources -> transforms -> partition or window -> sinks.",
    )
