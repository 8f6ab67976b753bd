"""`sscc generate [DIR]`: write a package's Rust crate, as `sdf generate` lays it out.

    rust/<package>/Cargo.toml        the crate (sdfg 0.13, serde, the functions' `dependencies:`)
    rust/<package>/src/lib.rs        sdfg::sdf_package!({ path : "../../sdf-package.yaml", });
    rust/<package>/src/<fn>.rs       one stub per function: #[sdf(fn_name = "...")], its types
                                     from crate::bindings::<ns>::<package>_types::types

A file that exists is kept (it holds the user's code); only missing ones are written. The stubs
return an error until implemented, so the crate builds (`sscc build DIR`) and a dataflow using
it runs, dead-lettering every record with "<fn> is not implemented".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

from .. import ast as A
from ..diagnostics import Diagnostics, SourceCache, Span
from ..driver import Options, front_end
from ..ir.types import KeyValue, ListOf, Opt, Prim, Ref, from_ast
from .package_build import find_package_file
from .rust.codegen import cargo_version
from .rust.types import PRIMITIVES, type_name

OPERATOR_RETURNS = {"filter": "bool", "assign-timestamp": "i64", "update-state": "()"}


@dataclass
class Generated:
    package_file: Optional[str]
    diags: Diagnostics
    crate_dir: str = ""
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def generate_package(path: str, sources: SourceCache) -> Generated:
    pkg_file = find_package_file(path)
    if pkg_file is None:
        diags = Diagnostics()
        diags.error("E111", Span(path, 0, 0), f"no package file (sdf-package.yaml) in `{path}`", "run it in a package directory")
        return Generated(None, diags)
    fe = front_end(pkg_file, Options(), sources)
    out = Generated(pkg_file, fe.diags)
    pkg = fe.pipeline
    if pkg is None or fe.diags.has_errors:
        return out
    if fe.kind != "package" or pkg.meta is None:
        fe.diags.error("E111", Span(pkg_file, 1, 1), f"`{pkg_file}` is not a package file", "`sscc generate` writes the crate of an sdf-package.yaml")
        return out
    root = os.path.dirname(os.path.abspath(pkg_file))
    crate = os.path.join(root, "rust", pkg.meta.name)
    out.crate_dir = crate
    files = crate_files(pkg)
    for rel, text in files.items():
        target = os.path.join(crate, rel)
        shown = os.path.relpath(target, root)
        if os.path.exists(target):
            out.kept.append(shown)
            continue
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            fe.diags.error("E111", Span(pkg_file, 1, 1), f"cannot write {target}: {e.strerror or e}")
            return out
        out.written.append(shown)
    return out


def crate_files(pkg: A.Pipeline) -> dict[str, str]:
    """{path inside rust/<package>/: text} of the crate (deterministic)."""
    files = {
        "Cargo.toml": _cargo_toml(pkg),
        "src/lib.rs": 'sdfg::sdf_package!({ path : "../../sdf-package.yaml", });\n',
        ".gitignore": "target/\n",
    }
    for name, fn in pkg.functions.items():
        files[f"src/{A.snake(name)}.rs"] = function_stub(pkg, name, fn)
    return files


def _cargo_toml(pkg: A.Pipeline) -> str:
    deps = [
        'serde = { version = "1", features = ["std", "derive"] }',
        'sdfg = { version = "0.13", features = ["row"] }',
    ]
    seen = {"serde", "sdfg"}
    for fn in pkg.functions.values():
        for d in fn.dependencies:
            if d.name in seen:
                continue
            seen.add(d.name)
            if d.path:
                deps.append(f'{d.name} = {{ path = "{d.path}" }}')
            else:
                deps.append(f'{d.name} = "{d.version or cargo_version(None)}"')
    return "\n".join(
        [
            "[package]",
            f'name = "{A.snake(pkg.meta.name)}"',
            'version = "0.0.0"',
            'edition = "2021"',
            "",
            "[lib]",
            'crate-type = ["cdylib"]',
            "",
            "[dependencies]",
            "## GENERATED DEPENDENCIES",
            *deps,
            "## END OF GENERATED DEPENDENCIES",
            "",
        ]
    )


def function_stub(pkg: A.Pipeline, name: str, fn: A.Function) -> str:
    types_mod = f"crate::bindings::{A.snake(pkg.meta.namespace)}::{A.snake(pkg.meta.name)}_types::types"
    used: set[str] = set()
    params = []
    for p in fn.inputs:
        rust = _rust(from_ast(p.type), used)
        params.append(f"{A.snake(p.name) or 'input'}: {'Option<' + rust + '>' if p.kind == 'key' else rust}")
    op = (fn.declared_operator or "map").replace("_", "-")
    ret = OPERATOR_RETURNS.get(op) or _output(fn.output, used, op)
    lines = ["use sdfg::Result;", "use sdfg::sdf;"]
    lines += [f"use {types_mod}::{t};" for t in sorted(used)]
    lines += ["#[allow(unused_imports)]", f"use {types_mod}::*;", ""]
    lines += [
        f'#[sdf(fn_name = "{name}")]',
        f"pub(crate) fn {A.snake(name)}({', '.join(params)}) -> Result<{ret}> {{",
        f'    println!("{name} called - not implemented!");',
        f'    Err(sdfg::anyhow::anyhow!("{name} is not implemented"))',
        "}",
        "",
    ]
    return "\n".join(lines)


def _output(out: Optional[A.Output], used: set, op: str) -> str:
    """The return type: a flat-map returns a list and a filter-map an option of what the package
    declares (SDF lets `list: true` / `optional: true` say so, or leaves it to the operator)."""
    if out is None:
        return "()"
    t = from_ast(out.type)
    rust = _rust(t, used)
    if (out.list or op == "flat-map") and not isinstance(t, ListOf):
        rust = f"Vec<{rust}>"
    if (out.optional or op == "filter-map") and not isinstance(t, Opt):
        rust = f"Option<{rust}>"
    return rust


def _rust(t, used: set) -> str:
    """The Rust type SDF's bindings give `t` (named types and `bytes` from the types module)."""
    if isinstance(t, Prim):
        if t.name == "bytes":
            used.add("Bytes")
            return "Bytes"
        return PRIMITIVES.get(t.name, "String")
    if isinstance(t, Ref):
        used.add(type_name(t.name))
        return type_name(t.name)
    if isinstance(t, ListOf):
        return f"Vec<{_rust(t.item, used)}>"
    if isinstance(t, Opt):
        return f"Option<{_rust(t.item, used)}>"
    if isinstance(t, KeyValue):
        return f"(Option<{_rust(t.key, used)}>, {_rust(t.value, used)})"
    return "String"
