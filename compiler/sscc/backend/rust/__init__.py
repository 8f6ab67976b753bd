"""The Rust operator backend: one crate per service, built to wasm32 offline and cached.

    crate = generate_crate(ir, plan, pipeline_path)        # Crate.files: relative path -> text
    wasm = build_service(ir, plan, pipeline_path, diags)  # .wasm bytes, or None + diagnostics

codegen.py writes the crate (types.py: pipeline types in Rust), toolchain.py finds cargo/rustc and
the offline registry, build.py runs cargo behind a content-addressed cache, and this module turns
what goes wrong into diagnostics E200–E219 (docs/errors.d/backend_rust.md) placed on the pipeline
file: a rustc error inside an inline code block points at its line in the YAML.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from ...diagnostics import Diagnostics, Span
from ...ir.nodes import IR, Dependency
from ..stages import ServicePlan
from . import toolchain as tc
from .build import BuildResult, Message, build, cache_root
from . import http_crate
from .codegen import Crate, GenerateProblem, Region, cargo_version, generate
from .packages import PackageProblem
from .sandbox import UNSANDBOXED_ENV, SandboxUnavailable
from .wasm_imports import foreign_imports

__all__ = ["Crate", "generate_crate", "build_service", "cache_root"]

MAX_OUTPUT = 6000  # characters of cargo output quoted in a diagnostic
# Early 0.5 (and older) code got a Polars DataFrame for a state and queried it with Polars itself.
POLARS = re.compile(r"\bpolars\s*::")


def crate_code(crate: Crate, member) -> Optional[str]:
    """The inline code text of an IR member of the crate's stages, if it has any."""
    code_id = getattr(member, "code", None)
    return next((r.code.text for r in crate.regions if r.code.id == code_id), None)


def generate_crate(ir: IR, plan: ServicePlan, pipeline_path: str) -> Crate:
    """The crate of one runnable service. Raises GenerateProblem when the service cannot be
    written in Rust (build_service reports that as E204 instead)."""
    base = os.path.dirname(os.path.abspath(pipeline_path))
    crate = generate(ir, plan, base)
    if any(d.path for d in crate.dependencies):  # path dependencies are relative to the pipeline file
        toml = crate.files["Cargo.toml"]
        for d in crate.dependencies:
            if d.path and not os.path.isabs(d.path) and not http_crate.is_http(d):
                toml = toml.replace(f'path = "{d.path}"', f'path = "{os.path.join(base, d.path)}"')
        crate.files["Cargo.toml"] = toml
    return crate


def build_service(
    ir: IR,
    plan: ServicePlan,
    pipeline_path: str,
    diags: Diagnostics,
    cache_dir: Optional[str] = None,
    line_maps: Optional[dict] = None,
) -> Optional[bytes]:
    """The service's wasm module, from the cache or built now; None after adding diagnostics.
    `line_maps`: receives the crate's line map under the service's name (`line_map`)."""
    where = _service_span(plan, pipeline_path)
    try:
        crate = generate_crate(ir, plan, pipeline_path)
        if line_maps is not None:
            line_maps[plan.name] = line_map(crate, pipeline_path)
    except PackageProblem as e:
        diags.error("E110", Span(e.path or pipeline_path, e.line, e.col), f"cannot compile service `{plan.name}`: {e}", e.hint)
        return None
    except GenerateProblem as e:
        span = _span(e.node.span, pipeline_path) if e.node is not None else where
        diags.error("E204", span, f"cannot generate the Rust crate of service `{plan.name}`: {e}", e.hint)
        return None
    except Exception as e:  # a bug in the generator must still reach the user as a diagnostic
        diags.error(
            "E203",
            where,
            f"the Rust crate of service `{plan.name}` could not be generated (a bug in sscc): {type(e).__name__}: {e}",
            "please report it with the pipeline file",
        )
        return None
    found = tc.find()
    if isinstance(found, str):
        diags.error("E200", where, f"cannot build service `{plan.name}`: {found}", f"install the toolchain: {tc.INSTALL}")
        return None
    if not _dependencies_available(crate, plan, found, pipeline_path, diags):
        return None
    try:
        result = build(crate, found, cache_dir)
        foreign = foreign_imports(result.wasm) if result.wasm is not None else []
    except SandboxUnavailable as e:
        diags.error(
            "E208",
            where,
            f"cannot build service `{plan.name}`: the build sandbox cannot start: {e}",
            f"install bubblewrap (`apt-get install bubblewrap`), or build without the sandbox, for a pipeline "
            f"you trust, with {UNSANDBOXED_ENV}=1",
        )
        return None
    except (OSError, ValueError) as e:  # an unwritable cache, a full disk, a damaged cached module
        diags.error(
            "E207",
            where,
            f"cannot build service `{plan.name}`: {e}",
            f"check the build cache {cache_root(cache_dir)} (set SSCC_CACHE_DIR to use another directory)",
        )
        return None
    if result.wasm is not None:
        if foreign:
            deps = ", ".join(f"`{d.name}`" for d in crate.dependencies) or "none"
            diags.error(
                "E206",
                where,
                f"the wasm module of service `{plan.name}` imports {', '.join(foreign[:4])}{' ...' if len(foreign) > 4 else ''}; "
                "stage modules may import only the host's `sql()` and WASI preview 1",
                f"an `extern` block in the code, or a dependency built for a JavaScript host (wasm-bindgen); dependencies: {deps}. "
                "Remove the block, or turn the dependency's JavaScript features off (`default_features: false` and only the features you need)",
            )
            return None
        return result.wasm
    _report_failure(crate, plan, result, pipeline_path, diags, where, found)
    return None


# ---------------------------------------------------------------------------- dependencies


def _dependencies_available(
    crate: Crate, plan: ServicePlan, toolchain: tc.Toolchain, pipeline_path: str, diags: Diagnostics
) -> bool:
    """One E202 per unusable (function, crate) pair; True when every dependency can be built."""
    ok = True
    seen = set()
    for stage in plan.stages:
        for m in stage.members:
            code = crate_code(crate, m)
            if code is not None and POLARS.search(code) and "polars" not in seen:
                seen.add("polars")
                line, col = _code_origin(m.span)
                diags.error(
                    "E202",
                    Span(pipeline_path, line, col),
                    f"`{m.function}` uses SDF's early Polars state API (`polars::`); no offline package builds "
                    "Polars for wasm32, so sscc does not provide it",
                    'read state with `sql("select ...")` (SDF 0.5 and later), which sscc runs over SQLite',
                )
                ok = False
            if getattr(m, "package", None) and getattr(m, "code", None) is None:
                continue  # a package function: its Cargo.toml's dependencies are checked below
            for dep in getattr(m, "dependencies", ()):
                if (dep.name, dep.version, dep.git) in seen:
                    continue
                seen.add((dep.name, dep.version, dep.git))
                problem = _dependency_problem(dep, toolchain.registry)
                if problem:
                    message, hint = problem
                    diags.error("E202", _dependency_span(m.span, dep, pipeline_path), message, hint)
                    ok = False
    for p in crate.packages:
        for cd in p.dependencies:
            if (cd.dep.name, cd.manifest) in seen:
                continue
            seen.add((cd.dep.name, cd.manifest))
            problem = _package_dependency_problem(cd.dep, toolchain.registry)
            if problem:
                message, hint = problem
                diags.error("E202", Span(cd.manifest, cd.line, 1), f"{message} (a dependency of package `{p.package}`)", hint)
                ok = False
    return ok


def _package_dependency_problem(dep: Dependency, registry: str) -> Optional[tuple[str, str]]:
    if dep.path and not os.path.isfile(os.path.join(dep.path, "Cargo.toml")):
        return (
            f"dependency `{dep.name}` is a local crate at {dep.path}, which is not there",
            "copy the crate to that path (it lives outside the package directory in its repository)",
        )
    if dep.path:
        return None
    return _dependency_problem(dep, registry)


def _dependency_problem(dep: Dependency, registry: str) -> Optional[tuple[str, str]]:
    if http_crate.is_http(dep):  # sscc's own sdf-http (docs/http.md), built on the `http` crate
        missing = [c for c in http_crate.NEEDS if not tc.available_versions(registry, c)]
        if missing:
            return (
                f"crate `{dep.name}` (sscc provides it) needs {', '.join(f'`{c}`' for c in missing)} from the offline registry {registry}",
                "try: apt-get install " + " ".join(tc.apt_package(c) for c in missing),
            )
        return None
    if dep.path:
        return None
    if dep.git:
        return (
            f"dependency `{dep.name}` comes from git ({dep.git}), which an offline build cannot fetch",
            f"vendor the crate and use `path:`, or install it into {registry}",
        )
    versions = tc.available_versions(registry, dep.name)
    install = f"try: apt-get install {tc.apt_package(dep.name)}"
    if not versions:
        return f"crate `{dep.name}` is not in the offline registry {registry}", install
    want = cargo_version(dep.version)
    if not any(tc.compatible(want, v) for v in versions):
        return (
            f"crate `{dep.name}` {dep.version} is not in the offline registry {registry} (it has {', '.join(versions)})",
            f"ask for a version compatible with {versions[-1]}, or {install}",
        )
    return None


def _dependency_span(step_span: str, dep: Dependency, pipeline_path: str) -> Span:
    """The `name: <crate>` line of the dependency below its step (the IR keeps no span for it)."""
    line, col = _code_origin(step_span)
    try:
        with open(pipeline_path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except OSError:
        return Span(pipeline_path, line, col)
    pattern = re.compile(r"\bname:\s*[\"']?" + re.escape(dep.name) + r"[\"']?\s*$")
    for n in range(line - 1, min(len(lines), line + 200)):
        m = pattern.search(lines[n])
        if m:
            start = lines[n].index(dep.name, m.start())
            return Span(pipeline_path, n + 1, start + 1, n + 1, start + 1 + len(dep.name))
        if n > line - 1 and lines[n].lstrip().startswith("run:"):
            break
    return Span(pipeline_path, line, col)


# ---------------------------------------------------------------------------- build failures


def _report_failure(
    crate: Crate,
    plan: ServicePlan,
    result: BuildResult,
    pipeline_path: str,
    diags: Diagnostics,
    where: Span,
    toolchain: tc.Toolchain,
) -> None:
    generated: list[Message] = []
    user = 0
    for msg in result.messages:
        if msg.file is None and msg.message.startswith(("aborting due to", "could not compile")):
            continue  # rustc's summary lines, not errors of their own
        if msg.file in crate.origins:  # a package's helper module, copied verbatim
            user += 1
            span = Span(crate.origins[msg.file], msg.line, msg.col)
            diags.error("E201", span, f"Rust error in a package module: {msg.message}", _newer_rust_hint(toolchain), _notes(msg))
            continue
        region = crate.region_at(msg.line) if msg.file == "src/lib.rs" else None
        if region is None:
            generated.append(msg)
            continue
        user += 1
        span, context = _user_span(region, msg, pipeline_path)
        diags.error("E201", span, f"Rust error in `{region.function}`{context}: {msg.message}", _newer_rust_hint(toolchain), _notes(msg) + _api_notes(crate, msg, toolchain))
    if generated:
        text = "\n".join(m.rendered.rstrip() for m in generated)
        diags.error(
            "E203",
            where,
            f"the generated Rust code of service `{plan.name}` does not compile (a bug in sscc)",
            "please report it with the pipeline file; rustc said:\n" + _tail(text),
        )
    elif not user:
        diags.error(
            "E205",
            where,
            f"cargo failed to build service `{plan.name}`",
            "cargo said:\n" + _tail(result.output or "(no output)"),
        )


_MISSING_API = re.compile(r"no (method|function or associated item|variant|associated item|field) named|cannot find|unresolved|not found in")


def _api_notes(crate: Crate, msg: Message, toolchain: tc.Toolchain) -> list[str]:
    """Why an API the code names may be missing: the offline crate is older than the version the
    pipeline asks for (sscc builds against the compatible version it has), or a `from:` reference
    offers only `.sql(...)`."""
    if not _MISSING_API.search(msg.message):
        return []
    notes = []
    for d in crate.dependencies:
        if d.path or not d.version:
            continue
        have = [v for v in tc.available_versions(toolchain.registry, d.name) if tc.compatible(cargo_version(d.version), v)]
        if have and _version_key(have[-1]) < _version_key(d.version):
            notes.append(
                f"the pipeline asks for `{d.name}` {d.version}; the offline registry has {have[-1]}, "
                f"which sscc builds against and which may not have it yet"
            )
    if "SsccRef" in msg.message:
        notes.append("a `from:` state reference offers only `.sql(\"select ...\")`; the dataframe it returns has `.rows()`, `.col()`")
    return notes


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def _notes(msg: Message) -> list[str]:
    return ([f"rustc: {msg.label}"] if msg.label else []) + list(msg.notes)


def _newer_rust_hint(toolchain: tc.Toolchain) -> str:
    return f"built with {_rustc_release(toolchain)} for {tc.TARGET}: newer Rust (e.g. `let ... else`) is not available"


def _rustc_release(toolchain: tc.Toolchain) -> str:
    """`rustc 1.63.0` from the toolchain's version text."""
    first = toolchain.version.split("\n", 1)[0]
    return " ".join(first.split()[:2]) or "rustc"


def _user_span(region: Region, msg: Message, pipeline_path: str) -> tuple[Span, str]:
    """Where in the pipeline file a rustc span inside `region` is; the text says how it relates."""
    source = getattr(region.code, "file", "")
    if source:  # a package function's file: its lines are the crate's lines, one to one
        if region.kind == "wrapper":
            return Span(source, region.fn_line, region.fn_col, region.fn_line, region.fn_col + len(region.function)), " (its signature, as sscc calls it)"
        line = msg.line - region.start + 1
        end_line = msg.end_line - region.start + 1 if msg.end_line else line
        return Span(source, line, msg.col, end_line, msg.end_col or msg.col + 1), ""
    code_line, code_col = _code_origin(region.code.span)
    if region.kind == "wrapper":  # the call sscc generates: blame the operator's signature
        line = code_line + region.fn_line - 1
        col = code_col + region.fn_col - 1
        return Span(pipeline_path, line, col, line, col + len(region.function)), " (its signature, as sscc calls it)"
    text_line = msg.line - region.start + 1  # 1-based line within the code text
    if not _maps_line_for_line(region.code, pipeline_path):  # folded or quoted scalar: no 1:1 lines
        return Span(pipeline_path, code_line, code_col), f" (line {text_line} of its code, column {msg.col})"
    line = code_line + text_line - 1
    col = code_col + msg.col - 1
    end_line = code_line + (msg.end_line - region.start) if msg.end_line else line
    end_col = code_col + msg.end_col - 1 if msg.end_col else col + 1
    return Span(pipeline_path, line, col, end_line, end_col), ""


def line_map(crate: Crate, pipeline_path: str) -> dict:
    """Where the generated lines of the crate came from, for the runtime to put panic locations
    (`src/lib.rs:L:C` in a panic message) back in the pipeline file, as rustc errors are
    (runtime_stub/sscc_runtime/linemap.py reads it; docs/abi.md §6). Each region of src/lib.rs is
    [first, last, file, line, col, how]: `lines` = line L is line + (L - first) of `file`, column
    C is col + C - 1; `at` = a folded or quoted block whose lines are not the file's: point at
    (line, col) and name the code's own line; `call` = sscc's call of the operator: its
    signature at (line, col). `files`: copied package sources, whose lines are their own."""
    regions = []
    for region in crate.regions:
        source = getattr(region.code, "file", "")
        if source:  # a package function's file: its lines are the crate's lines, one to one
            if region.kind == "wrapper":
                regions.append([region.start, region.end, source, region.fn_line, region.fn_col, "call"])
            else:
                regions.append([region.start, region.end, source, 1, 1, "lines"])
            continue
        code_line, code_col = _code_origin(region.code.span)
        if region.kind == "wrapper":
            line, col = code_line + region.fn_line - 1, code_col + region.fn_col - 1
            regions.append([region.start, region.end, pipeline_path, line, col, "call"])
        elif _maps_line_for_line(region.code, pipeline_path):
            regions.append([region.start, region.end, pipeline_path, code_line, code_col, "lines"])
        else:
            regions.append([region.start, region.end, pipeline_path, code_line, code_col, "at"])
    return {"format": 1, "regions": regions, "files": dict(sorted(crate.origins.items()))}


def _maps_line_for_line(code, pipeline_path: str) -> bool:
    """Does every line of the code text stand at its place in the file (a `run: |` literal)?"""
    code_line, code_col = _code_origin(code.span)
    try:
        with open(pipeline_path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except OSError:
        return False
    for i, text in enumerate(code.text.rstrip("\n").split("\n")):
        n = code_line - 1 + i
        if text.strip() and (n >= len(lines) or lines[n][code_col - 1 :].rstrip("\r") != text):
            return False
    return True


def _code_origin(span: str) -> tuple[int, int]:
    """(line, col) of a "file:line:col" span string."""
    parts = span.rsplit(":", 2)
    try:
        return int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return 1, 1


def _span(span: str, pipeline_path: str) -> Span:
    line, col = _code_origin(span)
    return Span(pipeline_path, line, col)


def _service_span(plan: ServicePlan, pipeline_path: str) -> Span:
    node = plan.stages[0].members[0] if plan.stages else (plan.sources[0] if plan.sources else None)
    return _span(node.span, pipeline_path) if node is not None else Span(pipeline_path, 1, 1)


def _tail(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT else "...\n" + text[-MAX_OUTPUT:]
