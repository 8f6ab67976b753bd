"""The windowed service's plan and description: what `stages.plan` and `describe` make of the
corpus tumbling window (one joined window stage, the flush stage first of the "flush" place, the
default watermark), a two-source window on the merged stream, the description's checks, and a
restart under a changed window definition (refused with one `error:` line)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT

sys.path[:0] = [os.path.join(ROOT, "tests", "backend_project"), os.path.join(ROOT, "runtime_stub")]

from project_helpers import need_toolchain, remove_run_cache, sscc  # noqa: E402
from sscc.backend import stages  # noqa: E402
from sscc.driver import Options, front_end, optimized_ir  # noqa: E402
from sscc_runtime import service  # noqa: E402

TUMBLING = Path(CORPUS) / "fluvio-docs__sdf___embeds__dataflows__tumbling_window.yaml"


def plans(path: Path):
    options = Options(mode="compile")
    return {p.name: p for p in stages.plan(optimized_ir(front_end(str(path), options), options))}


def test_the_corpus_window_plans_into_a_window_stage_and_a_flush_stage():
    plan = plans(TUMBLING)["window-collect-service"]
    assert plan.runnable and plan.window is not None
    window, flush = plan.stages[plan.window.stage], plan.stages[plan.window.flush]
    assert window.name == "decode -> assign-event-timestamp -> window -> key-first-digit -> increment-digit-count"
    assert (window.place, window.endpoint) == ("source", 0)  # one source: joined with the decode
    assert flush.place == "flush" and plan.stages_at("flush")[0] is flush
    assert [s.name for s in plan.stages_at("flush")] == ["get-first-digit-count", "encode"]
    assert (plan.window.grace_ms, plan.window.idleness_ms, plan.window.slide_ms) == (0, 15000, 15000)


def test_two_sources_window_on_the_merged_stream(tmp_path):
    text = TUMBLING.read_text().replace(
        "    sources:\n      - type: topic\n        id: sentences\n    states:",
        "    sources:\n      - type: topic\n        id: sentences\n      - type: topic\n        id: digit-start\n    states:",
    )
    path = tmp_path / "two.yaml"
    path.write_text(text)
    plan = plans(path)["window-collect-service"]
    assert plan.runnable, plan.unsupported
    window = plan.stages[plan.window.stage]
    assert (window.place, window.name) == ("service", "assign-event-timestamp -> window -> key-first-digit -> increment-digit-count")
    assert [s.place for s in plan.stages] == ["source", "source", "service", "flush", "flush"]


def _described(**window) -> dict:
    base = {"kind": "sliding", "duration_ms": 60000, "slide_ms": 10000, "stage": "sscc_stage_0",
            "flush": [{"module": "m.wasm", "export": "sscc_stage_1"}]}
    base.update(window)
    return {"name": "s", "sources": [{"topic": "t"}], "window": {k: v for k, v in base.items() if v is not None}}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"slide_ms": 70000}, "services[0].window.slide_ms: must not exceed duration_ms (60000)"),
        ({"kind": "hopping"}, "services[0].window.kind: expected tumbling or sliding"),
        ({"flush": []}, "services[0].window.flush: a window needs its flush stage"),
        ({"grace_ms": -1}, "services[0].window.grace_ms: expected an integer >= 0"),
        ({"watermark": 5}, "services[0].window: unknown keys ['watermark']"),
    ],
)
def test_the_description_checks_the_window(change, message):
    with pytest.raises(service.DescriptionError) as exc:
        service.load({"format": 1, "services": [_described(**change)]})
    assert str(exc.value).startswith(message)


def test_a_changed_window_definition_is_refused_on_restart(tmp_path):
    need_toolchain()
    path = tmp_path / "src" / "tumbling.yaml"
    path.parent.mkdir()
    shutil.copy(TUMBLING, path)
    store = tmp_path / "store"
    sscc("topic", "produce", "sentences", "--store", store, "--timestamp-separator", ":", "--quiet", input="1000:1\n", check=True)
    try:
        sscc("run", path, "--store", store, "--until-idle", check=True)
        path.write_text(path.read_text().replace("duration: 15s", "duration: 10s"))
        proc = sscc("run", path, "--store", store, "--until-idle")
    finally:
        remove_run_cache(path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: service window-collect-service: the window definition changed" in proc.stderr
