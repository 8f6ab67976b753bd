"""Type definitions (SDF-FORMAT.md §2): a `type:` tag or a type name, plus the tag's own keys."""

from __future__ import annotations

from .build import duration, enum, map_of, obj, ref, string
from .features import Version

TYPE_REF = ref("type")
PRIMITIVE_TAGS = (
    "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "i8", "i16", "i32", "i64",
    "float32", "float64", "f32", "f64", "bool", "string",
)  # fmt: skip
COLUMN_TAGS = PRIMITIVE_TAGS + ("timestamp",)
COMPOSITE_TAGS = ("object", "enum", "list", "option", "keyed-state", "key-value", "arrow-row")


def typed(title: str = "type definition", **props) -> dict:
    """A type definition whose `type:` must be written, plus extra keys of its place."""
    out: dict = {"title": title, **TYPE_REF, "required": ["type"]}
    if props:
        out["properties"] = props
    return out


def _when_type(tags, then: dict) -> dict:
    return {"if": {"properties": {"type": {"enum": list(tags)}}, "required": ["type"]}, "then": then}


def _serde_rename(direction: str) -> dict:
    return obj(
        f"{direction} options",
        {"rename": string(f"Name of the field or variant when {direction[:-1]}ing JSON.")},
        description=f"How this field or variant is named when {direction[:-1]}ing JSON.",
    )


def type_definition(v: Version) -> dict:
    """`type:` is a tag (SDF-FORMAT.md §2.1) or the name of another type; the tag decides the other keys.

    Tags without keys of their own (primitives, names) skip every branch with one `if`."""
    return obj(
        "type definition",
        {
            "type": {
                "type": ["string", "null"],
                "description": "A type tag (u32, string, object, enum, list, option, keyed-state, arrow-row, "
                "key-value, ...) or the name of a defined type.",
                "examples": ["string"],
            },
            "type-name": string("Name given to an inline nested composite type."),
        },
        aliases={"type_name": "type-name"},
        **_when_type(COMPOSITE_TAGS, {"allOf": _tag_keys(v)}),
        description="A type: a primitive, a composite (object, enum, list, option, ...) or a type name.",
        **{"x-type-hints": {"string": "write a type as a mapping, e.g. `{type: string}`"}},
    )


def _tag_keys(v: Version) -> list[dict]:
    """The keys each composite tag reads, as one `if type is <tag> then <keys>` each."""
    enum_keys = {
        "oneOf": map_of(variant(), "Variants: name -> payload type (or `type: null`)."),
        "tagging": enum(["externally-tagged", "untagged"], "JSON representation of the enum."),
    }
    key_value = obj(
        "key/value properties",
        {"key": typed(title="key type"), "value": typed(title="value type")},
        required=["key", "value"],
        description="The key type and the value type.",
    )
    return [
        _when_type(["object"], _needs("properties", map_of(field(), "Fields: name -> type definition."))),
        _when_type(["enum"], {"properties": enum_keys, "required": ["oneOf"]}),
        _when_type(
            ["list"],
            obj("list type", {"items": typed(title="item type")}, aliases={"item": "items"}, required=["items"]),
        ),
        _when_type(["option"], _needs("value", typed(title="value type"))),
        _when_type(["keyed-state", "key-value"], _needs("properties", key_value)),
        _when_type(["arrow-row"], _arrow_row(v)),
    ]


def _needs(key: str, schema: dict) -> dict:
    return {"properties": {key: schema}, "required": [key]}


def _arrow_row(v: Version) -> dict:
    column = obj(
        "arrow-row column",
        {
            "type": {
                **enum(COLUMN_TAGS, "A primitive column type."),
                "x-expect": "a primitive column type (`u8`...`u64`, `i8`...`i64`, `f32`, `f64`, `bool`, "
                "`string` or `timestamp`)",
            }
        },
        required=["type"],
    )
    keys = {"properties": map_of(column, "Columns of the row: name -> {type: <primitive>}.")}
    if v.has("ttl"):
        keys["ttl"] = duration("Rows not updated for this long are purged (0.6.0).")
    return obj("arrow-row type", keys, required=["properties"], later=v.later("ttl"))


def field() -> dict:
    return typed(
        title="object field",
        optional={"type": "boolean", "description": "The field may be absent (Option<T>)."},
        serialize=_serde_rename("serialize"),
        deserialize=_serde_rename("deserialize"),
    )


def variant() -> dict:
    return {
        "title": "enum variant",
        **TYPE_REF,
        "properties": {"serialize": _serde_rename("serialize"), "deserialize": _serde_rename("deserialize")},
    }


def types_map() -> dict:
    return map_of(typed(), "Named types: name -> type definition.")
