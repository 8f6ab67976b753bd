"""Which states a function touches, and which of them it writes.

The checker verifies that accessor names exist; the IR needs the sets so the runtime knows
what each operator reads and writes. Inline code reaches a state `count-per-word` through the
accessor call `count_per_word()` or as the SQL table `count_per_word` (early 0.5 files quote the
kebab name); imported functions declare `states: [{name}]`.
"""

from __future__ import annotations

import re

from .. import ast as A


def state_ids(service: str, decls: dict[str, A.StateDecl]) -> dict[str, str]:
    """kebab state name in scope -> state id, `from:` references resolved to the owner's id."""
    out = {}
    for name, decl in decls.items():
        owner, real = decl.from_ref if decl.from_ref else (service, name)
        out[A.kebab(name)] = f"{owner}.{real}"
    return out


def accessed(fn: A.Function, declared: list[str], scope: dict[str, str]) -> tuple[str, ...]:
    """Ids of the states in `scope` that `fn` uses, sorted.

    `declared` are the `states:` a step or an imported function lists."""
    names = {A.kebab(n) for n in declared if n}
    if fn.inline is not None:
        names |= {name for name in scope if _mentions(fn.inline.text, name)}
    return tuple(sorted({scope[n] for n in names if n in scope}))


def _mentions(text: str, kebab_name: str) -> bool:
    snake = re.escape(A.snake(kebab_name))
    call = re.compile(rf"(?<![\w.]){snake}\s*\(")
    table = re.compile(rf"(?i)\b(?:from|join)\s+[`\"]?(?:{snake}|{re.escape(kebab_name)})\b")
    return bool(call.search(text) or table.search(text))
