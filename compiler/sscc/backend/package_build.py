"""`sscc build [DIR]`: build a package project's functions to wasm, offline.

A package has no services, so sscc builds each function the way a dataflow that imports the
package would run it: it writes a small dataflow (`<package>.build.yaml`, in a scratch directory)
that imports the package by path and gives each stateless function (map, filter, filter-map,
flat-map) a service of its own, reading a topic of the function's input type, then compiles
that dataflow with the ordinary back end. Each function's module is the same crate a pipeline
using it would build, so what builds here builds there (docs/packages.md). Functions of other
operators (assign-key, update-state, assign-timestamp, flush) need a partition or a window around
them: they are checked, and built when a dataflow uses them.

Nothing here prints; problems are diagnostics (E111 when DIR holds no package file).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Optional

import yaml

from ..diagnostics import Diagnostics, SourceCache, Span
from ..driver import PACKAGE_FILE_NAMES, FrontEnd, Options, find_package_file, front_end, optimized_ir
from . import stages as stage_plan

STATELESS = ("map", "filter", "filter-map", "flat-map")


@dataclass
class PackageBuild:
    package_file: Optional[str]
    diags: Diagnostics
    fe: Optional[FrontEnd] = None
    modules: dict[str, bytes] = field(default_factory=dict)  # function name -> wasm
    skipped: dict[str, str] = field(default_factory=dict)  # function name -> why it was not built alone

    @property
    def ok(self) -> bool:
        return not self.diags.has_errors and self.fe is not None


def build_package(path: str, sources: SourceCache, cache_dir: Optional[str] = None) -> PackageBuild:
    """Check the package at `path` (a directory or its sdf-package.yaml) and build its functions."""
    pkg_file = find_package_file(path)
    if pkg_file is None:
        diags = Diagnostics()
        names = " or ".join(PACKAGE_FILE_NAMES[:2])
        hint = "`sscc compile` builds a dataflow.yaml" if os.path.isfile(os.path.join(path, "dataflow.yaml")) else "run it in a package directory"
        diags.error("E111", Span(path, 0, 0), f"no package file ({names}) in `{path}`", hint)
        return PackageBuild(None, diags)
    fe = front_end(pkg_file, Options(mode="compile"), sources)
    result = PackageBuild(pkg_file, fe.diags, fe)
    if fe.pipeline is None or not fe.ok:
        return result
    if fe.kind != "package":
        fe.diags.error("E111", Span(pkg_file, 1, 1), f"`{pkg_file}` is a {fe.kind} file, not a package", "`sscc compile` builds a dataflow")
        return result
    raw = _raw_functions(pkg_file)
    services = {}
    for name, fn in fe.pipeline.functions.items():
        op = (fn.declared_operator or "").replace("_", "-")
        if op not in STATELESS:
            result.skipped[name] = f"a{'n' if op[:1] in 'aeiou' else ''} {op or 'untyped'} function runs inside a dataflow's partition or window: it is built with the dataflow that uses it"
            continue
        services[name] = raw.get(name, {})
    if not services:
        return result
    with tempfile.TemporaryDirectory(prefix="sscc-package-") as tmp:
        flow = os.path.join(tmp, f"{fe.pipeline.meta.name if fe.pipeline.meta else 'package'}.build.yaml")
        with open(flow, "w", encoding="utf-8") as fh:
            fh.write(build_dataflow(fe, pkg_file, services))
        _build_flow(flow, result, sources, cache_dir)
    return result


def _build_flow(flow: str, result: PackageBuild, sources: SourceCache, cache_dir: Optional[str]) -> None:
    from .rust import build_service

    options = Options(mode="compile")
    ffe = front_end(flow, options, sources)
    # The generated dataflow's own problems are sscc's; the package's are reported at its files.
    for d in ffe.diags.items:
        result.diags.items.append(d)
    if not ffe.ok:
        return
    ir = optimized_ir(ffe, options)
    for plan in stage_plan.plan(ir):
        if plan.unsupported:
            result.diags.error("E220", Span(result.package_file, 1, 1), f"function `{plan.name}` cannot be built: {'; '.join(plan.unsupported)}")
            continue
        wasm = build_service(ir, plan, flow, result.diags, cache_dir)
        if wasm is not None:
            result.modules[plan.name] = wasm


def build_dataflow(fe: FrontEnd, pkg_file: str, functions: dict[str, dict]) -> str:
    """The dataflow that runs each function as a one-step service (YAML text)."""
    pkg = fe.pipeline
    meta = pkg.meta
    api = "0.6.0" if pkg.api_version == "0.6.0" else "0.5.0"
    ref = f"{meta.namespace}/{meta.name}@{meta.version}"
    topics, services = {}, {}
    for name, raw in functions.items():
        inputs = [p for p in (raw.get("inputs") or []) if isinstance(p, dict)]
        key = next((p for p in inputs if p.get("kind") == "key"), None)
        values = [p for p in inputs if p.get("kind") != "key"]
        schema: dict = {}
        if values:
            schema["value"] = {**_type_spec(values[0]), "converter": "json"}
        else:
            schema["value"] = {"type": "string", "converter": "raw"}
        if key is not None:
            schema["key"] = _type_spec(key)
        topics[f"{name}-in"] = {"schema": schema}
        services[name] = {
            "sources": [{"type": "topic", "id": f"{name}-in"}],
            "transforms": [{"operator": raw.get("operator", "map"), "uses": name}],
        }
    doc = {
        "apiVersion": api,
        "meta": {"name": f"{meta.name}-build", "version": meta.version, "namespace": meta.namespace},
        "imports": [
            {
                "pkg": ref,
                "path": os.path.dirname(os.path.abspath(pkg_file)),
                "types": [{"name": t} for t in pkg.types],
                "functions": [{"name": f} for f in functions],
            }
        ],
        "topics": topics,
        "services": services,
    }
    if not pkg.types:
        del doc["imports"][0]["types"]
    return "# Generated by `sscc build` to build each function of the package. Do not edit.\n" + yaml.safe_dump(
        doc, sort_keys=False, default_flow_style=False
    )


def _type_spec(param: dict) -> dict:
    """An input's type as a topic schema (the type keys as written, without name/kind)."""
    return {k: v for k, v in param.items() if k not in ("name", "kind", "optional")}


def _raw_functions(pkg_file: str) -> dict:
    """`functions:` of the package file as plain YAML, by kebab name (types copied as written)."""
    from ..ast import kebab

    try:
        with open(pkg_file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return {}
    fns = data.get("functions") if isinstance(data, dict) else None
    return {kebab(str(k)): v for k, v in fns.items() if isinstance(v, dict)} if isinstance(fns, dict) else {}
