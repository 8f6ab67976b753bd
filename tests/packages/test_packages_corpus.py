"""The package projects of ../shared/conformance/packages and the dataflows importing them.

Every package project whose crate is in git builds with `sscc build` (each stateless function to
wasm), except where an offline gap stops it: a crate no offline package provides, a `path =`
crate or a sibling package that the copied folder does not hold. Every dataflow compiles, except
for those gaps and packages without sources (E110). Two corpus dataflows run end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys

import pytest
from conftest import ROOT, SHARED

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import need_toolchain, remove_run_cache, sscc  # noqa: E402

from sscc import driver  # noqa: E402
from sscc.backend.package_build import STATELESS, build_package  # noqa: E402
from sscc.backend.rust import build_service  # noqa: E402
from sscc.backend.rust.packages import crate_dirs  # noqa: E402
from sscc.backend.stages import plan  # noqa: E402
from sscc.diagnostics import Diagnostics, SourceCache  # noqa: E402

PACKAGES = os.path.join(SHARED, "conformance", "packages")


def _manifest():
    try:
        with open(os.path.join(PACKAGES, "manifest.json")) as fh:
            return json.load(fh)
    except OSError:
        return []


ENTRIES = _manifest()
WITH_CRATES = [e for e in ENTRIES if e["kind"] == "package" and crate_dirs(os.path.join(PACKAGES, e["dir"]))]
DATAFLOWS = [e for e in ENTRIES if e["kind"] != "package"]
# Building every package and dataflow of the corpus takes about an hour with a cold build cache on
# this 2-core machine, more than CI's budget allows; the suite builds every fourth of each (the
# known gap below always), SSCC_FULL_CORPUS=1 builds them all (so does scripts/packages_report.py).
FULL = os.environ.get("SSCC_FULL_CORPUS") == "1"


def _sample(entries: list, keep=frozenset()) -> list:
    return entries if FULL else [e for i, e in enumerate(entries) if i % 4 == 0 or e["dir"] in keep]


def _offline_gap(d) -> bool:
    """A diagnostic that says something is not here offline, not that sscc failed."""
    if d.code == "E202":
        return "not in the offline registry" in d.message or "which is not there" in d.message
    if d.code == "E100":
        return "not found" in d.message  # a package the copied folder does not hold (or no `path:`)
    return d.code == "E110" and "has no Rust sources" in d.message


def _show(diags) -> str:
    return "\n".join(f"{d.span.path}:{d.span.line}: {d.code} {d.message}" for d in diags)


def test_the_corpus_is_here():
    if not ENTRIES:
        pytest.skip("the package corpus is not beside this checkout")
    assert len(WITH_CRATES) >= 30 and len(DATAFLOWS) == 40


@pytest.mark.parametrize("entry", _sample(WITH_CRATES), ids=[e["dir"] for e in _sample(WITH_CRATES)])
def test_corpus_package_builds(entry):
    need_toolchain()
    result = build_package(os.path.join(PACKAGES, entry["dir"]), SourceCache())
    errors = result.diags.errors()
    if errors:
        assert all(_offline_gap(d) for d in errors), _show(errors)
        assert all(d.code != "E110" for d in errors), _show(errors)  # its sources are here
        return
    stateless = {n for n, op in entry.get("operators", {}).items() if op.replace("_", "-") in STATELESS}
    assert set(result.modules) == {re.sub("_", "-", n) for n in stateless}
    assert all(w[:4] == b"\0asm" for w in result.modules.values())


# Always built: slack-types' `fields-section-fields` is a `type: list` with a `type-name` inside a
# package type, which the package's source names as `FieldsSectionFields` (a Rust alias, as sdfg
# declares one).
ALWAYS = frozenset({"stateful-dataflow-demos@7f0e3521__stripe-to-slack__stripe-slack"})
DATAFLOW_PARAMS = [pytest.param(e, id=e["dir"]) for e in _sample(DATAFLOWS, keep=ALWAYS)]


@pytest.mark.parametrize("entry", DATAFLOW_PARAMS)
def test_corpus_dataflow_compiles(entry):
    need_toolchain()
    path = os.path.join(PACKAGES, entry["dir"], entry["path"])
    fe = driver.front_end(path, driver.Options(mode="compile"))
    if fe.diags.has_errors:
        # offline gaps, or mistakes of the dataflow file itself (work-in-progress versions of
        # stateful-dataflow-demos): nothing in a package or in sscc's build
        own = [d for d in fe.diags.errors() if not _offline_gap(d)]
        assert all(d.span.path == path and int(d.code[1:]) < 100 for d in own), _show(own)
        return
    ir = driver.optimized_ir(fe, driver.Options())
    for sp in plan(ir):
        if not sp.runnable:
            assert not any("imported" in r or "package" in r for r in sp.unsupported), sp.unsupported
            continue
        diags = Diagnostics()
        wasm = build_service(ir, sp, path, diags)
        if wasm is None:
            # offline gaps, or a rustc error in the dataflow's own inline code (5f079fbd calls
            # chrono's `Utc::now()`, whose `clock` feature wasm32-unknown-unknown cannot have);
            # never an error in a package's sources or in code sscc generated
            bad = [d for d in diags.errors() if not _offline_gap(d) and not (d.code == "E201" and d.span.path == path)]
            assert not bad, _show(bad)


def _corpus_flow(tmp_path, folder):
    need_toolchain()
    src = os.path.join(PACKAGES, folder)
    if not os.path.isdir(src):
        pytest.skip("the package corpus is not beside this checkout")
    dest = tmp_path / "repo"
    shutil.copytree(src, dest)
    entry = next(e for e in ENTRIES if e["dir"] == folder)
    return dest / entry["path"]


def _consume(store, topic):
    out = sscc("topic", "consume", topic, "--from-beginning", "--until-idle", "--store", store, check=True)
    return [line for line in out.stdout.splitlines() if line]


def test_corpus_split_sentence_package_variant_runs(tmp_path):
    flow = _corpus_flow(tmp_path, "stateful-dataflows-examples@988f52b1__dataflows__split-sentence__package-variant")
    lines = ["Hello big world", "  the quick  brown fox ", "é à"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "store")
    try:
        sscc("topic", "produce", "sentences", "--file", tmp_path / "in.txt", "--store", store, check=True)
        run = sscc("run", flow, "--until-idle", "--store", store)
        assert run.returncode == 0, run.stderr
        words = [w for line in lines for w in line.split()]
        assert _consume(store, "words") == words
        assert _consume(store, "word-counts") == [str(len(w)) for w in words]  # chars, not bytes
    finally:
        remove_run_cache(flow)


def test_corpus_mask_ssn_package_variant_runs(tmp_path):
    flow = _corpus_flow(tmp_path, "stateful-dataflows-examples@988f52b1__dataflows__mask-user-pii__package-variant")
    lines = ["name: Ann, ssn: 123-45-6789", "no number here", "two 111-22-3333 and 999-88-7777"]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "store")
    try:
        sscc("topic", "produce", "user-info", "--file", tmp_path / "in.txt", "--store", store, check=True)
        run = sscc("run", flow, "--until-idle", "--store", store)
        assert run.returncode == 0, run.stderr
        assert _consume(store, "masked") == [re.sub(r"\d{3}-\d{2}-\d{4}", "***-**-****", line) for line in lines]
    finally:
        remove_run_cache(flow)


def test_sdf_macros_layout_is_read():
    """rutcl's package (sdf-macros 0.5 layout: a crate per function, `#[sdf(filter, package = ...)]`
    without fn_name, workspace dependencies) resolves to its sources; only its `rutcl` crate is
    missing offline."""
    from sscc.backend.rust.packages import load_function

    pkg = os.path.join(PACKAGES, "rutcl@2b0a5e25__sdf-pkg", "sdf-package.yaml")
    if not os.path.isfile(pkg):
        pytest.skip("the package corpus is not beside this checkout")
    fn = load_function(pkg, "rut-is-valid")
    assert fn.fn.name == "rut_is_valid" and fn.code.file.endswith("rust/rut_is_valid/src/lib.rs")
    assert "#[sdf(" not in fn.code.text and fn.code.text.count("\n") == open(fn.code.file).read().count("\n")
    deps = {d.dep.name: d.dep for d in fn.dependencies}
    assert deps["rutcl"].version == "0.1.9" and "sdf-macros" not in deps and "wit-bindgen" not in deps
