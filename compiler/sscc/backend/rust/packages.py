"""The Rust sources of an imported package function, ready to compile into a service's crate.

SDF packages keep their code in `rust/<package>/` in the layout `sdf generate` writes: lib.rs is
`sdfg::sdf_package!({ path: "../../sdf-package.yaml" })`, each function sits in its own file under
`#[sdf(fn_name = "...")]`, and its types come from `crate::bindings::<ns>::<pkg>_types::types`.
(The older sdf-macros layout has one crate per function, `rust/<function>/src/lib.rs`, with
`#[sdf(map, package = ...)]`.) sscc does not build the `sdfg` crate: it reads the attribute
itself. The function's file becomes a module of the service crate like an inline code block,
with these line-preserving rewrites (docs/packages.md):

- `#[sdf(...)]` is blanked out (the operator is known from sdf-package.yaml);
- `crate::bindings::<ns>::<m>::types` resolves to a generated `bindings` module that re-exports
  the service's own types, so a package function and the pipeline share one Rust type per
  pipeline type and records pass between them with no conversion;
- `get_param("name")` (the 0.6 `with:` parameters) is generated per use of the function;
- other `mod x;` files of lib.rs are compiled as modules at the crate root (`crate::x`).

Cargo dependencies come from the crate's Cargo.toml, minus SDF's own guest crates (sdfg,
sdf-macros, wit-bindgen), whose `[patch.crates-io]` vendoring is ignored with them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Optional

from ...ast import snake
from ...ir.nodes import Code, Dependency
from ...syntax import RustFn, SyntaxProblem, parse_functions

# SDF's guest crates: what they give the sources is generated into the service crate instead.
GUEST_CRATES = {"sdfg", "sdf-macros", "sdf_macros", "wit-bindgen", "wit_bindgen"}
BASE_CRATES = {"serde", "serde_json", "anyhow"}  # the service crate has them already
SDF_ATTR = re.compile(r"#\[\s*sdf\s*\((?:[^()\]]|\([^()]*\))*\)\s*\]", re.S)
FN_NAME = re.compile(r"""\bfn_name\s*=\s*"([^"]*)\"""")
BINDINGS = re.compile(r"\bcrate\s*::\s*bindings\s*::\s*(\w+)\s*::\s*(\w+)\s*::\s*types\b")
MOD_DECL = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)


class PackageProblem(Exception):
    """The function's source cannot be used; `path`/`line` say where (the package file by default)."""

    def __init__(self, message: str, hint: Optional[str] = None, path: Optional[str] = None, line: int = 1, col: int = 1):
        super().__init__(message)
        self.hint = hint
        self.path = path
        self.line = line
        self.col = col


@dataclass(frozen=True)
class PackageCode(Code):
    """A function's source file as a code block: regions over it map rustc errors to `file`."""

    file: str = ""


@dataclass(frozen=True)
class CargoDependency:
    dep: Dependency
    manifest: str  # the Cargo.toml that declares it (for E202's position)
    line: int


@dataclass
class PackageFunction:
    name: str  # the function's name in the package (kebab)
    package: str  # the package's name
    package_file: str
    crate_dir: str
    code: PackageCode  # the rewritten file
    fn: RustFn  # the operator function's signature
    dependencies: tuple[CargoDependency, ...]
    bindings: tuple[tuple[str, str], ...]  # (namespace module, types module) pairs the sources name
    helpers: tuple[tuple[str, str], ...] = ()  # (module name, file) declared by lib.rs
    params: tuple[tuple[str, str], ...] = field(default=())


def load_function(package_file: str, function: str, params: tuple[tuple[str, str], ...] = ()) -> PackageFunction:
    """The source of `function` of the package at `package_file`; raises PackageProblem."""
    pkg_dir = os.path.dirname(os.path.abspath(package_file))
    meta = _package_meta(package_file)
    pkg_name = meta.get("name") or os.path.basename(pkg_dir)
    crates = crate_dirs(pkg_dir)
    if not crates:
        raise PackageProblem(
            f"package `{pkg_name}` has no Rust sources (no Cargo.toml under {os.path.join(pkg_dir, 'rust')}/)",
            f"write them with `sscc generate {_short(pkg_dir)}`, then implement the functions",
            package_file,
        )
    found = None
    for crate in crates:
        found = _find_in_crate(crate, function)
        if found is not None:
            break
    if found is None:
        raise PackageProblem(
            f"package `{pkg_name}` has no Rust function for `{function}` "
            f"(no `#[sdf(fn_name = \"{function}\")]` in {', '.join(_short(c) for c in crates)})",
            f"`sscc generate {_short(pkg_dir)}` writes a stub for every function of the package file",
            package_file,
        )
    crate, path, text, fn = found
    helpers = _helper_modules(crate, path)
    texts = [text] + [_read(h) for _, h in helpers]
    bindings = {(m.group(1), m.group(2)) for t in texts for m in BINDINGS.finditer(t)}
    namespace = meta.get("namespace")
    if namespace:
        bindings.add((snake(namespace), f"{snake(pkg_name)}_types"))
    rewritten = rewrite_source(text)
    digest = hashlib.sha256(("\0".join([rewritten, repr(params)])).encode()).hexdigest()[:16]
    code = PackageCode(f"pkg:{digest}", "rust", rewritten, f"{os.path.basename(path)}:1:1", file=path)
    return PackageFunction(
        name=function,
        package=pkg_name,
        package_file=package_file,
        crate_dir=crate,
        code=code,
        fn=fn,
        dependencies=cargo_dependencies(crate),
        bindings=tuple(sorted(bindings)),
        helpers=tuple(helpers),
        params=params,
    )


def crate_dirs(pkg_dir: str) -> list[str]:
    """The package's crates: `rust/<name>/` directories with a Cargo.toml (not the vendored copies
    of SDF's crates under `rust/unstable/`, nor the generated `rust/io/` crates of sdf-macros)."""
    root = os.path.join(pkg_dir, "rust")
    if not os.path.isdir(root):
        return []
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if name in ("unstable", "io", "target") or name.startswith("."):
            continue
        if os.path.isfile(os.path.join(d, "Cargo.toml")) and os.path.isdir(os.path.join(d, "src")):
            out.append(d)
    return out


def source_files(pkg_dir: str) -> list[str]:
    """Every file of the package's crates a build reads (Cargo.toml, src/**.rs), sorted: the
    inputs of `sscc run`'s project cache and of `--depfile`."""
    out = []
    for crate in crate_dirs(pkg_dir):
        out.append(os.path.join(crate, "Cargo.toml"))
        for root, dirs, files in os.walk(os.path.join(crate, "src")):
            out += [os.path.join(root, f) for f in files if f.endswith(".rs")]
    return sorted(out)


def sdf_functions(text: str) -> list[tuple[str, RustFn]]:
    """(fn_name, signature) of every `#[sdf(...)]` function of a source file. Without `fn_name`
    (the sdf-macros layout) the function's own name, kebab-cased, is its name."""
    try:
        fns = parse_functions(text)
    except SyntaxProblem:
        return []
    out = []
    for f in fns:
        for a in f.attrs:
            if re.match(r"\s*sdf\s*\(", a):
                m = FN_NAME.search(a)
                out.append((m.group(1) if m else f.name.replace("_", "-"), f))
                break
    return out


def _find_in_crate(crate: str, function: str):
    src = os.path.join(crate, "src")
    want = {function, function.replace("_", "-")}
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            text = _read(path)
            if "sdf" not in text:
                continue
            for fn_name, fn in sdf_functions(text):
                if fn_name in want or fn_name.replace("_", "-") in want:
                    return crate, path, text, fn
    return None


def rewrite_source(text: str) -> str:
    """Blank out `#[sdf(...)]` attributes (newlines kept, so every line stays where it was)."""
    return SDF_ATTR.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _helper_modules(crate: str, fn_file: str) -> list[tuple[str, str]]:
    """`mod x;` declarations of lib.rs (outside `#[cfg(test)]`) other than function files: they
    become modules at the crate root, where the sources address them as `crate::x`."""
    lib = os.path.join(crate, "src", "lib.rs")
    if os.path.abspath(lib) == os.path.abspath(fn_file) or not os.path.isfile(lib):
        return []
    text = _read(lib)
    out = []
    for m in MOD_DECL.finditer(text):
        before = text[: m.start()].rstrip()
        if before.endswith("]") and "cfg(test)" in before[before.rfind("#[") :]:
            continue
        name = m.group(2)
        for cand in (os.path.join(crate, "src", f"{name}.rs"), os.path.join(crate, "src", name, "mod.rs")):
            if os.path.isfile(cand) and os.path.abspath(cand) != os.path.abspath(fn_file):
                out.append((name, cand))
                break
    return out


def cargo_dependencies(crate: str) -> tuple[CargoDependency, ...]:
    """The crate's `[dependencies]` as Dependency values (paths made absolute; `workspace = true`
    resolved from the workspace's Cargo.toml one or two directories up)."""
    manifest = os.path.join(crate, "Cargo.toml")
    text = _read(manifest)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PackageProblem(f"{_short(manifest)} is not valid TOML: {e}", None, manifest) from None
    workspace = _workspace_dependencies(crate)
    out = []
    for name, spec in (data.get("dependencies") or {}).items():
        if name in GUEST_CRATES:
            continue
        if isinstance(spec, dict) and spec.get("workspace"):
            if name not in workspace:
                raise PackageProblem(
                    f"dependency `{name}` of {_short(manifest)} comes from a Cargo workspace that is not here",
                    "give its version in the crate's Cargo.toml",
                    manifest,
                    _line_of(text, name),
                )
            base, where = workspace[name]
            extra = spec
            spec = dict(base) if isinstance(base, dict) else {"version": base}
            spec["__dir"] = where
            spec["features"] = list(spec.get("features", [])) + list(extra.get("features", []))
        dep = _dependency(name, spec, crate)
        if dep is None:
            continue
        out.append(CargoDependency(dep, manifest, _line_of(text, name)))
    return tuple(out)


def _workspace_dependencies(crate: str) -> dict:
    for up in (os.path.dirname(crate), os.path.dirname(os.path.dirname(crate))):
        path = os.path.join(up, "Cargo.toml")
        if os.path.isfile(path):
            try:
                data = tomllib.loads(_read(path))
            except tomllib.TOMLDecodeError:
                continue
            deps = (data.get("workspace") or {}).get("dependencies") or {}
            if deps:
                return {k: (v, up) for k, v in deps.items()}
    return {}


def _dependency(name: str, spec, crate: str) -> Optional[Dependency]:
    if isinstance(spec, str):
        return Dependency(name=name, version=spec)
    if not isinstance(spec, dict):
        return None
    path = spec.get("path")
    if path:
        path = os.path.normpath(os.path.join(spec.get("__dir", crate), path))
    return Dependency(
        name=name,
        version=spec.get("version"),
        path=path,
        git=spec.get("git"),
        features=tuple(spec.get("features", ())),
        default_features=spec.get("default-features", spec.get("default_features")),
    )


def _line_of(text: str, name: str) -> int:
    m = re.search(r"^\s*" + re.escape(name) + r"\s*=", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _package_meta(package_file: str) -> dict:
    """`meta:` of the package file (name, namespace), read without the front end: the backend
    gets only the path from the IR."""
    import yaml  # PyYAML: the package file was loaded and checked already; only two keys are read

    try:
        with open(package_file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return {}
    meta = data.get("meta") if isinstance(data, dict) else None
    return {k: str(v) for k, v in meta.items() if isinstance(v, (str, int, float))} if isinstance(meta, dict) else {}


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def _short(path: str) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("../..") else path


# ---------------------------------------------------------------------------- generated Rust


def bindings_module(bindings) -> list[str]:
    """`pub mod bindings { pub mod <ns> { pub mod <m> { pub mod types { ... } } } }`: each types
    module re-exports the crate root (the service's types) and adds SDF's `Bytes` alias."""
    by_ns: dict[str, set] = {}
    for ns, mod in bindings:
        by_ns.setdefault(ns, set()).add(mod)
    if not by_ns:
        return []
    lines = ["/// SDF's generated bindings, as package sources name them: the service's own types.", "pub mod bindings {"]
    for ns in sorted(by_ns):
        lines.append(f"    pub mod {ns} {{")
        for mod in sorted(by_ns[ns]):
            lines += [
                f"        pub mod {mod} {{",
                "            pub mod types {",
                "                pub use crate::*;",
                "                pub type Bytes = Vec<u8>;",
                "            }",
                "        }",
            ]
        lines.append("    }")
    lines += ["}", ""]
    return lines


def param_function(text: str, params: tuple[tuple[str, str], ...]) -> list[str]:
    """`get_param(name) -> Option<String>`: the `with:` parameters of this use of the function
    (SDF 0.6), unless the source defines its own."""
    if not re.search(r"\bget_param\b", text) or re.search(r"\bfn\s+get_param\b", text):
        return []
    arms = " ".join(f"{_rust_str(k)} => Some({_rust_str(v)}.to_string())," for k, v in params)
    return [f"fn get_param(name: &str) -> Option<String> {{ match name {{ {arms} _ => None }} }}"]


def _rust_str(s: str) -> str:
    return '"' + "".join(c if c not in '"\\' and c.isprintable() or c == " " else f"\\u{{{ord(c):x}}}" for c in s) + '"'
