"""The semantic checker (DESIGN.md §3): the AST of one file -> `Checked`, plus diagnostics.

Like sqlglot's optimizer, checking is a fold of small rules over one context, in order:
`build_scope` first (what names mean), then each rule family in its own module. Every rule
reports and keeps going; a name it cannot resolve becomes an unknown type that matches
anything, so one mistake gives one diagnostic. Codes E040-E084, W040-W045 (docs/errors.d/check.md).
"""

from __future__ import annotations

from .. import ast as A
from ..diagnostics import Diagnostics
from . import build_reach, flow, inline_code, names, operators, services, states, types, unused, windows
from .context import Ctx
from .model import Checked, StepIO
from .scope import build_scope

# dataflow files
RULES = (
    build_scope,
    names.check_duplicates,
    types.check_definitions,
    types.check_references,
    types.check_type_graph,
    types.check_arrow_columns,
    names.check_endpoints,
    names.check_uses,
    names.check_operators,
    states.check_declarations,
    states.check_refs,
    states.check_function_states,
    operators.check_positions,
    operators.check_declared_kind,
    operators.check_signatures,
    windows.check_windows,
    windows.check_partitions,
    flow.check_flow,
    services.check_dag,
    inline_code.check_inline_code,
    build_reach.check_build_reach,
    unused.check_unused,
)

# package files and types-only fragments: no services, so no flow
PACKAGE_RULES = (
    build_scope,
    names.check_duplicates,
    types.check_definitions,
    types.check_references,
    types.check_type_graph,
    types.check_arrow_columns,
    names.check_operators,
    states.check_declarations,
    states.check_function_states,
    operators.check_signatures,
    inline_code.check_inline_code,
    build_reach.check_build_reach,
)


def _run(rules, pipe: A.Pipeline, packages: dict, diags: Diagnostics) -> Checked:
    ctx = Ctx(pipe=pipe, packages=packages or {}, diags=diags, out=Checked(pipeline=pipe))
    for rule in rules:
        rule(ctx)
    return ctx.out


def check(pipe: A.Pipeline, packages: dict[str, A.Pipeline], diags: Diagnostics) -> Checked:
    """Check a dataflow. `packages` maps an import's `pkg` to its loaded package; a missing key
    means the package was not found (its functions are checked as far as this file declares them)."""
    return _run(RULES, pipe, packages, diags)


def check_package(pipe: A.Pipeline, packages: dict[str, A.Pipeline], diags: Diagnostics) -> Checked:
    """Check a package file (types, states, function declarations) or a types-only fragment."""
    return _run(PACKAGE_RULES, pipe, packages, diags)


__all__ = ["RULES", "PACKAGE_RULES", "Checked", "StepIO", "check", "check_package"]
