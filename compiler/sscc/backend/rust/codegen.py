"""One Rust crate per service: Cargo.toml, src/lib.rs and the glue crate under guest/.

lib.rs holds, in this order (docs/backend-rust.md, "Crate layout"):
  1. a prelude: serde derives, the `Result<T, E = anyhow::Error>` alias (so both `Result<T>` and
     `Result<T, String>` compile), and an `sdfg` module re-exporting anyhow as SDF's guest crate does;
  2. the pipeline's types (types.py);
  3. each inline code block verbatim, unindented, in its own `mod op_<n> { ... use super::*; }`,
     followed by a `pub(crate) fn sscc_call` wrapper (the user's function is private to its module);
  4. one `#[no_mangle] extern "C" fn sscc_stage_<n>` per Stage, whose closure chains the members:
     decode -> operators -> encode, nested so that a filter or an empty flat-map simply emits nothing.

`Crate.regions` says which generated lines came from which code block, so rustc errors map back to
the pipeline file (build.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional

from ...ast import snake
from ...ir.nodes import IR, AssignKey, AssignTimestamp, Code, Flush, Window, Decode, Dependency, Encode, Filter, FilterMap, FlatMap, FnNode, Fused, Map, UpdateState
from ...syntax import RustFn, RustType, SyntaxProblem, operator_function, parse_functions, unwrap_result
from ..stages import ServicePlan, Stage, member_name
from . import http_crate
from . import packages as pk
from . import windows
from .types import RAW_TYPES, TypeProblem, TypeWriter, field_name, type_name

GUEST_DIR = "guest"  # where the glue crate's sources sit inside a generated crate
LIB_NAME = "sscc_service"  # the cdylib's name: target/<triple>/release/sscc_service.wasm
BASE_DEPENDENCIES = {
    "serde": '{ version = "1", features = ["derive"] }',
    "serde_json": '"1"',
    "anyhow": '"1"',
}


class GenerateProblem(Exception):
    """The crate cannot be generated; `node` is the IR node at fault (for the span), if any."""

    def __init__(self, message: str, node=None, hint: Optional[str] = None):
        super().__init__(message)
        self.node = node
        self.hint = hint


@dataclass(frozen=True)
class Region:
    """Lines start..end (1-based, inclusive) of src/lib.rs that came from `code` (kind "user"), or
    the generated wrapper of its operator function (kind "wrapper")."""

    start: int
    end: int
    kind: str
    code: Code
    function: str  # the operator's Rust name
    fn_line: int  # the operator's line within the code text
    fn_col: int


@dataclass
class Crate:
    name: str
    files: dict[str, str]  # relative path -> text; deterministic for a given IR and plan
    regions: tuple[Region, ...] = ()
    dependencies: tuple[Dependency, ...] = ()  # the functions' own `dependencies:`, merged by name
    stages: tuple[str, ...] = ()  # the export names, in plan order
    packages: tuple = ()  # packages.PackageFunction of each imported function compiled in
    origins: dict = field(default_factory=dict)  # crate file -> the package source it copies

    def region_at(self, line: int) -> Optional[Region]:
        return next((r for r in self.regions if r.start <= line <= r.end), None)


@dataclass
class _Module:
    index: int
    code: Code
    fn: RustFn
    node: FnNode
    package: Optional["pk.PackageFunction"] = None


def guest_sources() -> dict[str, str]:
    """The glue crate's files (runtime_stub/guest), keyed by their path inside a generated crate."""
    root = Path(str(resources.files("sscc.runtime_stub"))) / "guest"
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] not in ("target",) and p.name != "Cargo.lock":
            out[f"{GUEST_DIR}/{rel.as_posix()}"] = p.read_text()
    return out


def generate(ir: IR, plan: ServicePlan, base_dir: Optional[str] = None) -> Crate:
    """The crate of one runnable service; raises GenerateProblem (PackageProblem when an
    imported function's sources are missing). base_dir: the pipeline file's directory, where the
    IR's package paths start."""
    if not plan.runnable:
        raise GenerateProblem(f"service `{plan.name}` cannot run yet: {'; '.join(plan.unsupported)}")
    modules = _modules(ir, plan, base_dir or ".")
    package_fns = [m.package for m in modules.values() if m.package is not None]
    writer = TypeWriter()
    try:
        writer.declare_table(ir.types)
    except TypeProblem as e:
        raise GenerateProblem(f"a type of this pipeline cannot be written in Rust: {e}") from None
    package_texts = [p.code.text for p in package_fns]
    with_key = uses_key(ir, plan, package_texts)
    stage_code = [_StageWriter(ir, stage, modules, writer, with_key).write() for stage in plan.stages]
    lines: list[str] = []
    regions: list[Region] = []
    lines += _prelude(ir, plan, _needs_once_cell(modules), bool(package_fns))
    lines += ["// ---------------------------------------------------------------- types", ""]
    for decl in writer.decls:
        lines += decl.split("\n") + [""]
    extra_files, origins = {}, {}
    if package_fns:
        lines += pk.bindings_module({b for p in package_fns for b in p.bindings})
        for name, path in _helper_files(package_fns):
            rel = f"src/pkg/{name}.rs"
            # like an inline block, the module sees the prelude and the types (`use sdfg::...`)
            extra_files[rel] = pk.rewrite_source(pk._read(path)).rstrip("\n") + "\n#[allow(unused_imports)]\nuse super::*;\n"
            origins[rel] = path
            lines += [f'#[path = "pkg/{name}.rs"]', f"mod {name};"]
        lines.append("")
    lines += ["// ---------------------------------------------------------------- inline code", ""]
    for m in modules.values():
        # The text comes first so its own `#![...]` / `//!` lines stay valid inner attributes;
        # `use super::*;` works from anywhere in the module.
        lines += [f"// `{m.node.function}` from {m.code.span}", f"mod op_{m.index} {{"]
        text = m.code.text.rstrip("\n").split("\n")
        regions.append(Region(len(lines) + 1, len(lines) + len(text), "user", m.code, m.fn.name, m.fn.line, m.fn.col))
        lines += text
        wrapper = ["use super::*;"] + _wrapper(m.fn)
        if m.package is not None:
            wrapper += pk.param_function(m.code.text, m.package.params)
        regions.append(Region(len(lines) + 1, len(lines) + len(wrapper), "wrapper", m.code, m.fn.name, m.fn.line, m.fn.col))
        lines += wrapper + ["}", ""]
    lines += _state_code(plan, writer, uses_sql(ir, plan, package_texts))
    if with_key:
        lines += _key_fn(plan, writer)
    lines += windows.window_code(plan)
    lines += ["// ---------------------------------------------------------------- stages", "", "sscc_guest::abi_exports!();", ""]
    for code in stage_code:
        lines += code + [""]
    deps = _dependencies(plan, package_fns)
    files = {"Cargo.toml": _cargo_toml(plan, deps), "src/lib.rs": "\n".join(lines).rstrip("\n") + "\n"}
    files.update(extra_files)
    files.update(guest_sources())
    if any(http_crate.is_http(d) for d in deps):
        files.update(http_crate.sources())
    return Crate(
        _package_name(plan.name),
        dict(sorted(files.items())),
        tuple(regions),
        deps,
        tuple(s.export for s in plan.stages),
        tuple(package_fns),
        origins,
    )


def _helper_files(package_fns) -> list[tuple[str, str]]:
    """The packages' other modules (`mod x;` in lib.rs), once each; two packages that declare a
    module of the same name with different files cannot share the crate root."""
    out: dict[str, str] = {}
    for p in package_fns:
        for name, path in p.helpers:
            if name in out and os.path.realpath(out[name]) != os.path.realpath(path):
                if pk._read(out[name]) != pk._read(path):
                    raise pk.PackageProblem(
                        f"two imported packages both declare a module `{name}` with different sources",
                        "rename one of the modules",
                        path,
                    )
            out.setdefault(name, path)
    return sorted(out.items())


def module_key(m: FnNode) -> str:
    """The code block an operator runs: its inline code, or its package function and `with:`
    parameters (each distinct use of a package function is a module of its own: its statics,
    such as a compiled filter, belong to that use)."""
    if m.code is not None:
        return m.code
    return f"pkg:{m.package}#{m.package_function}#{m.params!r}"


# ---------------------------------------------------------------------------- pieces of lib.rs


ONCE_CELL_CFG = "sscc_std_once_cell"  # set by build.py for a rustc where OnceLock/LazyLock are unstable


def _needs_once_cell(modules: dict[str, "_Module"]) -> bool:
    return any(re.search(r"\b(OnceLock|LazyLock|OnceCell|LazyCell)\b", m.code.text) for m in modules.values())


def _prelude(ir: IR, plan: ServicePlan, once_cell: bool, packages: bool = False) -> list[str]:
    # SDF code uses std::sync::OnceLock/LazyLock (Rust 1.70/1.80); Debian's 1.63 has them behind
    # the `once_cell` feature, which build.py unlocks for this crate only (docs/backend-rust.md).
    feature = [f"#![cfg_attr({ONCE_CELL_CFG}, feature(once_cell))]"] if once_cell else []
    return [
        f"//! Generated by sscc from `{ir.source}`, service `{plan.name}` ({ir.name}). Do not edit:",
        "//! recompiling the pipeline rewrites it. Layout and rules: sscc docs/backend-rust.md.",
        "#![allow(unused, non_snake_case, non_camel_case_types, clippy::all)]",
        *feature,
        "",
        "pub use serde::{Deserialize, Serialize};",
        "/// `Result<T>` (SDF 0.5+, anyhow) and `Result<T, String>` (0.4 and earlier) both name this.",
        "pub type Result<T, E = anyhow::Error> = std::result::Result<T, E>;",
        "",
        "/// What inline code imports from SDF's guest crate (`sdfg::anyhow`, `use sdfg::Result`).",
        "pub mod sdfg {",
        "    pub use ::anyhow;",
        "    pub use ::anyhow::{anyhow, bail, ensure, Context, Error, Result};",
        *_package_prelude(packages),
        "}",
        "",
    ]


def _package_prelude(packages: bool) -> list[str]:
    """`use sdfg::sdf;` / `use sdf_macros::sdf;` in package sources need the name to exist; the
    attribute itself is read by sscc and blanked out (packages.py). Only crates with package
    functions get these lines, so no other crate's cache key changes."""
    if not packages:
        return []
    return [
        "    /// `use sdfg::sdf;` in package sources: sscc reads `#[sdf(...)]` itself (docs/packages.md).",
        "    pub mod sdf {}",
        "}",
        "/// `use sdf_macros::sdf;` (packages in the older sdf-macros layout).",
        "pub mod sdf_macros {",
        "    pub mod sdf {}",
    ]


def _wrapper(fn: RustFn) -> list[str]:
    """`pub(crate) fn sscc_call(...)` forwarding to the user's (private) operator function."""
    generics = f"<{', '.join(fn.generics)}>" if fn.generics else ""
    params = ", ".join(f"a{i}: {p.type.text}" for i, p in enumerate(fn.params))
    args = ", ".join(f"a{i}" for i in range(len(fn.params)))
    ret = f" -> {fn.ret.text}" if fn.ret is not None and fn.ret.kind != "unit" else ""
    return [f"pub(crate) fn sscc_call{generics}({params}){ret} {{ {fn.name}({args}) }}"]


def _modules(ir: IR, plan: ServicePlan, base_dir: str) -> dict[str, _Module]:
    """One module per distinct code block the plan runs, in order of first use."""
    out: dict[str, _Module] = {}
    for stage in plan.stages:
        for m in stage.members:
            if not isinstance(m, FnNode) or module_key(m) in out:
                continue
            if m.code is None and m.package is not None:
                p = pk.load_function(os.path.normpath(os.path.join(base_dir, m.package)), m.package_function or m.function, m.params)
                out[module_key(m)] = _Module(len(out), p.code, p.fn, m, p)
                continue
            code = ir.code_by_id(m.code)
            if code is None or m.language != "rust":
                raise GenerateProblem(f"`{m.function}` has no inline Rust code", m)
            try:
                fns = parse_functions(code.text)
            except SyntaxProblem as e:
                raise GenerateProblem(f"the code of `{m.function}` does not parse: {e}", m) from None
            fn = operator_function(fns, code.text) or next((f for f in fns if f.name == snake(m.function)), None)
            if fn is None:
                raise GenerateProblem(f"no operator function `{snake(m.function)}` in the code of `{m.function}`", m)
            out[m.code] = _Module(len(out), code, fn, m)
    return out


def _dependencies(plan: ServicePlan, package_fns=()) -> tuple[Dependency, ...]:
    seen: dict[str, Dependency] = {}
    for stage in plan.stages:
        for m in stage.members:
            for d in getattr(m, "dependencies", ()):
                seen.setdefault(d.name, d)
    for p in package_fns:
        for cd in p.dependencies:
            seen.setdefault(cd.dep.name, cd.dep)
    return tuple(seen[k] for k in sorted(seen))


def cargo_version(req: Optional[str]) -> str:
    """The requirement used offline: the semver-compatible range of what the file asks for.

    The offline registry holds one version per crate, often older than the one a pipeline names
    (`regex = "1.10.0"` while Debian ships 1.7), so `1.10.0` becomes `1` and `0.4.39` becomes `0.4`."""
    if not req or req.strip() in ("*", ""):
        return "*"
    m = re.match(r"^\s*[\^~=]?\s*(\d+)(?:\.(\d+))?", req)
    if not m:
        return req.strip()
    major, minor = m.group(1), m.group(2)
    return major if major != "0" or minor is None else f"0.{minor}"


# Crates whose default features target a JavaScript host on wasm32-unknown-unknown (wasm-bindgen
# imports the runtime refuses): unless the pipeline sets `default_features`, they get these instead.
WASM_DEFAULT_FEATURES: dict[str, tuple[str, ...]] = {}


def _dep_line(d: Dependency) -> str:
    if http_crate.is_http(d):  # provided by sscc, whatever git/tag/version/path the file gives
        return http_crate.dep_line(d)
    parts = [f'version = "{cargo_version(d.version)}"'] if not d.path else [f'path = "{d.path}"']
    features = list(d.features)
    if d.default_features is None and d.name in WASM_DEFAULT_FEATURES:
        features = sorted(set(features) | set(WASM_DEFAULT_FEATURES[d.name]))
        parts.append("default-features = false")
    elif d.default_features is False:
        parts.append("default-features = false")
    if features:
        parts.append("features = [" + ", ".join(f'"{f}"' for f in features) + "]")
    return f"{d.name} = {{ {', '.join(parts)} }}"


def _cargo_toml(plan: ServicePlan, deps: tuple[Dependency, ...]) -> str:
    lines = [
        "# Generated by sscc (docs/backend-rust.md). Do not edit.",
        "[package]",
        f'name = "{_package_name(plan.name)}"',
        'version = "0.1.0"',
        'edition = "2021"',
        "publish = false",
        "",
        "[lib]",
        f'name = "{LIB_NAME}"',
        'crate-type = ["cdylib"]',
        'path = "src/lib.rs"',
        "",
        "[dependencies]",
        f'sscc-guest = {{ path = "{GUEST_DIR}" }}',
    ]
    own = {d.name.replace("-", "_"): d for d in deps}
    for name, spec in BASE_DEPENDENCIES.items():
        if name in own and own[name].features:  # keep the base version, add the features asked for
            d = own.pop(name)
            base = ["derive"] if name == "serde" else []
            feats = ", ".join(f'"{f}"' for f in sorted(set(base) | set(d.features)))
            spec = f'{{ version = "1", features = [{feats}] }}'
        own.pop(name, None)
        lines.append(f"{name} = {spec}")
    lines += [_dep_line(d) for d in own.values()]
    lines += [
        "",
        "[profile.release]",
        'panic = "abort"  # wasm32 has no unwinding; the host isolates a trapping record (docs/abi.md §6)',
        "opt-level = 3",
        "lto = true",
        "codegen-units = 1",
        "",
        "[workspace]  # a workspace of its own, wherever the crate is written",
    ]
    return "\n".join(lines) + "\n"


def _package_name(service: str) -> str:
    return "sscc-" + (re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-") or "service")


# ---------------------------------------------------------------------------- state accessors


def _code_texts(ir: IR, plan: ServicePlan, extra=()) -> list[str]:
    """The inline code of the service, plus `extra` (the sources of its package functions)."""
    codes = {m.code for stage in plan.stages for m in stage.members if isinstance(m, FnNode) and m.code is not None}
    return [ir.code_by_id(c).text for c in sorted(codes) if ir.code_by_id(c) is not None] + list(extra)


def package_texts(plan: ServicePlan, base_dir: str) -> list[str]:
    """The sources of the package functions a service runs (for uses_sql / uses_key outside
    generate); a package whose sources cannot be read contributes nothing (generate reports it)."""
    out = []
    for stage in plan.stages:
        for m in stage.members:
            if isinstance(m, FnNode) and m.code is None and m.package is not None:
                try:
                    out.append(pk.load_function(os.path.normpath(os.path.join(base_dir, m.package)), m.package_function or m.function).code.text)
                except pk.PackageProblem:
                    pass
    return out


def uses_sql(ir: IR, plan: ServicePlan, extra=()) -> bool:
    """Whether the service's code calls `sql(...)` (then the module imports the host's `sql`)."""
    return bool(plan.refs) or any(re.search(r"\bsql\s*\(", text) for text in _code_texts(ir, plan, extra))


def uses_key(ir: IR, plan: ServicePlan, extra=()) -> bool:
    """Whether the service's code calls the context function `key()` (not a method `.key()`)."""
    return any(re.search(r"(?<![.\w])key\s*\(\s*\)", text) for text in _code_texts(ir, plan, extra))


# `key()` -> Option<KeyType> (SDF-FORMAT.md §4.4): the variant follows the state's key type.
_KEY_VARIANTS = {
    **{t: ("U64", "u64") for t in ("u8", "u16", "u32", "u64")},
    **{t: ("I64", "i64") for t in ("i8", "i16", "i32", "i64")},
    "bool": ("Bool", "bool"),
}


def _key_fn(plan: ServicePlan, writer: TypeWriter) -> list[str]:
    """`key()`: the current record's key, as SDF's `KeyType`; `None` outside a partition."""
    rust = "String"
    if plan.states and plan.states[0].key is not None:
        try:
            rust = writer.rust(plan.states[0].key, "Inline")
        except TypeProblem:
            rust = "String"
    variant = _KEY_VARIANTS.get(rust)
    convert = (
        f"k.parse::<{variant[1]}>().map(KeyType::{variant[0]}).unwrap_or_else(|_| KeyType::String(k.to_string()))"
        if variant
        else "KeyType::String(k.to_string())"
    )
    return [
        "// ---------------------------------------------------------------- context",
        "",
        "#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]",
        "pub enum KeyType { String(String), U64(u64), I64(i64), Bool(bool) }",
        "/// `key()` in SDF code: the key of the record the partition runs for (`None` elsewhere).",
        f"pub fn key() -> Option<KeyType> {{ sscc_guest::state::current_key().map(|k| {convert}) }}",
        "",
    ]


def state_fn(name: str) -> str:
    """The accessor SDF code calls for a state: `count-per-word` -> `count_per_word()`."""
    return snake(name).replace("-", "_")


def _state_code(plan: ServicePlan, writer: TypeWriter, uses_sql: bool) -> list[str]:
    """Per state: its resident maps (window -> key text -> value or row), the accessor SDF code
    calls, and `sscc_state_load`, which replays change records into them. Per `from:` reference:
    an accessor whose only use is `.sql(...)`. `sql()` itself when the code calls it."""
    lines = []
    if uses_sql:
        # The host's tables of own states are filled from here (sscc_guest::sql::sync_state).
        syncs = [
            f"    sscc_guest::sql::sync_state({i}, sscc_state_{i}(), |v, buf| {{ {_columns_json(st)} }});"
            for i, st in enumerate(plan.states)
        ]
        lines += [
            "// ---------------------------------------------------------------- sql",
            "",
            "pub use sscc_guest::sql::{Col, DataFrame, Rows};",
            "/// `sql(\"select ...\")` in SDF code: runs on the host over the state tables in scope,",
            "/// the own states' rows of the current window sent along when they changed.",
            "pub fn sql(query: &str) -> Result<DataFrame> {",
            *syncs,
            "    sscc_guest::sql::query(query)",
            "}",
            "",
        ]
    taken = {state_fn(st.name) for st in plan.states} | {state_fn(ref.name) for ref, _ in plan.refs}
    for ref, owner in plan.refs:
        lines += _ref_handle(ref, owner)
        # `tracker: {from: svc.commentlist}`: code that reads it may call it by the owner's name,
        # as its SQL does (the table is the owner's), so that name is an accessor too.
        alias = state_fn(owner.name)
        if alias not in taken:
            taken.add(alias)
            handle = "SsccRef" + type_name(ref.name)
            lines += [f"pub fn {alias}() -> {handle} {{ {handle} }}  // the owner's name of `{state_fn(ref.name)}()`", ""]
    if not plan.states:
        return lines
    lines += ["// ---------------------------------------------------------------- states", ""]
    loads, expiring = [], []
    for i, st in enumerate(plan.states):
        if st.kind == "arrow-row":
            ttl = ttl_ms(st)
            row, decl = _row_struct(st, writer, ttl is not None)
            lines += decl + _state_maps(i, st.name, row) + _row_handle(i, st.name, row, uses_sql, ttl)
            loads.append(_load_arm(i, row))
            if ttl is not None:
                expiring.append((i, ttl))
            continue
        try:
            v = writer.rust(st.value, "Inline")
        except TypeProblem as e:
            raise GenerateProblem(f"state `{st.name}` holds {e}") from None
        lines += _state_maps(i, st.name, v) + _value_handle(i, st.name, v)
        loads.append(_load_arm(i, v))
    lines += [
        "/// Replays change records into state `index` (start-up and after a trap; docs/state-design.md).",
        "#[no_mangle]",
        'pub extern "C" fn sscc_state_load(index: u32, ptr: u32, len: u32) -> i32 {',
        "    match index {",
        *loads,
        "        _ => -1,",
        "    }",
        "}",
        "",
    ]
    return lines + (_expire_exports(expiring) if expiring else [])


def _columns_json(st) -> str:
    """Rust statements writing a state value `v` into `buf` as its SQL table's columns, each as
    `,<JSON>` in the order services.json lists them (describe.py): the host inserts the rows as
    they are parsed, with no per-row conversion."""
    if st.kind != "arrow-row":
        fields = ["v"]
    else:
        fields = [f"&v.{field_name(c.name)}" for c in st.value.columns]
        fields += ["&v._updated_at"] if ttl_ms(st) is not None else []
    return " ".join(f"buf.push(b','); let _ = serde_json::to_writer(&mut *buf, {f});" for f in fields)


def ttl_ms(st) -> Optional[int]:
    """An arrow-row state's `ttl` in ms (SDF 0.6), or None."""
    ttl = getattr(st.value, "ttl", None)
    if not ttl:
        return None
    from ...syntax.duration import parse_duration

    return parse_duration(ttl)


def _expire_exports(expiring: list[tuple[int, int]]) -> list[str]:
    """`sscc_set_now` (the batch's wall clock) and `sscc_expire`, which deletes the rows of `ttl`
    states not updated within their ttl, as `D` change records the host commits (loop.py)."""
    lines = [
        "/// The host's wall clock for this batch (ms): `_updated_at` and `ttl`.",
        "#[no_mangle]",
        'pub extern "C" fn sscc_set_now(now: i64) { sscc_guest::state::set_now(now) }',
        "/// Deletes expired rows; their `D` records are this call's change records.",
        "#[no_mangle]",
        'pub extern "C" fn sscc_expire(now: i64) -> i32 {',
        "    sscc_guest::state::set_now(now);",
        "    sscc_guest::state::begin_batch();",
    ]
    for i, ttl in expiring:
        lines += [f"    sscc_state_{i}().expire(|r| r._updated_at <= now.saturating_sub({ttl}));"]
    return lines + [
        "    sscc_guest::state::end_call();",
        "    0",
        "}",
        "",
    ]


def _row_struct(st, writer: TypeWriter, updated_at: bool = False) -> tuple[str, list[str]]:
    """The Rust struct of an arrow-row state's columns; JSON (change records, the SQL mirror) uses
    the column names the YAML declares (`pu-location-id`)."""
    name = writer.fresh(type_name(st.name) + "Row")
    fields = []
    for col in st.value.columns:
        try:
            rust = writer.rust(col.type, name + type_name(col.name))
        except TypeProblem as e:
            raise GenerateProblem(f"column `{col.name}` of state `{st.name}` holds {e}") from None
        if col.optional:
            rust = f"Option<{rust}>"
        fields += [f"    #[serde(rename = \"{col.name}\")]", f"    pub {field_name(col.name)}: {rust},"]
    if updated_at:  # SDF's `_updated_at` column: when the row was last stored (host wall clock, ms)
        fields += ['    #[serde(rename = "_updated_at")]', "    pub _updated_at: i64,"]
    decl = [
        f"/// A row of state `{st.name}` (arrow-row).",
        "#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]",
        "#[serde(default)]",
        f"pub struct {name} {{",
        *fields,
        "}",
    ]
    return name, decl


def _row_handle(i: int, name: str, row: str, uses_sql: bool, ttl: Optional[int] = None) -> list[str]:
    """An arrow-row state's handle: the current key's row (fields through Deref), `update()` and
    `delete()` writing the change; `clone()` is the current window's table. With a `ttl`, a row
    not updated within it reads as absent (and `sscc_expire` deletes it)."""
    fn, handle = state_fn(name), f"SsccState{i}"
    sql = [f"    pub fn sql(&self, query: &str) -> Result<DataFrame> {{ sql(query) }}"] if uses_sql else []
    live = "" if ttl is None else f".filter(|r| r._updated_at > sscc_guest::state::now().saturating_sub({ttl}))"
    stored = "self.row.clone()" if ttl is None else "{ let mut r = self.row.clone(); r._updated_at = sscc_guest::state::now(); r }"
    return [
        f"/// `{fn}()` in SDF code: the current key's row (a default row for a new key).",
        f"pub struct {handle} {{ row: {row} }}",
        f"pub fn {fn}() -> {handle} {{",
        f"    {handle} {{ row: sscc_state_{i}().get(){live}.cloned().unwrap_or_default() }}",
        "}",
        f"impl std::ops::Deref for {handle} {{ type Target = {row}; fn deref(&self) -> &{row} {{ &self.row }} }}",
        f"impl std::ops::DerefMut for {handle} {{ fn deref_mut(&mut self) -> &mut {row} {{ &mut self.row }} }}",
        f"impl {handle} {{",
        "    /// Stores the row under the current key.",
        "    pub fn update(&self) -> Result<()> {",
        f"        sscc_state_{i}().put({stored});",
        "        Ok(())",
        "    }",
        "    /// Removes the current key's row.",
        "    pub fn delete(&self) -> Result<()> {",
        f"        sscc_state_{i}().remove();",
        "        Ok(())",
        "    }",
        "    /// Every key of the current window with its row, in key order.",
        f"    pub fn clone(&self) -> std::collections::BTreeMap<String, {row}> {{",
        f"        sscc_state_{i}().entries().map(|(k, v)| (k.clone(), v.clone())).collect()",
        "    }",
        *sql,
        "}",
        "",
    ]


def _ref_handle(ref, owner) -> list[str]:
    """A `from:` reference: read-only, through `sql()` over the host's mirror of the owner's state."""
    fn, handle = state_fn(ref.name), "SsccRef" + type_name(ref.name)
    return [
        f"/// `{fn}()` in SDF code: `from: {owner.id}`, read through `.sql(...)`.",
        f"pub struct {handle};",
        f"pub fn {fn}() -> {handle} {{ {handle} }}",
        f"impl {handle} {{ pub fn sql(&self, query: &str) -> Result<DataFrame> {{ sql(query) }} }}",
        "",
    ]


def _state_maps(i: int, name: str, v: str) -> list[str]:
    """`sscc_state_<i>()`: the state (sscc_guest::keyed::Keyed), created on first use together with
    the end-of-call hook that writes its change records."""
    keyed = f"sscc_guest::keyed::Keyed<{v}>"
    return [
        f"/// State `{name}`, resident in this instance: window -> key text -> {v}.",
        f"static mut SSCC_STATE_{i}: Option<{keyed}> = None;",
        f"fn sscc_state_{i}() -> &'static mut {keyed} {{",
        "    unsafe {",
        f"        if SSCC_STATE_{i}.is_none() {{",
        f"            SSCC_STATE_{i} = Some(sscc_guest::keyed::Keyed::new({i}));",
        f"            sscc_guest::state::on_call_end(|| sscc_state_{i}().write_changes(|v, buf| {{ let _ = serde_json::to_writer(buf, v); }}));",
        "        }",
        f"        SSCC_STATE_{i}.as_mut().unwrap()",
        "    }",
        "}",
    ]


def _value_handle(i: int, name: str, v: str) -> list[str]:
    """A value state's handle on the current key: `get/set/increment`, each change also written as
    a change record; `clone()` is the current window's whole table (a flush reads it)."""
    fn, handle = state_fn(name), f"SsccState{i}"
    lines = [
        f"/// `{fn}()` in SDF code: the value of the current record's key.",
        f"pub struct {handle};",
        f"pub fn {fn}() -> {handle} {{ {handle} }}",
        f"impl {handle} {{",
        f"    pub fn get(&self) -> {v} {{ sscc_state_{i}().get().cloned().unwrap_or_default() }}",
        f"    pub fn set(&self, value: {v}) {{ sscc_state_{i}().put(value) }}",
        "    /// Every key of the current window with its value, in key order: `(key, value)` pairs",
        "    /// when consumed (SDF 0.5), entries with `.key`/`.value` through `iter()` (earlier SDF).",
        f"    pub fn clone(&self) -> sscc_guest::state::Table<{v}> {{",
        f"        let mut pairs: Vec<(String, {v})> = sscc_state_{i}().entries().map(|(k, v)| (k.clone(), v.clone())).collect();",
        "        pairs.sort_by(|a, b| a.0.cmp(&b.0));",
        "        sscc_guest::state::Table::from_pairs(pairs)",
        "    }",
    ]
    if v in ("u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "usize", "isize"):
        lines += [f"    pub fn increment(&self, by: {v}) -> {v} {{ let v = self.get().wrapping_add(by); self.set(v); v }}"]
    elif v in ("f32", "f64"):
        lines += [f"    pub fn increment(&self, by: {v}) -> {v} {{ let v = self.get() + by; self.set(v); v }}"]
    return lines + ["}", ""]


def _load_arm(i: int, v: str) -> str:
    return (
        f"        {i} => sscc_guest::state::for_each_change(ptr, len, |change| {{\n"
        f"            sscc_state_{i}().load(change, |json| serde_json::from_slice::<{v}>(json).ok())\n"
        "        }),"
    )


# ---------------------------------------------------------------------------- stage closures


@dataclass
class _Key:
    """The record key while a stage runs: raw bytes passed through (`typed` False, `expr` is an
    `Option<&[u8]>` expression), or a decoded `Option<K>` variable."""

    expr: str
    typed: bool = False
    rust: str = ""  # K, when typed
    current: bool = False  # already the state accessors' current key (set once, before a loop)
    bound_at: int = -1  # the depth an assign-key bound it at (an owned variable of that block)


@dataclass
class _StageWriter:
    ir: IR
    stage: Stage
    modules: dict[str, _Module]
    types: TypeWriter
    clears_key: bool = False  # the code calls `key()`: no key until this record's assign-key
    counter: int = 0
    body: list[str] = field(default_factory=list)

    def write(self) -> list[str]:
        st = self.stage
        if isinstance(st.node, (Flush, Window)):  # a windowed service's flush stage
            return windows.write_flush(self)
        out = [
            f"/// Stage {st.index}: {st.name}",
            "#[no_mangle]",
            f'pub extern "C" fn {st.export}(in_ptr: u32, in_len: u32, base_offset: i64) -> i32 {{',
            "    sscc_guest::run_stage(in_ptr, in_len, base_offset, |rec, out| {",
        ]
        if self.clears_key:
            out.append("        sscc_guest::state::clear_key();")
        members = list(st.members)
        if any(isinstance(m, AssignTimestamp) for m in members):  # steps before the window see the global one
            self._emit(2, "sscc_guest::state::set_window(sscc_guest::state::GLOBAL);")
        first = members[0]
        if isinstance(first, Decode):
            value, key = self._decode_topic(first)
            members = members[1:]
        else:
            value, key = self._decode_internal()
        self._chain(members, value, key, depth=2)
        return out + self.body + ["        Ok(())", "    })", "}"]

    # -- helpers

    def _var(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _emit(self, depth: int, line: str) -> None:
        self.body.append("    " * depth + line)

    def _rust(self, t, node) -> str:
        try:
            return self.types.rust(t, "Inline")
        except TypeProblem as e:
            raise GenerateProblem(f"`{member_name(node)}` carries {e}", node) from None

    def _decoder(self, rust: str, converter: str) -> str:
        """The decode function for a value of type `rust`: the generated fast path first when the
        type has one (types.py `_fast_decoder`)."""
        return "decode_fast" if converter == "json" and rust in self.types.fast else "decode"

    def _raw_check(self, rust: str, node, what: str) -> None:
        if rust not in RAW_TYPES:
            raise GenerateProblem(
                f"the raw converter cannot carry {what} of type `{rust}`",
                node,
                "use `converter: json`, or a primitive type (string, numbers, bool, bytes)",
            )

    def _decode_topic(self, d: Decode) -> tuple[str, _Key]:
        self._emit(2, f'sscc_guest::enter("{member_name(d)}");')
        rust = self._rust(d.type, d)
        v = self._var("v")
        if d.converter == "raw":
            self._raw_check(rust, d, "a value")
        conv = "raw" if d.converter == "raw" else "json"
        self._emit(2, f"let mut {v}: {rust} = sscc_guest::{conv}::{self._decoder(rust, conv)}(rec.value)?;")
        if d.key_type is None:
            return v, _Key("rec.key")
        krust = self._rust(d.key_type, d)
        kconv = "json" if d.key_converter == "json" else "raw"
        if kconv == "raw":
            self._raw_check(krust, d, "a key")
        k = self._var("k")
        self._emit(2, f"let {k}: Option<{krust}> = rec.key.map(|b| sscc_guest::{kconv}::decode(b)).transpose()?;")
        return v, _Key(k, True, krust, bound_at=2)

    def _decode_internal(self) -> tuple[str, _Key]:
        node = self.stage.members[0]
        self._emit(2, f'sscc_guest::enter("{member_name(node)}");')
        rust = self._rust(self.stage.input.type, node)
        v = self._var("v")
        self._emit(2, f"let mut {v}: {rust} = sscc_guest::json::{self._decoder(rust, 'json')}(rec.value)?;")
        if self.stage.input.key is None:
            return v, _Key("rec.key")
        krust = self._rust(self.stage.input.key, node)
        k = self._var("k")
        self._emit(2, f"let {k}: Option<{krust}> = rec.key.map(|b| sscc_guest::json::decode(b)).transpose()?;")
        return v, _Key(k, True, krust, bound_at=2)

    def _chain(self, members: list, value: str, key: _Key, depth: int) -> None:
        if not members:
            self._finish_internal(value, key, depth)
            return
        m, rest = members[0], members[1:]
        if isinstance(m, Encode):
            self._encode_topic(m, value, key, depth)
            return
        if isinstance(m, UpdateState):
            self._update_state(m, value, key, depth)
            return
        if isinstance(m, AssignKey):
            self._assign_key(m, rest, value, key, depth)
            return
        if isinstance(m, AssignTimestamp):  # classifies, then runs `rest` once per window
            windows.assign_timestamp(self, m, rest, value, key, depth)
            return
        if isinstance(m, Window):
            self._chain(rest, value, key, depth)
            return
        if not isinstance(m, (Map, Filter, FilterMap, FlatMap)):
            raise GenerateProblem(f"`{member_name(m)}` is a {m.op} node, which a stage cannot run", m)
        mod = self.modules[module_key(m)]
        self._emit(depth, f'sscc_guest::enter("{m.function}");')
        call = f"op_{mod.index}::sscc_call({self._args(m, mod.fn, value, key, depth)})"
        ok, err, is_result = unwrap_result(mod.fn.ret) if mod.fn.ret is not None else (None, None, False)
        if is_result:
            call += ".map_err(sscc_guest::Failure::operator)?"
        if isinstance(m, Filter):
            self._emit(depth, f"if {call} {{")
            self._chain(rest, value, key, depth + 1)
            self._emit(depth, "}")
            return
        item = ok
        if isinstance(m, FilterMap):
            item = _arg(ok, "Option")
        elif isinstance(m, FlatMap):
            item = _arg(ok, "Vec")
        keyed = item is not None and item.kind == "tuple" and len(item.args) == 2
        v = self._var("v")
        new_key = key
        if keyed:
            k = self._var("k")
            pattern = f"({k}, mut {v})"
            krust = _arg(item.args[0], "Option")
            out_key = self._out_key(m)
            new_key = _Key(k, True, out_key or (krust.text if krust is not None else ""))
        else:
            pattern = f"mut {v}"
        if isinstance(m, Map):
            self._emit(depth, f"let {pattern} = {call};")
            self._chain(rest, v, new_key, depth)
            return
        opener = f"if let Some({pattern}) = {call} {{" if isinstance(m, FilterMap) else f"for {pattern} in {call} {{"
        self._emit(depth, opener)
        self._chain(rest, v, new_key, depth + 1)
        self._emit(depth, "}")

    def _assign_key(self, m: AssignKey, rest: list, value: str, key: _Key, depth: int) -> None:
        """`fn(&V) -> Result<K>` (or `fn(V)`): the record keeps its value and gets the key."""
        self._chain(rest, value, self._key_of(m, value, depth), depth)

    def _key_of(self, m: AssignKey, value: str, depth: int) -> _Key:
        """Emits the assign-key call on `value`; the key variable it binds."""
        mod = self.modules[module_key(m)]
        self._emit(depth, f'sscc_guest::enter("{m.function}");')
        params = list(mod.fn.params)
        if len(params) != 1:
            raise GenerateProblem(f"`{m.function}` takes {len(params)} parameters; an assign-key takes the value", m)
        arg = _pass(params[0].type, value, clone=True)
        if params[0].type.kind == "path" and params[0].type.text == "String":
            # the value's copy in the previous key's buffer, not a fresh allocation per record
            arg = f"sscc_guest::state::spare_key(&{value})"
        call = f"op_{mod.index}::sscc_call({arg})"
        ok, _, is_result = unwrap_result(mod.fn.ret) if mod.fn.ret is not None else (None, None, False)
        if is_result:
            call += ".map_err(sscc_guest::Failure::operator)?"
        k = self._var("k")
        krust = self._out_key(m) or (ok.text if ok is not None else "String")
        self._emit(depth, f"let {k}: Option<{krust}> = Some({call});")
        return _Key(k, True, krust, bound_at=depth)

    def _update_state(self, m: UpdateState, value: str, key: _Key, depth: int) -> None:
        """Sets the current key for the state accessors, runs the function; emits nothing."""
        mod = self.modules[module_key(m)]
        self._emit(depth, f'sscc_guest::enter("{m.function}");')
        if not key.current:
            # update-state ends the stage's chain: a key bound in this block that the function
            # does not take is used no more, so it moves into the state's key (no copy)
            self._set_key(key, depth, owned=key.bound_at == depth and len(mod.fn.params) == 1)
        call = f"op_{mod.index}::sscc_call({self._args(m, mod.fn, value, key, depth)})"
        ok, _, is_result = unwrap_result(mod.fn.ret) if mod.fn.ret is not None else (None, None, False)
        if is_result:
            call += ".map_err(sscc_guest::Failure::operator)?"
        self._emit(depth, f"{call};")

    def _set_key(self, key: _Key, depth: int, owned: bool = False) -> None:
        """Makes `key` the state accessors' current key (`owned`: moves the variable into it)."""
        if owned and key.typed and key.rust == "String":
            self._emit(depth, f"sscc_guest::state::set_key_owned({key.expr});")
        elif key.typed and key.rust == "String":  # the common case: no JSON, no allocation
            self._emit(depth, f"sscc_guest::state::set_key_str({key.expr}.as_deref().unwrap_or(\"\"));")
        elif key.typed:
            self._emit(depth, f"sscc_guest::state::set_key(sscc_guest::state::key_text(&{key.expr}));")
        else:
            self._emit(depth, f"sscc_guest::state::set_key_str(&String::from_utf8_lossy({key.expr}.unwrap_or(b\"\")));")

    def _out_key(self, m) -> Optional[str]:
        """The Rust key type of the edge leaving `m` (None when the IR gives none)."""
        edge = self._edge_from(m)
        if edge is None or edge.key is None:
            return None
        return self._rust(edge.key, m)

    def _edge_from(self, m):
        node = self.stage.node
        if isinstance(node, Fused):
            inner = next((e for e in node.edges if e.src == m.id), None)
            if inner is not None:
                return inner
        return self.stage.output if m is self.stage.members[-1] else None

    def _args(self, m: FnNode, fn: RustFn, value: str, key: _Key, depth: int) -> str:
        params = list(fn.params)
        if not params or len(params) > 2:
            raise GenerateProblem(
                f"`{m.function}` takes {len(params)} parameters; a {m.op} takes the value, or the key and the value", m
            )
        args = []
        if len(params) == 2:
            args.append(self._key_arg(m, params[0].type, key, depth))
        args.append(_pass(params[-1].type, value, clone=isinstance(m, Filter)))
        return ", ".join(args)

    def _key_arg(self, m: FnNode, t: RustType, key: _Key, depth: int) -> str:
        """The key argument: `Option<K>` (a clone), `&Option<K>`, or `Option<&K>`/`Option<&str>`."""
        by_ref = t.kind == "ref"
        opt = t.args[0] if by_ref else t
        inner = _arg(opt, "Option")
        if inner is None:
            raise GenerateProblem(f"the key parameter of `{m.function}` is `{t.text}`; SDF passes the key as `Option<K>`", m)
        var = key.expr
        if not key.typed:  # decode the pass-through bytes to what the function asks for
            krust = inner.args[0].text if inner.kind == "ref" else inner.text
            krust = "String" if krust == "str" else krust
            conv = "raw" if krust in RAW_TYPES else "json"
            var = self._var("kin")
            self._emit(depth, f"let {var}: Option<{krust}> = {key.expr}.map(|b| sscc_guest::{conv}::decode(b)).transpose()?;")
        if by_ref:
            return f"&{var}"
        if inner.kind == "ref":
            return f"{var}.as_deref()" if inner.args and inner.args[0].text == "str" else f"{var}.as_ref()"
        return f"{var}.clone()"

    def _key_bytes(self, key: _Key, converter: Optional[str], depth: int) -> str:
        if not key.typed:
            return key.expr
        conv = converter or ("raw" if key.rust in RAW_TYPES else "json")
        kb = self._var("kb")
        if conv == "raw":
            self._raw_check(key.rust, self.stage.members[-1], "a key")
            self._emit(depth, f"let {kb} = {key.expr}.as_ref().map(|k| sscc_guest::raw::encode(k));")
        else:
            self._emit(depth, f"let {kb} = match &{key.expr} {{ Some(k) => Some(sscc_guest::json::encode(k)?), None => None }};")
        return f"{kb}.as_deref()"

    def _encode_topic(self, e: Encode, value: str, key: _Key, depth: int) -> None:
        self._emit(depth, f'sscc_guest::enter("{member_name(e)}");')
        kconv = None
        if key.typed and e.key_type is not None:
            kconv = "json" if e.key_converter == "json" else "raw"
        kexpr = self._key_bytes(key, kconv, depth)
        if e.converter == "raw":
            self._raw_check(self._rust(e.type, e), e, "a value")
            self._emit(
                depth,
                f"out.emit_with({kexpr}, rec.timestamp, |buf| {{ sscc_guest::raw::Raw::to_raw(&{value}, buf); "
                "Ok::<(), sscc_guest::Failure>(()) })?;",
            )
        else:
            self._emit(depth, f"out.emit_json({kexpr}, &{value}, rec.timestamp)?;")

    def _finish_internal(self, value: str, key: _Key, depth: int) -> None:
        """Internal encoding (stages.py): value as JSON, typed key as JSON, else bytes unchanged."""
        kexpr = self._key_bytes(key, "json", depth) if key.typed else key.expr
        self._emit(depth, f"out.emit_json({kexpr}, &{value}, rec.timestamp)?;")


def _arg(t: Optional[RustType], name: str) -> Optional[RustType]:
    """T of `name<T>` (e.g. Option, Vec), else None."""
    if t is not None and t.kind == "path" and t.name == name and len(t.args) == 1:
        return t.args[0]
    return None


def _pass(t: RustType, var: str, clone: bool) -> str:
    """How a value variable is handed to a parameter of type `t`."""
    if t.kind == "ref":
        return f"&mut {var}" if t.mutable else f"&{var}"
    return f"{var}.clone()" if clone else var
