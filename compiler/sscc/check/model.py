"""What the semantic checker hands to the IR builder: the AST plus everything it resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..ast import Function, Pipeline, StateDecl, Type


@dataclass
class StepIO:
    """Types around one step, as the checker inferred them.

    in_type/out_type are value types (for filter out_type == in_type, for flat-map the element
    type, for filter-map the unwrapped type); key_in/key_out the key type when a key is present
    (None: no key on the record)."""

    in_type: Optional[Type]
    out_type: Optional[Type]
    key_in: Optional[Type] = None
    key_out: Optional[Type] = None


@dataclass
class Checked:
    pipeline: Pipeline
    types: dict[str, Type] = field(default_factory=dict)  # every named type in scope (kebab), local + imported
    functions: dict[str, Function] = field(default_factory=dict)  # imported functions by the name `uses` refers to
    states: dict[str, dict[str, StateDecl]] = field(default_factory=dict)  # service -> state name -> declaration (own + refs)
    step_io: dict[str, StepIO] = field(default_factory=dict)  # by Step.loc
    service_order: list[str] = field(default_factory=list)  # services in topological order (producers first)
    unresolved_packages: list[str] = field(default_factory=list)  # pkg ids of imports that could not be found
