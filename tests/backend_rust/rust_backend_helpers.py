"""Shared by the Rust backend tests: compile a pipeline's services to wasm and run them on frames.

The build cache is the user's (or $SSCC_CACHE_DIR), so repeated runs of the suite start no cargo
for crates that did not change. Running a service means what the runtime does with a plan
(docs/runtime.md): each source's stages on that source's records, the merged stream through the
service stages, then every sink's stages on everything.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "runtime_stub"))

from sscc import driver  # noqa: E402
from sscc.backend.rust import build_service, toolchain  # noqa: E402
from sscc.backend.stages import ServicePlan, plan  # noqa: E402
from sscc.diagnostics import Diagnostics, SourceCache, render_text  # noqa: E402
from sscc_runtime import frames  # noqa: E402
from sscc_runtime.wasm_host import Guest, Limits  # noqa: E402

PIPELINES = Path(__file__).resolve().parent / "pipelines"


def needs_toolchain():
    found = toolchain.find()
    if isinstance(found, str):
        pytest.skip(found)


def ir_of(path, optimize=True):
    fe = driver.front_end(str(path), driver.Options(mode="compile"))
    assert not fe.diags.has_errors, [d.message for d in fe.diags.errors()]
    return fe, driver.optimized_ir(fe, driver.Options(optimize=optimize))


def render(fe, diags: Diagnostics) -> str:
    sources = fe.sources if fe is not None else SourceCache()
    return "\n".join(render_text(d, sources) for d in diags.sorted())


class Service:
    """A built service: its plan and a Guest running its module."""

    def __init__(self, path, optimize=True, name=None):
        self.fe, self.ir = ir_of(path, optimize)
        plans = plan(self.ir)
        self.plan: ServicePlan = next(p for p in plans if name is None or p.name == name)
        diags = Diagnostics()
        self.wasm = build_service(self.ir, self.plan, str(path), diags)
        assert self.wasm is not None, render(self.fe, diags)
        fd, wasm_path = tempfile.mkstemp(suffix=".wasm")
        with os.fdopen(fd, "wb") as fh:
            fh.write(self.wasm)
        self.guest = Guest(wasm_path, Limits(timeout_ms=5000, memory_mb=64))

    def run(self, *sources):
        """sources[i]: list of (key, value) for source i. Returns (outputs per sink, errors)."""
        errors = []
        merged = []
        for i, records in enumerate(sources):
            data, _ = frames.build([(k, v, 1000 + n) for n, (k, v) in enumerate(records)])
            data = self._through(self.plan.stages_at("source", i), data, base=0, errors=errors)
            merged.append(data)
        data = self._through(self.plan.stages_at("service"), b"".join(merged), base=-1, errors=errors)
        outs = []
        for j in range(len(self.plan.sinks)):
            out = self._through(self.plan.stages_at("sink", j), data, base=-1, errors=errors)
            outs.append([(r.key, r.value) for r in frames.iter_records(out)])
        return outs, errors

    def _through(self, stages, data, base, errors):
        for st in stages:
            out = self.guest.run(st.export, data, base_offset=base)
            errors += [(st.export, e) for e in out.errors]
            data, base = out.data, -1
        return data
