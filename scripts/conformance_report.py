"""Build every runnable service of the conformance corpus to wasm and write docs/conformance.md.

For each file of ../shared/conformance/manifest.json: check it, plan its services, and build the
wasm module of each runnable one with the Rust backend (through the build cache, so a re-run only
builds what changed). The report lists every file as built / not built with the reason, and totals.

    python3 scripts/conformance_report.py [--out docs/conformance.md] [--cache DIR] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance", "corpus"))
MANIFEST = os.path.normpath(os.path.join(ROOT, "..", "shared", "conformance", "manifest.json"))
sys.path.insert(0, os.path.join(ROOT, "compiler"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from sscc import driver  # noqa: E402
from sscc.backend.rust import build_service  # noqa: E402
from sscc.backend.stages import plan  # noqa: E402
from sscc.diagnostics import Diagnostics  # noqa: E402

BUILT, PARTIAL, NOT_BUILT, NO_SERVICE = "built", "partly built", "not built", "no service"


def classify(diag) -> str:
    """A short reason for a build diagnostic."""
    msg = diag.message
    if diag.code == "E202" and "polars::" in msg:
        return f"uses SDF's early Polars state API, which no offline crate builds for wasm32 ({diag.code})"
    if diag.code == "E202" and "is a local crate at" in msg:  # a package's `path =` dependency
        return f"local crate `{msg.split('`')[1]}` of package `{msg.split('`')[-2]}` not in the folder ({diag.code})"
    if diag.code == "E110":
        return f"{msg.split(': ', 1)[-1].split(' (')[0]} ({diag.code})"
    if diag.code == "E202":
        crate = msg.split("`")[1] if "`" in msg else "?"
        return f"missing crate `{crate}` ({diag.code})"
    if diag.code == "E201":
        return f"Rust error: {msg.split(': ', 1)[-1][:90]} ({diag.code})"
    return f"{msg[:100]} ({diag.code})"


def unsupported_reason(reasons: tuple[str, ...]) -> str:
    text = " ".join(reasons)
    if "package that was not found" in text:
        return "imported function of a package that was not found"
    if "state" in text or "window" in text or "partition" in text:
        return "stateful service"
    if "schedule" in text:
        return "schedule source"
    if "python" in text:
        return "python code"
    return reasons[0][:100]


def report_file(path: str, cache: str | None) -> tuple[str, str, int, int, int]:
    """(result, reason, services built, services runnable, services) of one corpus file."""
    try:
        fe = driver.front_end(path, driver.Options(mode="compile"))
    except Exception as e:  # the report must cover every file; a crash is itself a finding
        return NOT_BUILT, f"sscc crashed in the front end: {type(e).__name__}: {e}", 0, 0, 0
    if fe.kind != "dataflow":
        return NO_SERVICE, f"{fe.kind or 'unknown'} file (no services of its own)", 0, 0, 0
    if fe.diags.has_errors:
        codes = sorted({d.code for d in fe.diags.errors()})
        return NOT_BUILT, f"check errors ({', '.join(codes)})", 0, 0, 0
    ir = driver.optimized_ir(fe, driver.Options())
    plans = plan(ir)
    if not plans:
        return NO_SERVICE, "no services", 0, 0, 0
    reasons, built, runnable = [], 0, 0
    for sp in plans:
        if not sp.runnable:
            reasons.append(f"`{sp.name}`: {unsupported_reason(sp.unsupported)}")
            continue
        runnable += 1
        diags = Diagnostics()
        wasm = build_service(ir, sp, path, diags, cache_dir=cache)
        if wasm is not None:
            built += 1
        else:
            first = diags.errors()[0] if diags.errors() else None
            reasons.append(f"`{sp.name}`: {classify(first) if first else 'unknown failure'}")
    result = BUILT if built == len(plans) else PARTIAL if built else NOT_BUILT
    if result == PARTIAL:
        reasons.insert(0, f"{built} of {len(plans)} services built")
    return result, "; ".join(reasons), built, runnable, len(plans)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "conformance.md"))
    ap.add_argument("--cache", default=None, help="build cache directory (default: $SSCC_CACHE_DIR or ~/.cache/sscc)")
    ap.add_argument("--only", default=None, help="only files whose name contains this")
    ap.add_argument("--no-packages", action="store_true", help="leave out the package projects section")
    args = ap.parse_args()
    with open(MANIFEST) as fh:
        manifest = json.load(fh)
    rows = []
    totals = collections.Counter()
    started = time.time()
    for entry in manifest:
        name = entry["file"]
        if args.only and args.only not in name:
            continue
        t0 = time.time()
        result, reason, built, runnable, services = report_file(os.path.join(CORPUS, name), args.cache)
        totals[result] += 1
        if services and runnable == services:
            totals["stateless files"] += 1
            totals["stateless files built"] += result == BUILT
        totals["services built"] += built
        totals["services runnable"] += runnable
        rows.append((name, entry.get("apiVersion", "?"), result, reason))
        print(f"{result:12} {time.time() - t0:6.1f}s {name} {reason}", flush=True)
    extra = []
    if not args.only and not args.no_packages:  # the package projects and their dataflows (scripts/packages_report.py)
        import packages_report

        extra = [""] + packages_report.section(*packages_report.run(args.cache))
    write(args.out, rows, totals, extra)
    print(f"{time.time() - started:.0f} s; wrote {args.out}")
    return 0


def write(out: str, rows, totals, extra=()) -> None:
    """The report is deterministic: the same corpus and sscc give the same file."""
    lines = [
        "# Conformance: building the corpus to wasm",
        "",
        "Generated by `python3 scripts/conformance_report.py` (do not edit). For every file of the",
        "conformance corpus (`../shared/conformance/manifest.json`): checked, planned, and every",
        "runnable service built to `wasm32-wasi` by the Rust backend (docs/backend-rust.md).",
        "A file is *built* when all its services built, *partly built* when some did; the reason names",
        "each service that did not build (its first diagnostic). *no service*: package files and the like.",
        "",
        f"- files: {len(rows)}",
        f"- built: {totals[BUILT]}",
        f"- partly built: {totals[PARTIAL]}",
        f"- not built: {totals[NOT_BUILT]}",
        f"- no service: {totals[NO_SERVICE]}",
        f"- files whose every service is runnable (inline Rust; no Python or imported operators): {totals['stateless files']}, "
        f"of which built: {totals['stateless files built']}",
        f"- runnable services built: {totals['services built']} of {totals['services runnable']}",
        "",
        "| file | apiVersion | result | reason |",
        "|---|---|---|---|",
    ]
    for name, version, result, reason in rows:
        reason = reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {name} | {version} | {result} | {reason} |")
    lines += list(extra)
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
