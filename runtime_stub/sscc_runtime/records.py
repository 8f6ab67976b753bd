"""`@record`: the part of `@dataclasses.dataclass` the runtime uses, at a tenth of its import cost.

Start-up matters (docs/startup.md): importing `dataclasses` (it imports `inspect`, `ast`, `dis`,
`tokenize`) and building the runtime's ~20 dataclasses with it took about a third of the
runtime's import time, more than anything but wasmtime. A record class gets the same methods a
dataclass would (`__init__` with the defaults and `default_factory` fields, `__repr__`, `__eq__`,
and with `frozen=True` `__hash__` and no assignment), compiled from one generated source per
class; `replace()` is `dataclasses.replace`. Only what the runtime uses: fields come from the
class's own annotations (no inheritance, no ClassVar / InitVar, no ordering), `__post_init__` is
called when defined.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")
_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class _Factory:
    """`field(default_factory=f)`: the field's default is `f()`, called per instance."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]):
        self.factory = factory


def field(*, default_factory: Callable[[], Any]) -> Any:
    return _Factory(default_factory)


def record(cls: type[T] | None = None, *, frozen: bool = False):
    """Decorate a class with annotated fields (see the module doc); `@record` or `@record(frozen=True)`."""

    def wrap(klass: type[T]) -> type[T]:
        return _build(klass, frozen)

    return wrap if cls is None else wrap(cls)


def _build(cls: type, frozen: bool) -> type:
    names = list(cls.__dict__.get("__annotations__", {}))
    defaults: dict[str, Any] = {}
    params, body = [], []
    for name in names:
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, _Factory):
            defaults[f"_f_{name}"] = value.factory
            params.append(f"{name}=_MISSING")
            body.append(f"  _set(self, {name!r}, _f_{name}() if {name} is _MISSING else {name})")
            delattr(cls, name)
        else:
            if value is not _MISSING:
                defaults[f"_d_{name}"] = value
                params.append(f"{name}=_d_{name}")
            elif defaults:
                raise TypeError(f"non-default field {name!r} follows a default one in {cls.__name__}")
            else:
                params.append(name)
            body.append(f"  _set(self, {name!r}, {name})")
    if "__post_init__" in cls.__dict__:
        body.append("  self.__post_init__()")
    fields = "".join(f"self.{n}," for n in names)
    others = "".join(f"other.{n}," for n in names)
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    source = [
        f"def __init__(self, {', '.join(params)}):",
        *(body or ["  pass"]),
        "def __repr__(self):",
        f"  return f'{{type(self).__qualname__}}({shown})'",
        "def __eq__(self, other):",
        f"  return ({fields}) == ({others}) if other.__class__ is self.__class__ else NotImplemented",
    ]
    if frozen:
        source += ["def __hash__(self):", f"  return hash(({fields}))"]
    namespace: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_set": object.__setattr__ if frozen else setattr,
        **defaults,
    }
    exec("\n".join(source), namespace)  # noqa: S102 - generated from the class's own field names
    for method in ("__init__", "__repr__", "__eq__"):
        function = namespace[method]
        function.__qualname__ = f"{cls.__qualname__}.{method}"
        setattr(cls, method, function)
    if frozen:
        cls.__hash__ = namespace["__hash__"]
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
    else:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as a dataclass
    cls.__record_fields__ = tuple(names)
    cls.__match_args__ = tuple(names)
    return cls


def _frozen_setattr(self, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def replace(obj: T, **changes: Any) -> T:
    """A copy of record `obj` with `changes` (dataclasses.replace)."""
    values = {name: getattr(obj, name) for name in type(obj).__record_fields__}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    return type(obj)(**values)
