"""Per-record limits (issue 13 items 1-2): the time and memory limits hold per record, so the
outputs and dead letters are the same at any batch size; a record over a limit alone is
dead-lettered with the reason and the run goes on; records over --max-record-bytes are
dead-lettered where they enter or leave a service; a state that does not fit is a clear error.
Real compiled pipelines (tests/hostile/limits.yaml), `sscc run` with the limit flags, real store."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import pipeline_copy, sscc  # noqa: E402

LIMITS = Path(__file__).resolve().parent / "limits.yaml"
WORD_COUNT = Path(ROOT) / "tests" / "state" / "word_count_state.yaml"


@pytest.fixture
def pipeline(tmp_path):
    yield from pipeline_copy(tmp_path, LIMITS, "dataflow.yaml")


def _produce(store: Path, lines: list[str], topic: str = "commands") -> None:
    sscc("topic", "produce", topic, "--store", store, "--quiet", input="\n".join(lines) + "\n", check=True)


def _consume(store: Path, topic: str) -> list[str]:
    return sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()


def _run_twice(pipeline: Path, tmp_path: Path, lines: list[str], *flags: str) -> list[tuple[list[str], list[dict]]]:
    """(results, dead letters) of one run at the default batch size and one of 1-record batches."""
    got = []
    for name, batch in (("default", []), ("single", ["--batch-records", "1"])):
        store = tmp_path / name
        _produce(store, lines)
        run = sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", *flags, *batch)
        assert run.returncode == 0, run.stderr
        dead = [json.loads(line) for line in _consume(store, "worker.dead-letters")]
        got.append((_consume(store, "results"), dead))
    return got


def test_the_time_limit_holds_per_record_at_any_batch_size(pipeline, tmp_path):
    # 200 records of ~8 ms each: together 3x the limit, each ~60x under it.
    lines = ["busy 10000000"] * 200
    (results, dead), (single, single_dead) = _run_twice(pipeline, tmp_path, lines, "--max-time", "0.5")
    assert dead == [], "no record is over the limit alone"
    assert results == single == ["busy 10000000"] * 200
    assert single_dead == []


def test_the_memory_limit_holds_per_record_and_a_hog_fails_alone(pipeline, tmp_path):
    # Each `emit` record needs ~17 MiB alone; eight of them hold ~70 MiB of outputs together.
    lines = ["emit 50000"] * 4 + ["hog"] + ["emit 50000"] * 4 + ["after"]
    (results, dead), (single, single_dead) = _run_twice(pipeline, tmp_path, lines, "--max-memory", "32")
    assert results == single
    assert len(results) == 8 * 50000 + 1 and results[-1] == "after"
    assert [(d["offset"], d["kind"]) for d in dead] == [(4, "trap")]
    assert dead[0]["reason"].startswith("out of memory") and "32 MiB, for this record alone" in dead[0]["reason"]
    assert [d["offset"] for d in single_dead] == [4]


def test_records_over_the_size_limit_are_dead_lettered_in_and_out(pipeline, tmp_path):
    store = tmp_path / "store"
    _produce(store, ["small", "z" * 5000, "big 3000", "last"])
    run = sscc("run", pipeline, "--store", store, "--until-idle", "--max-record-bytes", "worker=1000")
    assert run.returncode == 0 and "dead 2" in run.stderr, run.stderr
    assert _consume(store, "results") == ["small", "last"]
    dead = [json.loads(line) for line in _consume(store, "worker.dead-letters")]
    assert [(d["offset"], d["kind"]) for d in dead] == [(1, "limit"), (2, "limit")]
    assert dead[0]["reason"].startswith("the record is 5,000 bytes, over the limit of 1,000 bytes per record")
    assert dead[0]["value"] == "z" * 1024 and dead[0]["value_bytes"] == 5000, "the dead letter keeps only a prefix"
    assert dead[1]["reason"].startswith("the record for topic results is 3,000 bytes")
    bad = sscc("run", pipeline, "--store", store, "--until-idle", "--max-record-bytes", "nobody=5")
    assert bad.returncode == 1 and "no service 'nobody'" in bad.stderr


def test_big_batches_and_a_record_too_big_for_memory(pipeline, tmp_path):
    store = tmp_path / "store"
    # ~40 MB of 20 KB records (one batch) and one 40 MB record, under a 16 MiB guest
    lines = ["r" * 20_000] * 2000 + ["q" * 40_000_000, "after"]
    _produce(store, lines)
    flags = ["--max-memory", "16", "--max-record-bytes", "100000000"]
    run = sscc("run", pipeline, "--store", store, "--until-idle", *flags)
    assert run.returncode == 0, run.stderr
    results = _consume(store, "results")
    assert len(results) == 2001 and results[-1] == "after" and set(results[:-1]) == {"r" * 20_000}
    (dead,) = [json.loads(line) for line in _consume(store, "worker.dead-letters")]
    assert (dead["offset"], dead["kind"]) == (2000, "limit")
    assert "does not fit the guest's 16 MiB memory limit" in dead["reason"]


def test_a_state_that_does_not_fit_is_a_clear_error(tmp_path):
    for path in pipeline_copy(tmp_path, WORD_COUNT, "dataflow.yaml"):
        store = tmp_path / "store"
        # 100,000 distinct keys of ~90 bytes: several MiB of change records
        words = [f"{i:06d}{'w' * 84}" for i in range(100_000)]
        _produce(store, [" ".join(words[i : i + 100]) for i in range(0, len(words), 100)], "sentences")
        sscc("run", path, "--store", store, "--until-idle", "--quiet", check=True)
        small = sscc("run", path, "--store", store, "--until-idle", "--max-memory", "count-words=4")
        assert small.returncode == 1, small.stderr
        err = small.stderr
        assert "state `count-per-word` of service `count-words` does not fit the guest's 4 MiB memory limit" in err
        assert "--max-memory count-words=MIB" in err and "Traceback" not in err
