"""Values of SDF pipeline types, written independently of the Rust backend.

Used by scripts/corpus_sweep.py and the tests of tests/corpus_run/: `samples(t, types)` gives JSON
values that fit an IR type (edges of every integer width, floats, unicode and empty strings,
optional fields present/absent/null, every enum variant, empty and non-empty lists), and
`conforms(v, t, types)` says whether a decoded JSON document is a value of the type as SDF
serializes it (serde defaults: snake_case field names, UpperCamelCase externally tagged variants,
`serialize.rename` on output, `deserialize.rename` on input).
"""

from __future__ import annotations

import re

INT_RANGES = {
    "u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
    "i8": (-(2**7), 2**7 - 1), "i16": (-(2**15), 2**15 - 1), "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
}  # fmt: skip
ALIASES = {"s8": "i8", "s16": "i16", "s32": "i32", "s64": "i64", "float32": "f32", "float64": "f64",
           "String": "string", "str": "string", "timestamp": "i64"}  # fmt: skip
EXTRA: list[str] = []  # per pipeline: string literals of its code (sweep_lib.code_literals)
STRINGS = ["", "hello world", "  padded  ", "ünïcödé ✓ 日本語", "emoji 🦀", 'quote " and \\ backslash', "a,b;c"]


def prim_name(name: str) -> str:
    return ALIASES.get(name, name)


def kebab(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name)  # an acronym ends before a word (heck)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name).replace("_", "-")
    return name.lower()


def json_field(name: str) -> str:
    """serde's default name of a YAML field: its snake_case form."""
    return kebab(name).replace("-", "_")


def variant_name(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in kebab(name).split("-") if p)


def resolve(t, types: dict):
    seen = 0
    while t.kind == "ref" and seen < 50:
        t = types[t.name]
        seen += 1
    return t


def int_samples(name: str) -> list[int]:
    lo, hi = INT_RANGES[name]
    out = [0, 1, hi, hi - 1, lo]
    if hi > 2**53:
        out += [2**53 + 1]
    if lo < 0:
        out += [-1, lo + 1]
    return sorted(set(out), key=out.index)


def samples(t, types: dict, depth: int = 0, direction: str = "de") -> list:
    """JSON values of type `t` (field names as a producer writes them: deserialize renames)."""
    t = resolve(t, types)
    k = t.kind
    if k == "prim":
        n = prim_name(t.name)
        if n in INT_RANGES:
            return int_samples(n)
        if n in ("f32", "f64"):
            return [0.0, 1.5, -2.25, 1e-7, 123456.75] + ([1e300] if n == "f64" else [3.0e38])
        if n == "bool":
            return [True, False]
        if n == "string":
            return list(STRINGS) + EXTRA
        if n == "bytes":
            return [[], [0, 255, 7]]
        return []
    if k == "option":
        return [None] + samples(t.item, types, depth + 1, direction)[:3]
    if k == "list":
        items = samples(t.item, types, depth + 1, direction) if depth < 4 else []
        return [[]] + ([items[:3], items[:1]] if items else [])
    if k == "object":
        return _object_samples(t, types, depth, direction)
    if k == "enum":
        out = []
        for v in t.variants:
            name = (v.rename_de if direction == "de" else v.rename_ser) or variant_name(v.name)
            if v.type.kind == "null":
                out.append(name if t.tagging != "untagged" else None)
                continue
            for payload in samples(v.type, types, depth + 1, direction)[:2]:
                out.append(payload if t.tagging == "untagged" else {name: payload})
        return out
    if k == "key-value":
        return [[k_, v_] for k_ in samples(t.key, types, depth + 1)[:2] for v_ in samples(t.value, types, depth + 1)[:2]]
    if k == "null":
        return [None]
    return []


def _object_samples(t, types, depth, direction) -> list:
    per_field = []
    for f in t.fields:
        vals = samples(f.type, types, depth + 1, direction) if depth < 5 else []
        if not vals:
            return []
        per_field.append((f, vals))
    n = max([len(v) for _, v in per_field] + [1])
    out = []
    for i in range(n):
        obj = {}
        for f, vals in per_field:
            name = (f.rename_de if direction == "de" else f.rename_ser) or json_field(f.name)
            if f.optional and i % 3 == 1:
                continue  # absent
            if f.optional and i % 3 == 2:
                obj[name] = None
                continue
            obj[name] = vals[i % len(vals)]
        out.append(obj)
    return out


def conforms(v, t, types: dict, depth: int = 0) -> str | None:
    """None when `v` is a value of `t` as SDF writes it, else why not."""
    t = resolve(t, types)
    k = t.kind
    if k == "prim":
        n = prim_name(t.name)
        if n in INT_RANGES:
            lo, hi = INT_RANGES[n]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                return f"{v!r} is not a {n}"
            return None
        if n in ("f32", "f64"):
            return None if (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None else f"{v!r} is not a {n}"
        if n == "bool":
            return None if isinstance(v, bool) else f"{v!r} is not a bool"
        if n == "string":
            return None if isinstance(v, str) else f"{v!r} is not a string"
        if n == "bytes":
            return None if isinstance(v, list) and all(isinstance(b, int) and 0 <= b < 256 for b in v) else f"{v!r} is not bytes"
        return None
    if k == "option":
        return None if v is None else conforms(v, t.item, types, depth + 1)
    if k == "list":
        if not isinstance(v, list):
            return f"{v!r} is not a list"
        for item in v:
            why = conforms(item, t.item, types, depth + 1)
            if why:
                return why
        return None
    if k == "object":
        if not isinstance(v, dict):
            return f"{str(v)[:60]} is not an object"
        names = set()
        for f in t.fields:
            name = f.rename_ser or json_field(f.name)
            names.add(name)
            if name not in v:
                if f.optional or f.type.kind == "option":
                    return f"optional field {name!r} missing (serde writes null)"
                return f"field {name!r} missing from {sorted(v)}"
            if v[name] is None and (f.optional or resolve(f.type, types).kind == "option"):
                continue
            why = conforms(v[name], f.type, types, depth + 1)
            if why:
                return f"{name}: {why}"
        extra = set(v) - names
        return f"unexpected fields {sorted(extra)}" if extra else None
    if k == "enum":
        for var in t.variants:
            name = var.rename_ser or variant_name(var.name)
            if t.tagging == "untagged":
                if conforms(v, var.type, types, depth + 1) is None:
                    return None
            elif var.type.kind == "null":
                if v == name:
                    return None
            elif isinstance(v, dict) and list(v) == [name] and conforms(v[name], var.type, types, depth + 1) is None:
                return None
        return f"{str(v)[:60]} is no variant of the enum"
    if k == "key-value":
        return None
    if k == "null":
        return None if v is None else f"{v!r} is not null"
    return None
