"""State use inside inline Rust: accessors and SQL tables name states in scope, refs stay read-only.

SDF generates one accessor per state a service sees (`count-per-word` -> `count_per_word()`) and
one SQL table per arrow-row state (`count_per_word`, or back-quoted `count-per-word`). A typo
compiles to a Rust "cannot find function" deep in generated code, or a Polars error at run time,
so sscc checks them here, cheaply and conservatively (code is scanned with strings and comments
blanked; only zero-argument free calls and SQL string literals are looked at):

    fn count(_w: String) -> Result<()> {
        let mut s = count_per_wrd();        // E074 unknown state accessor
        ...
    let t = sql("select * from counts")?;   // E075 unknown table
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Optional

from .. import ast as A
from ..diagnostics import suggest
from .context import Ctx, code_span, kebab
from .states import state_kind, states_in_scope

# patterns start with a literal where they can: re then skips ahead instead of trying every position
EMPTY_CALL = re.compile(r"\(\s*\)")
DEFINED_FN = re.compile(r"fn\s+([A-Za-z_]\w*)")
LET_BINDING = re.compile(r"let\s+(?:mut\s+)?([a-z_]\w*)\s*(?::[^=;]+)?=\s*([a-z_]\w*)\s*\(\s*\)\s*\??\s*;")
LET_NAME = re.compile(r"let\s+(?:mut\s+)?([a-z_]\w*)")
FN_PARAMS = re.compile(r"fn\s+\w+\s*(?:<[^>]*>)?\s*\(([^)]*)\)")
CLOSURE_PARAMS = re.compile(r"\|([^|]*)\|")
USE_ITEMS = re.compile(r"use\s+([^;]+);")
MEMBER = re.compile(r"\s*\.\s*(\w+)\s*(\(|[-+*/]?=(?!=))")
SQL_TABLE = re.compile(r"(?i)\b(?:from|join)\s+(`[^`]*`|\"[^\"]*\"|[A-Za-z_][\w\-]*|\{[^}]*\}|\()")
SQL_CTE = re.compile(r"(?i)(?:\bwith|,)\s+([A-Za-z_]\w*)\s+as\s*\(")
SQL_LOOKS = re.compile(r"(?is)\bselect\b.*\bfrom\b")
CONTEXT_FUNCTIONS = {"key", "window", "todo", "unimplemented", "drop", "main"}
VALUE_METHODS = ("increment", "set", "get")
ROW_WRITE_METHODS = ("update", "delete")
WRITE_METHODS = ("increment", "set", "update", "delete")
RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
}  # fmt: skip
STRING_FILL = "~"  # a blanked literal still reads as an argument: `sql("..")` is not `sql()`


@dataclass
class Lexed:
    """Rust source with comments blanked to spaces and literals to `~` (positions kept)."""

    masked: str
    strings: list[tuple[int, str]]  # (offset of the first content char, content)
    line_starts: list[int]

    def pos(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.line_starts, offset) - 1
        return i + 1, offset - self.line_starts[i] + 1


TOKENS = re.compile(  # the lookahead lets re skip to the few characters a token can start with
    r"""(?=[/"'\#])(?:(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))
      |(?<=\br)(?P<hashes>\#*)"(?P<raw>.*?)"(?P=hashes)
      |"(?P<str>(?:[^"\\]|\\.)*)(?:"|\Z)
      |(?P<char>'(?:\\.[^'\n]{0,8}|[^'\\\n])'))""",
    re.S | re.X,
)


def lex(text: str) -> Lexed:
    parts: list[str] = []
    strings: list[tuple[int, str]] = []
    pos = 0
    for m in TOKENS.finditer(text):
        parts.append(text[pos : m.start()])
        fill = " " if m.group("comment") is not None else STRING_FILL
        parts.append(re.sub(r"[^\n]", fill, m.group(0)))
        body = "raw" if m.group("raw") is not None else "str" if m.group("str") is not None else None
        if body:
            strings.append((m.start(body), m.group(body)))
        pos = m.end()
    parts.append(text[pos:])
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    return Lexed("".join(parts), strings, starts)


def _imported_names(masked: str) -> set[str]:
    names: set[str] = set()
    for m in USE_ITEMS.finditer(masked):
        for part in re.split(r"[{},]", m.group(1)):
            part = part.strip()
            if not part:
                continue
            alias = re.search(r"\bas\s+(\w+)$", part)
            names.add(alias.group(1) if alias else part.split("::")[-1].strip())
    return names


def check_inline_code(ctx: Ctx) -> None:
    """E074 accessors, E075 SQL tables, E073 writes through `from:` refs, E076 misuse."""
    all_states = {kebab(n): svc.name for svc in ctx.pipe.services.values() for n, s in svc.states.items() if not s.is_ref}
    scopes: dict[int, dict] = {}
    for step, where in ctx.steps():
        code = step.function.inline
        if code is None or code.lang != "rust" or code.signature is None:
            continue
        key = id(where.service)
        if key not in scopes:
            scopes[key] = states_in_scope(ctx, where.service)
        _check_code(ctx, code, scopes[key], all_states, where.service)
    for fn in ctx.pipe.functions.values():
        if fn.inline is not None and fn.inline.lang == "rust" and fn.inline.signature is not None:
            _check_code(ctx, fn.inline, states_in_scope(ctx, None), {}, None)


def _free_calls(masked: str):
    """(name, offset) of every `name()` call that is not a method, path or macro call."""
    for m in EMPTY_CALL.finditer(masked):
        end = m.start()
        while end and masked[end - 1] in " \t\n":
            end -= 1
        at = end
        while at and (masked[at - 1].isalnum() or masked[at - 1] == "_"):
            at -= 1
        name = masked[at:end]
        if not name or not (name[0].islower() or name[0] == "_"):
            continue
        prev = masked[max(0, at - 12) : at].rstrip()[-1:]
        if prev in (".", ":", "!"):
            continue
        yield name, at, m.end()


def _local_names(masked: str) -> set[str]:
    """Names bound in the block (let, fn and closure parameters): a call of one is not a state."""
    names = set(LET_NAME.findall(masked))
    for params in FN_PARAMS.findall(masked) + CLOSURE_PARAMS.findall(masked):
        for param in params.split(","):
            ident = re.match(r"\s*(?:mut\s+)?([a-z_]\w*)", param)
            if ident:
                names.add(ident.group(1))
    return names


def _check_code(ctx: Ctx, code: A.InlineCode, scope: dict, all_states: dict, svc: Optional[A.Service]) -> None:
    lx = lex(code.text)
    masked = lx.masked
    imported = _imported_names(masked)
    defined = set(DEFINED_FN.findall(masked)) | imported | _local_names(masked) | CONTEXT_FUNCTIONS
    glob_import = "*" in imported  # `use x::*;` may bring any free function into scope
    bindings: dict[str, str] = {}  # local variable -> state (kebab) it holds
    for m in LET_BINDING.finditer(masked):
        if kebab(m.group(2)) in scope:
            bindings[m.group(1)] = kebab(m.group(2))
    for name, at, end in _free_calls(masked):
        k = kebab(name)
        if name in RUST_KEYWORDS or (name in defined and k not in scope):
            continue
        if k not in scope and glob_import and suggest(name, [A.snake(s) for s in scope]) is None:
            continue
        line, col = lx.pos(at)
        span = code_span(code, line, col, len(name))
        if k not in scope:
            owner = all_states.get(k)
            if owner and svc is not None and owner != svc.name:
                hint = f"state `{k}` belongs to service `{owner}`; read it here with `states: {{{k}: {{from: {owner}.{k}}}}}`"
            else:
                hint = ctx.hint(
                    name,
                    [A.snake(s) for s in scope],
                    "state accessors in scope",
                    "declare the state under this service's `states:`",
                )
            ctx.error("E074", span, f"`{name}()` is not the accessor of a state in scope", hint)
            continue
        member = MEMBER.match(masked, end)
        if member:
            _check_member(ctx, k, scope[k], member.group(1), member.group(2) != "(", span)
    if bindings:
        uses = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, bindings)) + r")\b")
        for m in uses.finditer(masked):
            member = MEMBER.match(masked, m.end())
            if member:
                line, col = lx.pos(m.start())
                k = bindings[m.group(1)]
                _check_member(
                    ctx, k, scope[k], member.group(1), member.group(2) != "(", code_span(code, line, col, len(m.group(1)))
                )
    if "sql" in masked:
        _check_sql(ctx, code, lx, scope, all_states, svc)


def _check_member(ctx: Ctx, k: str, st: A.StateDecl, member: str, assigns: bool, span) -> None:
    writes = assigns or member in WRITE_METHODS
    if writes and st.is_ref:
        owner = st.from_ref[0]
        ctx.error(
            "E073",
            span,
            f"state `{k}` is a read-only reference here (`from: {owner}.{st.from_ref[1]}`)",
            f"only its owner `{owner}` writes it; read it with `sql(...)`, or move this update into `{owner}`",
        )
        return
    kind = state_kind(ctx, st)
    if kind == "value" and (assigns or member in ROW_WRITE_METHODS):
        ctx.error(
            "E076",
            span,
            f"state `{k}` holds a single value, not a row: it has no fields or `{member if not assigns else 'update'}()`",
            "use `.increment(n)`, `.set(v)` or `.get()` on a value state; declare the value as `arrow-row` to keep columns",
        )
    elif kind == "arrow-row" and member in VALUE_METHODS and not assigns:
        ctx.error(
            "E076",
            span,
            f"state `{k}` is an arrow-row, it has no `{member}()`",
            "change the row's fields (`let mut row = state(); row.count += 1;`) and call `row.update()?`",
        )


def _check_sql(ctx: Ctx, code: A.InlineCode, lx: Lexed, scope: dict, all_states: dict, svc) -> None:
    for start, text in lx.strings:
        if not SQL_LOOKS.search(text):
            continue
        ctes = {c.lower() for c in SQL_CTE.findall(text)}
        for m in SQL_TABLE.finditer(text):
            raw = m.group(1)
            if raw.startswith(("{", "(")):
                continue
            name = raw.strip('`"')
            if not name or "{" in name or name.lower() in ctes:
                continue
            k = kebab(name)
            line, col = lx.pos(start + m.start(1))
            span = code_span(code, line, col, len(raw))
            st = scope.get(k)
            if st is None:
                owner = all_states.get(k)
                if owner and svc is not None and owner != svc.name:
                    hint = f"state `{k}` belongs to service `{owner}`; add `{k}: {{from: {owner}.{k}}}` under this service's `states:`"
                else:
                    hint = ctx.hint(
                        A.snake(name),
                        [A.snake(s) for s in scope],
                        "tables in scope",
                        "only the arrow-row states a service sees are SQL tables",
                    )
                ctx.error("E075", span, f"SQL table `{name}` is not a state in scope", hint)
            elif state_kind(ctx, st) == "value":
                ctx.error(
                    "E076",
                    span,
                    f"state `{k}` holds a single value and is not a SQL table",
                    "only arrow-row states are tables; declare its value as `type: arrow-row`",
                )
