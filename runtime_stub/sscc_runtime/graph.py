"""The operator graph of a running pipeline, for the web page (`run --ui`, docs/ui.md).

Built from the service description the loop runs (services.json), enriched by `graph.json` when
the compiler wrote one next to it (the IR's operators of every stage, with their kinds and the
record types between stages). Drawn server-side by Graphviz's `dot` into SVG; every stage node
and service cluster carries an `id` the page's script uses to write the live numbers into it.
Nothing here runs on the loop's thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .service import Service, Stage

GRAPH_FILE = "graph.json"
ARROW = " \u2192 "
STATS_LINE = "\n\u2026"  # the last label line: the page writes the live numbers there


def stage_key(stage: Stage) -> tuple:
    """How the loop's Counters key a stage (loop.Counters.stage)."""
    return (stage.module, stage.export)


class Model:
    """Services, their stages (each with a short id for the page) and the topics between them."""

    def __init__(self, name: str, services: list[Service], details: dict | None = None):
        self.name = name
        self.services = services
        details = details or {}
        self.ids: dict[tuple[str, tuple], str] = {}  # (service, stage key) -> id
        self.described: list[dict] = []
        for i, svc in enumerate(services):
            extra = details.get(svc.name) or details.get(svc.title, {})  # graph.json: the plan's own service names
            stages = []
            for place, stage in _placed(svc):
                key = (svc.name, stage_key(stage))
                if key in self.ids:
                    continue  # a stage run in two places of a hand-written description: counted once
                sid = self.ids[key] = f"s{i}_{len(stages)}"
                info = extra.get(stage.export, {})
                stages.append(
                    {
                        "id": sid,
                        "name": stage.name,
                        "export": stage.export,
                        "place": place,
                        "operators": info.get("operators")
                        or [{"name": n, "kind": ""} for n in stage.name.split(" -> ")],
                        "input": info.get("input", ""),
                        "output": info.get("output", ""),
                    }
                )
            self.described.append(
                {
                    "id": f"svc{i}",
                    "name": svc.name,
                    "sources": [
                        {"topic": s.topic, "schedule": s.schedule.cron if s.schedule else None}
                        for s in svc.sources
                    ],
                    "sinks": [s.topic for s in svc.sinks],
                    "dead_letters": svc.dead_letters,
                    "states": [{"name": st.name, "changelog": st.changelog} for st in svc.states],
                    "window": svc.window.kind if svc.window else None,
                    "stages": stages,
                }
            )

    @classmethod
    def load(cls, name: str, services: list[Service], description: Path) -> "Model":
        """With the compiler's graph.json next to services.json when there is one (an older
        project, or a hand-written description, draws from services.json alone)."""
        details = None
        path = description.parent / GRAPH_FILE
        try:
            details = json.loads(path.read_text(encoding="utf-8")).get("services")
        except (OSError, ValueError, AttributeError):
            details = None
        return cls(name, services, details if isinstance(details, dict) else None)

    def to_json(self) -> dict:
        return {"name": self.name, "services": self.described}

    # ------------------------------------------------------------------ drawing

    def dot(self) -> str:
        lines = [
            f"digraph {_q(self.name)} {{",
            '  rankdir=LR; compound=true; bgcolor="transparent";',
            '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
            '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        ]
        topics: dict[str, str] = {}
        states: dict[str, str] = {}  # changelog -> node
        reads: list[tuple[str, str, str]] = []  # (changelog, reading node, reference name)

        def topic(name: str, dead: bool = False) -> str:
            if name not in topics:
                topics[name] = f"t{len(topics)}"
                color = ', fillcolor="#fde2e1"' if dead else ', fillcolor="#e8f0fe"'
                lines.append(
                    f'  {topics[name]} [id={_q("topic:" + name)}, shape=cylinder{color}, label={_q(name)}];'
                )
            return topics[name]

        for svc, described in zip(self.services, self.described):
            ids = {s["export"]: s for s in described["stages"]}
            by_key = {stage_key(st): self.ids[(svc.name, stage_key(st))] for _, st in _placed(svc)}
            body: list[str] = []
            edges: list[str] = []

            def node(stage: Stage) -> str:
                return by_key[stage_key(stage)]

            for stage_info in described["stages"]:
                ops = ARROW.join(
                    o["name"] + (f" ({o['kind']})" if o.get("kind") not in ("", o["name"]) else "")
                    for o in stage_info["operators"]
                )
                label = _q(_wrap(ops) + STATS_LINE)
                body.append(f'    {stage_info["id"]} [id={_q("stage:" + stage_info["id"])}, label={label}];')
            entry = f"{described['id']}_merge"
            # Sources: topic -> source node -> source stages -> the service's stages.
            heads = []
            for j, src in enumerate(svc.sources):
                src_node = f"{described['id']}_src{j}"
                label = f"schedule {src.schedule.cron}" if src.schedule else f"source {src.topic}"
                body.append(f'    {src_node} [shape=oval, fillcolor="#f1f3f4", label={_q(label)}];')
                if not src.schedule:
                    edges.append(f"  {topic(src.topic)} -> {src_node};")
                last = src_node
                for stage in src.stages:
                    edges.append(f"  {last} -> {node(stage)};")
                    last = node(stage)
                heads.append(last)
            if svc.stages:
                for head in heads:
                    edges.append(f"  {head} -> {node(svc.stages[0])};")
                for a, b in zip(svc.stages, svc.stages[1:]):
                    edges.append(f"  {node(a)} -> {node(b)};")
                tails = [node(svc.stages[-1])]
            else:
                tails = heads
            if svc.window:
                # The flush chain runs when a window closes, after the window stage.
                window_stage = next((s for s in svc.stages if s.export == svc.window.stage), None)
                last = node(window_stage) if window_stage else tails[0]
                for k, stage in enumerate(svc.window.flush):
                    style = ' [style=dashed, label="window closes"]' if k == 0 else ""
                    edges.append(f"  {last} -> {node(stage)}{style};")
                    last = node(stage)
                tails = [last]
            for j, sink in enumerate(svc.sinks):
                sink_node = f"{described['id']}_sink{j}"
                body.append(f'    {sink_node} [shape=oval, fillcolor="#f1f3f4", label={_q("sink " + sink.topic)}];')
                prev = tails
                for stage in sink.stages:
                    for t in prev:
                        edges.append(f"  {t} -> {node(stage)};")
                    prev = [node(stage)]
                for t in prev:
                    edges.append(f"  {t} -> {sink_node};")
                edges.append(f"  {sink_node} -> {topic(sink.topic)};")
            # Keyed states: written by the stage that updates them (dotted), read by `from:`.
            writer = next(
                (st["id"] for st in described["stages"] if any(o.get("kind") == "update-state" for o in st["operators"])),
                node(svc.stages[-1]) if svc.stages else None,
            )
            for state in svc.states:
                sid = states.setdefault(state.changelog, f"state{len(states)}")
                body.append(f'    {sid} [shape=note, fillcolor="#fef7e0", label={_q("state " + state.name)}];')
                if writer:
                    edges.append(f"  {writer} -> {sid} [style=dotted];")
            for ref in svc.refs:
                reads.append((ref.changelog, node(svc.stages[0]) if svc.stages else heads[0], ref.name))
            anchor = tails[0] if tails else entry
            dead = topic(svc.dead_letters, dead=True)
            edges.append(
                f'  {anchor} -> {dead} [ltail=cluster_{described["id"]}, style=dashed, color="#c5221f", label="dead letters"];'
            )
            lines.append(f"  subgraph cluster_{described['id']} {{")
            lines.append(
                f'    id={_q("service:" + described["id"])}; label={_q(svc.name + STATS_LINE)};'
                ' style="rounded,filled"; fillcolor="#fafafa"; color="#9aa0a6"; fontname="Helvetica"; fontsize=11;'
            )
            lines += body
            lines.append("  }")
            lines += edges
        for changelog, reader, name in reads:
            if changelog in states:  # the owner runs in this pipeline
                lines.append(f'  {states[changelog]} -> {reader} [style=dotted, label={_q("from: " + name)}];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def svg(self) -> str:
        """The graph as SVG, or a short SVG saying why not (no `dot` on this machine)."""
        dot = shutil.which("dot")
        if dot is None:
            return _message_svg("Graphviz `dot` is not installed (apt-get install graphviz): the graph is not drawn; the tables below are live.")
        try:
            done = subprocess.run([dot, "-Tsvg"], input=self.dot().encode(), capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return _message_svg(f"dot failed: {exc}")
        if done.returncode != 0:
            return _message_svg(f"dot failed: {done.stderr.decode(errors='replace').strip()[:200]}")
        svg = done.stdout.decode("utf-8", errors="replace")
        return svg[svg.find("<svg") :] if "<svg" in svg else svg


def _placed(svc: Service):
    """(place, stage) of every stage of a service in the order records meet them."""
    for j, src in enumerate(svc.sources):
        for st in src.stages:
            yield f"source {src.topic}", st
    for st in svc.stages:
        yield "service", st
    if svc.window:
        for st in svc.window.flush:
            yield "window flush", st
    for sink in svc.sinks:
        for st in sink.stages:
            yield f"sink {sink.topic}", st


def _wrap(text: str, width: int = 44) -> str:
    """Long fused chains on several lines, broken at the arrows."""
    out, line = [], ""
    for part in text.split(ARROW):
        candidate = line + ARROW + part if line else part
        if line and len(candidate) > width:
            out.append(line + ARROW.rstrip())
            line = part
        else:
            line = candidate
    out.append(line)
    return "\n".join(out)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _message_svg(text: str) -> str:
    from html import escape

    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="40">'
        f'<text x="8" y="24" font-family="Helvetica" font-size="13">{escape(text)}</text></svg>'
    )
