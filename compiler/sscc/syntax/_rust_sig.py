"""Parse the head of one `fn` item with grammars/rust_fn.lark into rust_model values.

The transformer runs inside the LALR parser (no tree is built) with every token kept, so each
value can carry the position of its first token; the head is padded to its place in the block,
which makes those positions block-relative without any shifting afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from ._grammar import ParseError, load
from ._lalr import is_token
from ._rust_scan import Scanner
from .errors import SyntaxProblem
from .rust_model import UNIT, RustParam, RustType

_WORDS = {"NAME": "a name", "LIFETIME": "a lifetime", "INT": "a number", "STRING": "a string"}
_A_TYPE = {"a type": {"`!`", "`&`", "`(`", "`::`", "`[`", "`dyn`", "`extern`", "`fn`", "`impl`", "`unsafe`", "a name"}}


@dataclass(frozen=True)
class Head:
    qualifiers: tuple[str, ...]
    generics: tuple[str, ...]
    params: tuple[RustParam, ...]
    ret: RustType | None


def parse_head(sc: Scanner, start: int, body: int, name: str) -> Head:
    """The signature `sc.code[start:body]` of function `name` (body = offset of its `{`)."""
    line, col = sc.where(start)
    grammar = _parser()
    try:
        return grammar.parse("\n" * (line - 1) + " " * (col - 1) + sc.code[start:body])
    except ParseError as exc:
        u = exc.unexpected
        wanted = u.wanted(grammar, _WORDS, _A_TYPE)
        hint = f"expected {wanted}" if wanted else None
        if u.at_end:
            raise sc.problem(f"the signature of `{name}` is incomplete", body, 1, hint) from None
        what = "character" if len(u.text) == 1 and not u.text.isalnum() else "token"
        message = f"unexpected {what} `{u.text}` in the signature of `{name}`"
        raise SyntaxProblem(message, u.line, u.col, u.col + len(u.text), hint) from None


@cache
def _parser():
    return load("rust_fn", transformer=_ToRust(), fast_lexer=True, keep_all_tokens=True)


@dataclass(frozen=True)
class _Pat:  # a parameter pattern, as text
    text: str
    line: int
    col: int


@dataclass(frozen=True)
class _Segment:  # one segment of a path type
    name: str
    args: tuple
    text: str
    first: str  # its name token, where the path starts


@dataclass(frozen=True)
class _FnArg:  # one parameter of a `fn(...)` pointer type
    type: RustType
    text: str


def _at(first) -> dict:
    """Position keywords for a RustType that starts with `first` (a token or a built value)."""
    if is_token(first):
        return {"line": first.line, "col": first.column}
    return {"line": first.line, "col": first.col}


def _text(x) -> str:
    return x.text if isinstance(x, (RustType, _Pat)) else str(x)


def _values(children, *kinds) -> list:
    """The children that are not punctuation: built values and tokens of the given kinds."""
    return [c for c in children if c is not None and (not is_token(c) or c.type in kinds)]


class _ToRust:
    """Callbacks named after the rules and aliases of grammars/rust_fn.lark."""

    # ---------------------------------------------------------------- types
    def path_type(self, c):
        segs = [s for s in c if isinstance(s, _Segment)]
        lead = "::" if is_token(c[0]) else ""  # global_path
        text = lead + "::".join(s.text for s in segs)
        args = tuple(a for a in segs[-1].args if isinstance(a, RustType))
        first = c[0] if lead else c[0].first
        return RustType("path", segs[-1].name, tuple(s.name for s in segs), args, text, **_at(first))

    def global_path(self, c):
        return c[0]

    def seg(self, c):
        name = str(c[0])
        if len(c) == 1:
            return _Segment(name, (), name, c[0])
        args = tuple(c[1])
        return _Segment(name, args, f"{name}<{', '.join(map(_text, args))}>", c[0])

    def seg_fn(self, c):  # Fn(A, B) -> R
        name, inputs, ret = c[0], tuple(c[2]), c[4]
        text = f"{name}({', '.join(map(_text, inputs))})" + (f" -> {ret.text}" if ret else "")
        return _Segment(str(name), inputs + (ret or UNIT,), text, name)

    def generic_args(self, c):
        return _values(c, "LIFETIME", "INT")

    def binding(self, c):
        return f"{c[0]} = {c[2].text}"

    def type(self, c):  # `(T)`: parentheses only group
        return c[1]

    def ref(self, c, mutable=False):
        inner = c[-1]
        lifetime = next((f"{x} " for x in c if is_token(x) and x.type == "LIFETIME"), "")
        text = f"&{lifetime}{'mut ' if mutable else ''}{inner.text}"
        return RustType("ref", "", (), (inner,), text, mutable, **_at(c[0]))

    def ref_mut(self, c):
        return self.ref(c, mutable=True)

    def unit(self, c):
        return RustType("unit", "", (), (), "()", **_at(c[0]))

    def tuple(self, c):
        elems = (c[1], *c[3])
        text = f"({elems[0].text},)" if len(elems) == 1 else f"({', '.join(map(_text, elems))})"
        return RustType("tuple", "", (), elems, text, **_at(c[0]))

    def array(self, c):
        return RustType("array", "", (), (c[1],), f"[{c[1].text}; {c[3]}]", **_at(c[0]))

    def slice(self, c):
        return RustType("slice", "", (), (c[1],), f"[{c[1].text}]", **_at(c[0]))

    def types(self, c):
        return [x for x in c if isinstance(x, RustType)]

    def fn_ptr(self, c):
        quals, args, ret = c[0], c[3], c[5]
        text = " ".join(quals + ["fn"]) + f"({', '.join(a.text for a in args)})" + (f" -> {ret.text}" if ret else "")
        return RustType(
            "fn", "", (), tuple(a.type for a in args) + (ret or UNIT,), text, **_at(quals[0] if quals else c[1])
        )

    def fn_qualifiers(self, c):
        return c

    def fn_args(self, c):
        return [x for x in c if isinstance(x, _FnArg)]

    def fn_arg(self, c):
        return _FnArg(c[-1], f"{c[0]}: {c[-1].text}" if len(c) == 3 else c[0].text)

    def impl(self, c):
        return _bounded("impl", c)

    def dyn(self, c):
        return _bounded("dyn", c)

    def never(self, c):
        return RustType("never", "", (), (), "!", **_at(c[0]))

    def bounds(self, c):
        return _values(c, "LIFETIME")

    def maybe(self, c):
        return f"?{c[1].text}"

    def bound(self, c):  # for<'a> Trait
        return replace(c[1], text=f"{c[0]} {c[1].text}")

    def for_lifetimes(self, c):
        return f"for<{', '.join(_values(c, 'LIFETIME'))}>"

    # ---------------------------------------------------------------- parameters
    def params(self, c):
        return tuple(x for x in c if isinstance(x, RustParam))

    def ret(self, c):
        return c[1] if c else None

    def param(self, c):
        return RustParam(c[0].text, c[2], c[0].line, c[0].col)

    def pat_name(self, c):
        return _Pat(str(c[0]), c[0].line, c[0].column)

    def pat_mut(self, c):  # also `ref x`, `ref mut x`
        return _Pat(" ".join(c), c[0].line, c[0].column)

    pat_ref = pat_ref_mut = pat_mut

    def pat_borrow(self, c):
        return _Pat(f"&{c[1].text}", c[0].line, c[0].column)

    def pat_tuple(self, c):
        items = [p.text for p in c[1]]
        text = f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return _Pat(text, c[0].line, c[0].column)

    def pat_tuple_struct(self, c):
        return _Pat(f"{c[0].text}({', '.join(p.text for p in c[2])})", c[0].line, c[0].col)

    def patterns(self, c):
        return [p for p in c if isinstance(p, _Pat)]

    def pat_struct(self, c):
        fields = [f for f in c if type(f) is str]
        return _Pat(f"{c[0].text} {{ {', '.join(fields)} }}", c[0].line, c[0].col)

    def field_bind(self, c):
        return f"{c[0]}: {c[2].text}"

    def field_short(self, c):
        return c[0].text

    def field_rest(self, c):
        return ".."

    def path_name(self, c):
        return _Pat("".join(c), c[0].line, c[0].column)

    # ---------------------------------------------------------------- the rest of the head
    def q_pub(self, c):
        inner = " ".join(_text(x) for x in _values(c, "IN"))
        return f"pub({inner})" if inner else "pub"

    def q_const(self, c):
        return "const"

    def q_async(self, c):
        return "async"

    def q_unsafe(self, c):
        return "unsafe"

    def q_extern(self, c):
        return " ".join(c)

    def generics(self, c):
        return tuple(x for x in c if type(x) is str)

    def lifetime_param(self, c):
        lifetimes = _values(c, "LIFETIME")
        return f"{lifetimes[0]}: {' + '.join(lifetimes[1:])}" if len(lifetimes) > 1 else str(c[0])

    def type_param(self, c):
        name, bounds, default = c
        return (f"{name}: {' + '.join(map(_text, bounds))}" if bounds else str(name)) + default

    def const_param(self, c):
        return f"const {c[1]}: {c[3].text}{c[4]}"

    def param_bounds(self, c):
        return c[1] if len(c) > 1 else []

    def param_default(self, c):
        return f" = {_text(c[1])}" if c else ""

    def where_clause(self, c):
        return None

    predicate = lifetime_predicate = where_clause

    def start(self, c):  # qualifiers..., fn, NAME, generics, params, ret, where
        return Head(tuple(c[:-6]), c[-4], c[-3], c[-2])


def _bounded(kind: str, c) -> RustType:
    bounds = c[1]
    types = tuple(b for b in bounds if isinstance(b, RustType))
    return RustType(kind, "", (), types, f"{kind} {' + '.join(map(_text, bounds))}", **_at(c[0]))
