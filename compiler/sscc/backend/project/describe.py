"""The runtime's service description (format 1, docs/runtime.md §2) from the stage plans.

The mapping is 1:1: sources[i].stages = the plan's stages at ("source", i), stages = those at
("service"), sinks[j].stages = those at ("sink", j); every stage is the export `sscc_stage_<n>`
of `wasm/<service>.wasm`. Topics are addressed by their broker name (`topics.<id>.name`),
which is what the store keeps. Starting offsets come from the pipeline file: the topic's
`consumer`, else `config.consumer` (SDF-FORMAT.md §3; the whole object, not merged).
"""

from __future__ import annotations

from typing import Optional

from ... import ast as A
from ...ir.nodes import IR, Source, Topic
from ..stages import ServicePlan, Stage
from .names import module_file

FORMAT = 1


def topic_names(ir: IR) -> dict[str, str]:
    """Topic id -> broker name."""
    return {n.topic: n.name for n in ir.nodes if isinstance(n, Topic)}


def topic_partitions(ir: IR) -> dict[str, int]:
    """Topic id -> partitions to create it with: the most any source reading it declares, else 1."""
    out: dict[str, int] = {n.topic: 1 for n in ir.nodes if isinstance(n, Topic)}
    for n in ir.nodes:
        if isinstance(n, Source) and n.endpoint == "topic":
            out[n.topic] = max(out.get(n.topic, 1), n.partitions)
    return out


def starting_offset(pipeline: A.Pipeline, topic_id: str) -> Optional[dict]:
    """The SDF `default_starting_offset` that applies to a source of this topic, or None (End)."""
    topic = pipeline.topics.get(topic_id)
    consumer = topic.consumer if topic and topic.consumer else pipeline.config.consumer
    offset = consumer.starting_offset if consumer else None
    if offset is None:
        return None
    return {"position": offset.position, "value": int(offset.value or 0)}


def describe(ir: IR, plans: tuple[ServicePlan, ...], pipeline: A.Pipeline) -> dict:
    names, partitions = topic_names(ir), topic_partitions(ir)

    def stages(found: tuple[Stage, ...], module: str) -> list[dict]:
        return [{"name": s.name, "module": module, "export": s.export} for s in found]

    services = []
    for plan in plans:
        module = module_file(plan.name)
        sources = []
        for i, src in enumerate(plan.sources):
            entry = {"topic": names.get(src.topic, src.topic), "partitions": partitions.get(src.topic, src.partitions)}
            offset = starting_offset(pipeline, src.topic)
            if offset is not None:
                entry["starting_offset"] = offset
            entry["stages"] = stages(plan.stages_at("source", i), module)
            sources.append(entry)
        sinks = [
            {
                "topic": names.get(snk.topic, snk.topic),
                "partitions": partitions.get(snk.topic, 1),
                "stages": stages(plan.stages_at("sink", j), module),
            }
            for j, snk in enumerate(plan.sinks)
        ]
        entry = {
            "name": plan.name,
            "sources": sources,
            "stages": stages(plan.stages_at("service"), module),
            "sinks": sinks,
        }
        if plan.window is not None:  # the window stage classifies; `flush` runs per closing window
            w = plan.window
            entry["window"] = {
                "kind": w.node.kind,
                "duration_ms": w.node.duration_ms,
                "slide_ms": w.slide_ms,
                "offset_ms": w.offset_ms,
                "grace_ms": w.grace_ms,
                "idleness_ms": w.idleness_ms,
                "stage": plan.stages[w.stage].export,
                "flush": stages(plan.stages_at("flush"), module),
            }
        if plan.states:  # keyed value states, in the guest's state order
            entry["states"] = [{"name": st.name, "changelog": f"{plan.name}.{st.name}.changelog"} for st in plan.states]
        services.append(entry)
    return {"format": FORMAT, "services": services}
