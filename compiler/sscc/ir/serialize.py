"""IR <-> versioned JSON.

`to_json` writes every dataclass field in declaration order (so the key order is stable and the
text deterministic), nodes tagged by `"op"` and types by `"kind"`; `from_json` rebuilds the same
frozen values from the field annotations, so `from_json(to_json(ir)) == ir` exactly.
"""

from __future__ import annotations

import dataclasses
import json
import types as pytypes
import typing
from functools import cache
from typing import Any

from .nodes import IR, NODE_CLASSES, Node
from .types import TYPE_CLASSES, IrType, ListOf

IR_VERSION = 1


def to_json(ir: IR) -> str:
    return json.dumps(to_dict(ir), indent=2, ensure_ascii=False)


def to_dict(ir: IR) -> dict:
    return {"ir_version": IR_VERSION, **_encode(ir)}


def from_json(text: str) -> IR:
    data = json.loads(text)
    version = data.get("ir_version") if isinstance(data, dict) else None
    if version != IR_VERSION:
        raise ValueError(f"unsupported IR version {version!r} (this sscc reads ir_version {IR_VERSION})")
    return _decode({k: v for k, v in data.items() if k != "ir_version"}, IR)


# Fields added after ir_version 1 that most nodes leave empty: written only when set, so the JSON
# of a pipeline that does not use them is what it was (and reads back to the same IR).
OMITTED_WHEN_NONE = frozenset({"package", "package_function"})


def _encode(v: Any) -> Any:
    if dataclasses.is_dataclass(v):
        out: dict[str, Any] = {}
        if isinstance(v, Node):
            out["op"] = v.op
        elif isinstance(v, IrType):
            out["kind"] = v.kind
        for f in dataclasses.fields(v):
            value = getattr(v, f.name)
            if value is None and (f.name in OMITTED_WHEN_NONE or (isinstance(v, ListOf) and f.name == "type_name")):
                continue
            out[f.name] = _encode(value)
        return out
    if isinstance(v, tuple):
        return [_encode(x) for x in v]
    return v


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(v: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, pytypes.UnionType):
        if v is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(v, inner)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(x, args[0]) for x in v)
        return tuple(_decode(x, a) for x, a in zip(v, args, strict=True))
    if hint is IrType:
        return _build(TYPE_CLASSES[v["kind"]], v)
    if hint is Node:
        return _build(NODE_CLASSES[v["op"]], v)
    if dataclasses.is_dataclass(hint):
        return _build(hint, v)
    return v


def _build(cls: type, data: dict) -> Any:
    hints = _hints(cls)
    kwargs = {f.name: _decode(data[f.name], hints[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kwargs)
