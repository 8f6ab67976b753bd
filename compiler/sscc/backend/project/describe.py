"""The runtime's service description (format 1, docs/runtime.md §2) from the stage plans.

The mapping is 1:1: sources[i].stages = the plan's stages at ("source", i), stages = those at
("service"), sinks[j].stages = those at ("sink", j); every stage is the export `sscc_stage_<n>`
of `wasm/<service>.wasm`. Topics are addressed by their broker name (`topics.<id>.name`),
which is what the store keeps. Starting offsets come from the pipeline file: the topic's
`consumer`, else `config.consumer` (SDF-FORMAT.md §3; the whole object, not merged).
Services are named `<namespace>.<pipeline>.<service>` (sscc_runtime/names.py), and so are the
topics they own. A schedule source reads the store topic `<key>.schedule.<event>` its schedule fires into, from
the beginning; `schedule` carries the cron expanded to the sets of values it matches
(docs/schedules.md).
"""

from __future__ import annotations

import os

from typing import Optional

from ... import ast as A
from ...ir.nodes import IR, Source, Topic
from ...ir.types import ArrowRow, Prim
from ...runtime_stub.sscc_runtime.names import service_key
from ..rust.codegen import package_texts, uses_sql
from ..rust.types import PRIMITIVES
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
    meta = pipeline.meta

    def key(service: str) -> str:  # the service's name in a store other pipelines may share
        return service_key(meta.namespace if meta else "", meta.name if meta else "", service)

    for plan in plans:
        module = module_file(plan.name)
        sources = []
        for i, src in enumerate(plan.sources):
            if src.endpoint == "schedule":
                sources.append(_schedule_source(key(plan.name), src, stages(plan.stages_at("source", i), module)))
                continue
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
            "name": key(plan.name),
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
        keyed = plan.stages_at("keyed")
        if keyed and plan.window is None:  # the partition step cut after assign-key (scale-out)
            entry["repartition"] = {
                "sources": [
                    stages(plan.stages_at("repartition", i) or plan.stages_at("source", i), module)
                    for i in range(len(plan.sources))
                ],
                "stages": stages(plan.stages_at("repartition"), module),
                "keyed": stages(keyed, module),
            }
        if plan.states:  # keyed states, in the guest's state order
            entry["states"] = [_state(st, st, key) for st in plan.states]
        if plan.refs:  # `from:` references: the owner's changelog, read into the SQL mirror
            entry["refs"] = [_state(ref, owner, key) for ref, owner in plan.refs]
        if uses_sql(ir, plan, package_texts(plan, os.path.dirname(os.path.abspath(pipeline.path)))):
            entry["sql"] = True
        services.append(entry)
    return {"format": FORMAT, "services": services}


def schedule_topic(service: str, event: str) -> str:
    return f"{service}.schedule.{event}"


def _schedule_source(service: str, src: Source, stages: list[dict]) -> dict:
    from ...syntax.cron import parse_cron  # the check already parsed it; here for the sets

    spec = parse_cron(src.cron or "")
    sets = ("seconds", "minutes", "hours", "days_of_month", "months", "days_of_week")
    return {
        "topic": schedule_topic(service, src.topic),
        "partitions": 1,
        "starting_offset": {"position": "Beginning", "value": 0},  # every fire is read
        "schedule": {
            "event": src.topic,
            "cron": spec.text.strip(),
            **{name: sorted(getattr(spec, name)) for name in sets},
            "days_either": spec.days_either,
        },
        "stages": stages,
    }


def _state(st, owner, key) -> dict:
    """A state as the runtime sees it: its changelog, and its SQL table's columns (`_key` first)."""
    if isinstance(owner.value, ArrowRow):
        columns = [[c.name, _sql_type(c.type)] for c in owner.value.columns]
        if owner.value.ttl:  # rows carry when they were last stored (SDF's `_updated_at`)
            columns.append(["_updated_at", "INTEGER"])
    else:
        columns = [["value", _sql_type(owner.value)]]
    return {
        "name": st.name,
        "changelog": f"{key(owner.service)}.{owner.name}.changelog",
        "kind": owner.kind,
        "columns": columns,
    }


def _sql_type(t) -> str:
    """The SQLite column type of a state column: numbers keep their kind, the rest is text."""
    rust = PRIMITIVES.get(t.name) if isinstance(t, Prim) else None
    if rust in ("f32", "f64"):
        return "REAL"
    if rust in ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "bool"):
        return "INTEGER"
    return "TEXT"
