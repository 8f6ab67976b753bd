"""`sscc compile`: front end -> optimized IR -> stage plans -> wasm modules -> the project tree.

`build()` computes every file of the project in memory (nothing touches the disk but the Rust
build cache), `compile_project()` also writes them (files.write_tree) and the depfile. Errors
are diagnostics on `Compiled.fe.diags`; nothing here prints.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ... import __version__, status
from ...diagnostics import SourceCache
from ...driver import FrontEnd, Options, front_end, optimized_ir
from ...ir.nodes import IR, Topic
from ...ir.serialize import to_json
from ...ir.types import describe as describe_type
from .. import stages as stage_plan
from . import depfile, files
from .describe import describe, topic_names, topic_partitions
from .graph import graph as stage_graph
from .names import distribution_name, module_file, package_name, python_version
from .render import render

FALLBACK_VERSION = "0.0.0"


@dataclass
class Compiled:
    fe: FrontEnd
    package: Optional[str] = None
    files: dict[str, bytes] = field(default_factory=dict)  # relative posix path -> content
    inputs: list[str] = field(default_factory=list)  # every file the front end read
    stale: list[str] = field(default_factory=list)  # removed from the output by this compile

    @property
    def ok(self) -> bool:
        return self.fe.ok and bool(self.files)


def input_files(fe: FrontEnd) -> list[str]:
    """The pipeline, then every imported package file (sorted) and its Rust sources, each once."""
    from ..rust.packages import source_files

    out = [fe.path]
    for pkg in sorted({p.path for p in fe.packages.values() if getattr(p, "path", None)}):
        if os.path.abspath(pkg) != os.path.abspath(fe.path):
            out.append(pkg)
            out += source_files(os.path.dirname(os.path.abspath(pkg)))
    return out


def build(path: str, options: Options, sources: Optional[SourceCache] = None) -> Compiled:
    options = Options(strict=options.strict, mode="compile", disabled_passes=options.disabled_passes, optimize=options.optimize)
    fe = front_end(path, options, sources or SourceCache())
    result = Compiled(fe)
    if fe.pipeline is None or fe.kind != "dataflow" or not fe.ok:
        return result
    result.inputs = input_files(fe)
    status.note(f"{path}: optimizing the IR")
    ir = optimized_ir(fe, options)
    plans = stage_plan.plan(ir)
    for plan in plans:
        service = fe.pipeline.services.get(plan.name)
        for reason in plan.unsupported:
            fe.diags.error(
                "E220",
                service.span,
                f"service `{plan.name}` cannot be compiled yet: {reason}",
                "sscc compiles services of map, filter, filter-map, flat-map and, with keyed value and arrow-row states,"
                " assign-key, update-state and windows (assign-timestamp, flush) in inline Rust so far;"
                " `sscc check` and `sscc ir` accept this pipeline",
            )
    if fe.diags.has_errors:
        return result
    modules = _build_modules(ir, plans, fe)
    if modules is None:
        return result
    result.package = package_name(fe.pipeline.meta.name)
    result.files = _project_files(fe, ir, plans, modules, result.package, options.strict)
    if fe.diags.has_errors:  # a warning made an error by --strict
        result.files = {}
    return result


def compile_project(
    path: str, out_dir: str, options: Options, sources: Optional[SourceCache] = None, depfile_path: Optional[str] = None
) -> Compiled:
    result = build(path, options, sources)
    if not result.ok:
        return result
    result.stale = files.write_tree(Path(out_dir), result.files)
    if depfile_path:
        outputs = ["plan.json", *sorted(p for p in result.files if p != "plan.json")]
        depfile.write(depfile_path, out_dir, outputs, result.inputs)
    return result


def _build_modules(ir: IR, plans, fe: FrontEnd) -> Optional[dict[str, bytes]]:
    """{wasm/<service>.wasm: bytes}, or None when a build failed (its diagnostics are on fe)."""
    from ..rust import build_service  # imported late: the Rust backend is only needed to compile

    modules: dict[str, bytes] = {}
    line_maps: dict[str, dict] = {}
    for i, plan in enumerate(plans, 1):
        status.note(f"service {plan.name} ({i}/{len(plans)}): Rust -> wasm")
        wasm = build_service(ir, plan, fe.path, fe.diags, line_maps=line_maps)
        if wasm is None:
            return None
        modules[module_file(plan.name)] = wasm
        # beside the module: panic locations back to the pipeline file (sscc_runtime/linemap.py)
        lines = json.dumps(line_maps[plan.name], indent=1, ensure_ascii=False) + "\n"
        modules[module_file(plan.name)[: -len(".wasm")] + ".lines.json"] = lines.encode()
    return None if fe.diags.has_errors else modules


def _project_files(fe: FrontEnd, ir: IR, plans, modules: dict[str, bytes], package: str, strict: bool) -> dict[str, bytes]:
    pipe = fe.pipeline
    meta = pipe.meta
    version = python_version(meta.version)
    if version is None:
        report = fe.diags.error if strict else fe.diags.warning
        report(
            "W220",
            meta.span,
            f"meta.version `{meta.version}` is not a version pip accepts; the emitted pyproject.toml says {FALLBACK_VERSION}",
            "use a version like 0.1.0",
        )
        version = FALLBACK_VERSION
    context = _context(fe, ir, plans, package, version)
    out: dict[str, bytes] = {
        "pyproject.toml": render("pyproject.toml.j2", context).encode(),
        "README.md": render("README.md.j2", context).encode(),
        f"{package}/__init__.py": render("__init__.py.j2", context).encode(),
        f"{package}/__main__.py": render("__main__.py.j2", context).encode(),
        f"{package}/pipeline.py": render("pipeline.py.j2", context).encode(),
        f"{package}/services.json": (json.dumps(describe(ir, plans, pipe), indent=2, ensure_ascii=False) + "\n").encode(),
        f"{package}/graph.json": (json.dumps(stage_graph(plans), indent=1, ensure_ascii=False) + "\n").encode(),
        "plan.json": (to_json(ir) + "\n").encode(),
    }
    for rel, data in modules.items():
        out[f"{package}/{rel}"] = data
    for rel, data in files.runtime_files().items():
        out[f"{package}/sscc_runtime/{rel}"] = data
    return dict(sorted(out.items()))


def _context(fe: FrontEnd, ir: IR, plans, package: str, version: str) -> dict:
    pipe = fe.pipeline
    meta = pipe.meta
    names, partitions = topic_names(ir), topic_partitions(ir)
    writers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    for plan in plans:
        for src in plan.sources:
            if src.endpoint == "topic":
                readers.setdefault(src.topic, []).append(plan.name)
        for snk in plan.sinks:
            writers.setdefault(snk.topic, []).append(plan.name)
    topics = []
    for node in sorted((n for n in ir.nodes if isinstance(n, Topic)), key=lambda n: n.topic):
        topics.append(
            {
                "id": node.topic,
                "name": names[node.topic],
                "partitions": partitions[node.topic],
                "value": f"{describe_type(node.value)} ({node.value_converter})",
                "key": f"{describe_type(node.key)} ({node.key_converter})" if node.key is not None else "-",
                "writers": ", ".join(writers.get(node.topic, [])) or "you (topic produce)",
                "readers": ", ".join(readers.get(node.topic, [])) or "you (topic consume)",
            }
        )
    inputs = [t["name"] for t in topics if t["id"] not in writers] or [t["name"] for t in topics][:1] or ["TOPIC"]
    outputs = [t["name"] for t in topics if t["id"] not in readers] or [t["name"] for t in topics][-1:] or ["TOPIC"]
    services = []
    for plan in plans:
        services.append(
            {
                "name": plan.name,
                "module": f"{package}/{module_file(plan.name)}",
                "sources": ", ".join(
                    f"`{names.get(s.topic, s.topic)}`" if s.endpoint == "topic" else f"schedule `{s.topic}`"
                    for s in plan.sources
                ),
                "sinks": ", ".join(f"`{names.get(s.topic, s.topic)}`" for s in plan.sinks) or "none",
                "stages": [{"export": s.export, "name": s.name, "place": _place(plan, s)} for s in plan.stages],
                "stage_names": [s.name for s in plan.stages],
            }
        )
    return {
        "sscc_version": __version__,
        "wasmtime_version": importlib.metadata.version("wasmtime"),
        "source": os.path.basename(fe.path),
        "api_version": pipe.api_version,
        "meta_name": meta.name,
        "meta_version": meta.version,
        "namespace": meta.namespace,
        "title": f"{meta.namespace}/{meta.name}@{meta.version}",
        "description": f"The `{meta.namespace}/{meta.name}@{meta.version}` stream-processing pipeline ({len(plans)} service{'s' if len(plans) != 1 else ''}).",
        "dist_name": distribution_name(meta.name),
        "version": version,
        "package": package,
        "prog": f"python -m {package}",
        "topics": topics,
        "services": services,
        "first_input": inputs[0],
        "first_output": outputs[0],
        "states": [st.name for plan in plans for st in plan.states],
        "windowed": any(plan.window is not None for plan in plans),
    }


def _place(plan, stage) -> str:
    if stage.place == "source":
        return f"records of source `{plan.sources[stage.endpoint].topic}`"
    if stage.place == "sink":
        return f"records for sink `{plan.sinks[stage.endpoint].topic}`"
    if stage.place == "flush":
        return "each closing window (its flush output)"
    if stage.place == "repartition":
        return "records before the repartition topic (state in several shards)"
    if stage.place == "keyed":
        return "records of the repartition topic, in the task owning their key's shard"
    return "the merged stream"
