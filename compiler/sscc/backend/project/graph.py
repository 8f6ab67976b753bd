"""`<pkg>/graph.json`: what the IR says about each stage, for the run's web page (docs/ui.md).

The runtime's service description (services.json) names each stage by its fused chain
(`decode -> in-stock -> price -> encode`); this small file adds, per service and stage export,
the IR operators the stage runs (name and kind) and the record types into and out of it, so
`run --ui` can draw the operator graph as the IR has it. The runtime reads it only for the page
(runtime_stub/sscc_runtime/graph.py) and runs the same without it.
"""

from __future__ import annotations

from ...ir.types import describe as describe_type
from ..stages import member_name


def graph(plans) -> dict:
    services = {}
    for plan in plans:
        stages = {}
        for stage in plan.stages:
            stages[stage.export] = {
                "operators": [{"name": member_name(m), "kind": m.op} for m in stage.members],
                "input": _edge(stage.input),
                "output": _edge(stage.output),
            }
        services[plan.name] = stages
    return {"format": 1, "services": services}


def _edge(edge) -> str:
    if edge is None:
        return ""
    text = describe_type(edge.type)
    return f"{text}, key {describe_type(edge.key)}" if edge.key is not None else text
