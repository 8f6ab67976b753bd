"""`status`, `run --metrics` and `run --workers` with `--broker kafka://` (docs/backends.md, "Kafka").

On a real tansu broker, through the real command line, with the kill pipeline of tests/scaleout:
`status FILE` shows each service's consumer-group offsets and the lag of what was produced after
the run; without the pipeline, and for `--workers`, one `error:` line says why; `--metrics`
answers with the run's counters.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "scaleout"))

from workers_util import CLEAN, COUNT, PARTITIONS, PIPELINE, kept, lines, metrics_of_a_run, produce, require_toolchain, sscc  # noqa: E402


def fails(*args: str) -> str:
    proc = subprocess.run(["sscc", *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_status_on_kafka_shows_the_groups_offsets_and_lag(tansu, tmp_path):
    require_toolchain()
    sscc("topic", "create", "words", "--broker", tansu.url, "--partitions", str(PARTITIONS))
    first = lines(3_000)
    produce(tansu.url, tmp_path, first, "first")
    sscc("run", str(PIPELINE), "--broker", tansu.url, "--until-idle", "--quiet")
    second = lines(1_000, start=3_000)
    produce(tansu.url, tmp_path, second, "second")
    out = sscc("status", str(PIPELINE), "--broker", tansu.url).stdout
    title, header, *rows = out.strip().split("\n\n")[0].splitlines()
    assert title == "LAG" and header.split() == ["SERVICE", "TOPIC", "PARTITION", "POSITION", "END", "LAG"]
    rows = [re.split(r"\s{2,}", row.strip()) for row in rows]
    clean = [row for row in rows if row[0] == CLEAN]
    assert [int(row[2]) for row in clean] == list(range(PARTITIONS))
    assert sum(number(row[3]) for row in clean) == len(first)  # consumed
    assert sum(number(row[5]) for row in clean) == len(second)  # produced minus consumed
    counted = [row for row in rows if row[0] == COUNT and row[1] == "words"]
    assert sum(number(row[3]) for row in counted) == kept(first)
    assert "consumer groups" in out

    assert "needs the pipeline" in fails("status", "--broker", tansu.url)
    assert "consumer group" in fails("run", str(PIPELINE), "--broker", tansu.url, "--workers", "2")


def test_metrics_on_kafka_answer_the_runs_counters(tansu, tmp_path):
    require_toolchain()
    for module in ("starlette", "uvicorn", "prometheus_client", "httpx"):
        pytest.importorskip(module)
    sys.path.insert(0, os.path.join(ROOT, "tests", "ui"))
    from ui_helpers import value

    sscc("topic", "create", "words", "--broker", tansu.url, "--partitions", str(PARTITIONS))
    sscc("topic", "create", "lines", "--broker", tansu.url, "--partitions", str(PARTITIONS))
    chunk = lines(2_000)
    samples = metrics_of_a_run(tansu.url, tmp_path, chunk)
    words = kept(chunk)
    assert value(samples, "sscc_service_records_in_total", service=CLEAN) == len(chunk)
    assert value(samples, "sscc_service_records_out_total", service=CLEAN) == words
    # `lines` was written by a plain producer (no transaction markers): its lag is exact
    assert {value(samples, "sscc_lag_records", service=CLEAN, topic="lines", partition=str(p)) for p in range(PARTITIONS)} == {0}
