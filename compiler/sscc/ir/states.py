"""Which states a function touches, and which of them it writes.

The checker verifies that accessor names exist; the IR needs the sets so the runtime knows
what each operator reads and writes. Inline code reaches a state `count-per-word` through the
accessor call `count_per_word()`, or names its table inside a string: SQL
(`"select * from count_per_word"`, early 0.5 quotes the kebab name in back-quotes) or
`Table("count_per_word")`. Imported functions declare `states: [{name}]`. A `from:` reference
is reached by its own name and by the owner's state name (corpus files use both).
"""

from __future__ import annotations

import re

from .. import ast as A

_STRING = re.compile(r'r#*"[^"]*"#*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.S)


def state_ids(service: str, decls: dict[str, A.StateDecl]) -> dict[str, str]:
    """Name a function may use (kebab) -> state id; `from:` references resolve to the owner's id."""
    out = {}
    for name, decl in decls.items():
        owner, real = decl.from_ref if decl.from_ref else (service, name)
        out[A.kebab(name)] = f"{owner}.{real}"
    for name, decl in decls.items():
        if decl.from_ref:
            out.setdefault(A.kebab(decl.from_ref[1]), out[A.kebab(name)])
    return out


def accessed(fn: A.Function, declared: list[str], scope: dict[str, str]) -> tuple[str, ...]:
    """Ids of the states in `scope` that `fn` uses, sorted.

    `declared` are the `states:` a step or an imported function lists."""
    names = {A.kebab(n) for n in declared if n}
    if fn.inline is not None:
        text = fn.inline.text
        strings = " ".join(m.group(0) for m in _STRING.finditer(text))
        names |= {name for name in scope if _called(text, name) or _named(strings, name)}
    return tuple(sorted({scope[n] for n in names if n in scope}))


def _called(text: str, kebab_name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(A.snake(kebab_name))}\s*\(", text) is not None


def _named(strings: str, kebab_name: str) -> bool:
    forms = "|".join(re.escape(f) for f in {A.snake(kebab_name), kebab_name})
    return re.search(rf"(?<![\w-])(?:{forms})(?![\w-])", strings) is not None
