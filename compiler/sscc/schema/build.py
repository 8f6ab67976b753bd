"""Helpers that write JSON Schema (draft 2020-12) the way all our parts do.

Besides standard keywords the parts carry annotations that validators ignore and that
`messages` and `unknown_keys` read:

  title           the noun used in messages: "unknown key `x` in topic"
  x-expect        what a value should look like, in words: "a duration like `10s`"
  x-type-hints    {found kind: hint} for a wrong value type that has a known cause
  x-value-hints   {enum value: hint} for values that are a common mistake at that place
  x-hint          the hint when an enum/const or a `one_of_keys` check fails
  x-later-values  {enum value: version} values that a later apiVersion accepts
  x-missing       on an `anyOf` of `required`s: the keys of which one must be written
  x-conflict      on a `not: {required}`: keys that cannot be written together
  x-alias         on such a `not`: the second key is an alias of the first
  x-aliases       {alias: canonical key} on an object
  x-later-keys    {key: version} keys that a later apiVersion accepts on this object
"""

from __future__ import annotations


def ref(name: str) -> dict:
    """A reference to one of the shared `$defs` (types nest, functions and topics recur)."""
    return {"$ref": f"#/$defs/{name}"}


def string(description: str | None = None, *, expect: str | None = None, pattern: str | None = None, **extra) -> dict:
    out: dict = {"type": "string", **extra}
    if pattern:
        out["pattern"] = pattern
    if expect:
        out["x-expect"] = expect
    if description:
        out["description"] = description
    return out


def duration(description: str) -> dict:
    """A humantime duration; its syntax is checked by sscc.syntax, the schema only wants text."""
    return string(
        description,
        expect="a string like `10s`",
        examples=["10s"],
        **{"x-type-hints": {"number": "write the unit too, e.g. `10s`, `500ms` or `1m`"}},
    )


def enum(values, description: str | None = None, *, hints: dict | None = None, later: dict | None = None) -> dict:
    out: dict = {"enum": list(values)}
    if description:
        out["description"] = description
    if hints:
        out["x-value-hints"] = hints
    if later:
        out["x-later-values"] = later
    return out


def list_of(item: dict, description: str | None = None, *, min_items: int = 0, **extra) -> dict:
    out: dict = {"type": "array", "items": item, **extra}
    if min_items:
        out["minItems"] = min_items
    if description:
        out["description"] = description
    return out


def map_of(value: dict, description: str | None = None, **extra) -> dict:
    """A free-form mapping (names chosen by the user: types, topics, services, ...)."""
    out: dict = {"type": "object", "additionalProperties": value, **extra}
    if description:
        out["description"] = description
    return out


def one_of_keys(*keys: str, hint: str | None = None) -> dict:
    """At least one of `keys` must be written; `x-missing` names them in the message."""
    out: dict = {"anyOf": [{"required": [k]} for k in keys], "x-missing": list(keys)}
    if hint:
        out["x-hint"] = hint
    return out


def conflict(first: str, second: str, *, alias: bool = False) -> dict:
    """The check that `first` and `second` are not both written, keyed for `dependentSchemas`.

    dependentSchemas costs nothing unless `second` is present, which keeps validation fast."""
    return {second: {"not": {"required": [first]}, "x-conflict": [first, second], "x-alias": alias}}


def obj(
    title: str,
    props: dict,
    *,
    required=(),
    aliases: dict | None = None,
    all_of=(),
    exclusive=(),
    later: dict | None = None,
    description: str | None = None,
    **extra,
) -> dict:
    """A mapping with known keys.

    `aliases` maps an alias spelling to its canonical key: the alias gets the canonical
    schema, writing both is an error, and a required canonical key may be written either way.
    `exclusive` lists pairs of keys that cannot be written together.
    Keys not listed are left open (unknown keys are warned about by unknown_keys, never errors).
    """
    props = dict(props)
    checks = list(all_of)
    required = list(required)
    dependent = {}
    for first, second in exclusive:
        dependent |= conflict(first, second)
    for alias, canonical in (aliases or {}).items():
        props[alias] = {**props[canonical], "description": f"Alias of `{canonical}`."}
        dependent |= conflict(canonical, alias, alias=True)
        if canonical in required:
            required.remove(canonical)
            checks.append({**one_of_keys(canonical, alias), "x-missing": [canonical]})
    out: dict = {"title": title, "type": "object", "properties": props}
    if description:
        out["description"] = description
    if required:
        out["required"] = required
    if len(checks) == 1:
        out.update(checks[0])
    elif checks:
        out["allOf"] = checks
    if dependent:
        out["dependentSchemas"] = dependent
    if aliases:
        out["x-aliases"] = dict(aliases)
    if later:
        out["x-later-keys"] = dict(later)
    out.update(extra)
    return out


def name_list(title: str, description: str, **more) -> dict:
    """A list of `- name: ...` items (imports of types, states, functions)."""
    return list_of(obj(title, {"name": string("Name."), **more}, required=["name"]), description)
