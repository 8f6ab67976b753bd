"""The stage sequence, used by the CLI and the tests alike.

    load -> detect -> schema -> upgrade -> ast (+ syntax) -> packages -> check -> ir -> passes

Each stage's output is a plain value on `FrontEnd`; every stage keeps going after errors
where it can, so one run reports all problems of a file. Nothing here prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import ast as A
from .build_ast import build_ast
from .check import check, check_package
from .check.model import Checked
from .diagnostics import Diagnostics, SourceCache, reset_suggestion_budget
from .load.detect import detect_kind, detect_version, needs_upgrade
from .load.yaml_loader import MAX_FILE_BYTES, Document, load_file
from .schema import validate as schema_validate

PACKAGE_FILE_NAMES = ("sdf-package.yaml", "ssdk-package.yaml", "sdf-package.yml")


@dataclass
class Options:
    strict: bool = False
    # "check": a missing package is a warning; "compile": an error (it cannot be built)
    mode: str = "check"
    disabled_passes: frozenset = frozenset()
    optimize: bool = True


@dataclass
class FrontEnd:
    path: str
    diags: Diagnostics
    sources: SourceCache
    doc: Optional[Document] = None
    kind: Optional[str] = None
    api_version: Optional[str] = None
    upgraded: Optional[Document] = None  # the 0.6.0-shaped document (same as doc for 0.5/0.6)
    pipeline: Optional[A.Pipeline] = None
    packages: dict = field(default_factory=dict)  # pkg id -> Pipeline
    checked: Optional[Checked] = None

    @property
    def ok(self) -> bool:
        return not self.diags.has_errors


def parse(path: str, diags: Diagnostics, sources: SourceCache) -> FrontEnd:
    """Load, detect, validate, upgrade and build the AST of one file (no package resolution)."""
    fe = FrontEnd(path=path, diags=diags, sources=sources)
    doc = load_file(path, diags)
    if doc is None:
        try:
            with open(path, encoding="utf-8", errors="backslashreplace") as fh:  # a bad byte shows as \xff
                sources.add(path, fh.read(MAX_FILE_BYTES + 1))
        except OSError:
            pass
        return fe
    sources.add(path, doc.text)
    fe.doc = doc
    fe.kind = detect_kind(doc)
    if fe.kind == "hub-meta":
        return fe
    if fe.kind == "types":
        fe.upgraded = doc
        fe.pipeline = build_ast(doc, "types", diags)
        return fe
    fe.api_version = detect_version(doc, fe.kind, diags)
    if fe.api_version is None:
        return fe
    legacy = needs_upgrade(fe.kind, fe.api_version)
    if not legacy:
        schema_validate(doc, fe.kind, fe.api_version, diags)
        fe.upgraded = doc
    else:
        # 0.4.0 has a schema of its own; the preview shapes are validated once upgraded.
        if fe.api_version == "0.4.0":
            schema_validate(doc, fe.kind, fe.api_version, diags)
        from .load.upgrade import upgrade  # the legacy rules are loaded only for legacy files

        fe.upgraded = upgrade(doc, fe.kind, fe.api_version, diags)
        if fe.api_version != "0.4.0":
            schema_validate(fe.upgraded, fe.kind, "0.6.0", diags)
    fe.pipeline = build_ast(fe.upgraded, fe.kind, diags, upgraded_from=fe.api_version if legacy else None)
    return fe


def find_package_file(base: str) -> Optional[str]:
    """`base` itself when it is a file, else the package file in the directory `base`."""
    if os.path.isfile(base):
        return base
    for name in PACKAGE_FILE_NAMES:
        cand = os.path.join(base, name)
        if os.path.isfile(cand):
            return cand
    return None


def resolve_packages(fe: FrontEnd, options: Options, loading: Optional[set] = None) -> dict:
    """Find every imported package on local paths (`imports[].path`, then `dev.imports[].path`).

    A package that cannot be found is reported once: a warning for `check` (its functions are
    checked as far as this file declares them), an error for `compile`. A package that is found
    is checked too (check_package), its problems reported at its own file's positions."""
    pipe = fe.pipeline
    out: dict = {}
    if pipe is None:
        return out
    loading = set() if loading is None else loading
    here = os.path.dirname(os.path.abspath(fe.path))
    dev_paths = {imp.pkg: imp.path for imp in pipe.dev_imports if imp.path}
    for imp in pipe.imports:
        if imp.pkg in out or not imp.pkg:
            continue
        rel = imp.path or dev_paths.get(imp.pkg)
        found = find_package_file(os.path.normpath(os.path.join(here, rel))) if rel else None
        if found is None:
            where = f"at `{rel}`" if rel else "locally (no `path:` in `imports` or `dev.imports`)"
            msg = f"package `{imp.pkg}` not found {where}"
            if options.mode == "compile":
                fe.diags.error("E100", imp.span, msg, "give the package directory with `path:` under `dev.imports`, or fetch it next to this file")
            else:
                fe.diags.warning("W100", imp.span, msg + "; its functions are checked only as declared here", "give the package directory with `path:` under `dev.imports`")
            continue
        key = os.path.realpath(found)
        if key in loading:
            continue  # an import cycle between packages, or a package imported twice: each is loaded once
        loading.add(key)
        errors_before = len(fe.diags.errors())
        sub = parse(found, fe.diags, fe.sources)
        if sub.pipeline is None or sub.kind != "package":
            if sub.pipeline is not None:
                fe.diags.error("E101", imp.span, f"`{found}` is not a package file", "point `path:` at a directory holding sdf-package.yaml")
            continue
        sub.packages = resolve_packages(sub, options, loading)
        sub.checked = check_package(sub.pipeline, sub.packages, fe.diags)  # reported at the package file's lines
        if len(fe.diags.errors()) > errors_before:
            # A broken package is reported in its own file; the importer then treats it as not
            # found (its functions checked only as this file uses them), so the one mistake does
            # not come back as type errors in every step that uses the package.
            continue
        out[imp.pkg] = sub.pipeline
        for k, v in sub.packages.items():
            out.setdefault(k, v)
    return out


def front_end(path: str, options: Optional[Options] = None, sources: Optional[SourceCache] = None) -> FrontEnd:
    """Everything `sscc check` does for one file."""
    options = options or Options()
    diags = Diagnostics()
    reset_suggestion_budget()
    fe = parse(path, diags, sources or SourceCache())
    if fe.pipeline is not None:
        fe.packages = resolve_packages(fe, options)
        if fe.kind == "dataflow":
            fe.checked = check(fe.pipeline, fe.packages, diags)
        else:
            fe.checked = check_package(fe.pipeline, fe.packages, diags)
    if options.strict:
        diags.promote_warnings()
    return fe


def lower_ir(fe: FrontEnd):
    from .ir.lower import lower

    return lower(fe.checked)


def optimized_ir(fe: FrontEnd, options: Options, trace: Optional[Callable] = None):
    from .passes import optimize, pass_names

    disabled = set(pass_names()) if not options.optimize else set(options.disabled_passes)
    return optimize(lower_ir(fe), disabled=disabled, trace=trace)
