"""Passes over the operator DAG IR, folded in order like sqlglot's optimizer rules.

Each pass lives in its own module as one pure `IR -> IR` function named after the module, with
its rules and a before/after example in the docstring. `optimize` runs them in `PASSES` order;
`--no-pass NAME` skips one, `-O0` skips all. A skipped pass is recorded as a decision, an
applied one in `IR.passes`, so every dump says which plan it shows.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Optional

from ..ir.nodes import IR, Decision
from .dead_code import dead_code
from .fuse import fuse
from .internal_topics import internal_topics

# Analyses first (they report on the plan as written), then the rewrites.
PASSES: tuple[Callable[[IR], IR], ...] = (dead_code, internal_topics, fuse)


def pass_names() -> list[str]:
    return [p.__name__ for p in PASSES]


def optimize(ir: IR, disabled: Iterable[str] = (), trace: Optional[Callable[[str, IR], None]] = None) -> IR:
    """Fold PASSES over `ir`, skipping the `disabled` ones; `trace(name, ir)` after each applied pass."""
    off = set(disabled)
    unknown = off - set(pass_names())
    if unknown:
        raise ValueError(f"unknown pass `{sorted(unknown)[0]}`; passes: {', '.join(pass_names())}")
    for p in PASSES:
        name = p.__name__
        if name in off:
            skipped = Decision("optimize", "", f"pass {name} skipped", "switched off (-O0 or --no-pass)")
            ir = dataclasses.replace(ir, decisions=ir.decisions + (skipped,))
            continue
        ir = p(ir)
        ir = dataclasses.replace(ir, passes=ir.passes + (name,))
        if trace is not None:
            trace(name, ir)
    return ir
