"""Schedule sources end to end (docs/schedules.md): a real compiled pipeline fires cron times on
the run's clock, exactly once across restarts. The clock is fixed with SSCC_NOW_MS, so nothing
here depends on how long anything takes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "backend_project"))

from project_helpers import env, need_toolchain, remove_run_cache, sscc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TICKER = os.path.join(HERE, "ticker.yaml")
SECONDS = os.path.join(HERE, "seconds.yaml")
T0 = 1_700_000_030_000  # 2023-11-14 22:13:50 UTC: 10 s before a whole minute
MINUTE = 60_000
HANG_GUARD = 120  # seconds; only stops a hung test, never asserts speed


@pytest.fixture(autouse=True)
def toolchain():
    need_toolchain()
    yield
    for path in (TICKER, SECONDS):
        remove_run_cache(path)


def _consume(store, topic):
    out = sscc("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle", check=True).stdout
    return out.splitlines()


def _run(store, now_ms):
    return sscc("run", TICKER, "--store", store, "--until-idle", SSCC_NOW_MS=str(now_ms), check=True)


def test_schedule_pipelines_check_and_show_in_the_ir():
    assert sscc("check", TICKER).returncode == 0
    ir = sscc("ir", TICKER, check=True).stdout
    assert "(schedule every-minute: * * * * *)" in ir


def test_until_idle_fires_what_fell_due_since_the_last_run_exactly_once(tmp_path):
    store = tmp_path / "store"
    first = _run(store, T0)  # arms both schedules at T0; nothing before the first start fires
    assert "in 0 " in first.stderr.splitlines()[-1]
    assert _consume(store, "labels") == [] and _consume(store, "time-events") == []

    _run(store, T0 + 3 * MINUTE + 5_000)  # 3 minute marks passed
    marks = [T0 + 10_000 + i * MINUTE for i in range(3)]
    assert all(m % MINUTE == 0 for m in marks)
    assert _consume(store, "labels") == [f'"tick {m}"' for m in marks]
    assert _consume(store, "time-events") == [str(m) for m in marks], "the record value is the time in ms"

    _run(store, T0 + 3 * MINUTE + 5_000)  # the same instant again: nothing is fired twice
    _run(store, T0 + 3 * MINUTE + 9_999)  # still before the next mark (T0 + 3 min 10 s)
    assert len(_consume(store, "labels")) == 3

    _run(store, T0 + 4 * MINUTE)  # the next mark
    assert _consume(store, "time-events") == [str(m) for m in marks + [T0 + 10_000 + 3 * MINUTE]]


def test_the_fired_records_carry_their_time_as_event_time(tmp_path):
    store = tmp_path / "store"
    _run(store, T0)
    _run(store, T0 + MINUTE)
    from sscc.runtime_stub.sscc_runtime import frames
    from sscc.runtime_stub.sscc_runtime.store import Store

    with Store(store / "store.db") as db:  # batch bytes live in the store's record log
        topic = "test.ticker.label.schedule.every-minute"  # owned by the service: namespace.pipeline.service
        first, end = db.bounds(topic, 0)
        data = db.read(topic, 0, first, end - first).data
    (record,) = frames.iter_records(data)
    assert record.key is None and record.value == str(T0 + 10_000).encode() and record.timestamp == T0 + 10_000


def test_following_run_fires_on_the_wall_clock_and_stops_cleanly(tmp_path):
    store = tmp_path / "store"
    child = subprocess.Popen(
        [sys.executable, "-m", "sscc", "run", SECONDS, "--store", str(store), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + HANG_GUARD
        seen: list[str] = []
        while len(seen) < 2:
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "gave up waiting for two fires"
            time.sleep(0.2)
            if (store / "store.db").exists():
                seen = _consume(store, "time-events")
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 0, err
    times = [int(v) for v in _consume(store, "time-events")]
    assert all(t % 1000 == 0 for t in times), "every-second cron: whole seconds"
    assert times == sorted(set(times)), "each second fires once, in order"


def test_the_description_carries_the_expanded_cron(tmp_path):
    import json

    out = tmp_path / "project"
    sscc("compile", TICKER, "-o", out, check=True)
    (path,) = out.rglob("services.json")
    services = {s["name"]: s for s in json.loads(path.read_text())["services"]}
    (src,) = services["test.ticker.produce-minutely"]["sources"]  # namespace.pipeline.service
    assert src["topic"] == "test.ticker.produce-minutely.schedule.every-minute"
    assert src["starting_offset"] == {"position": "Beginning", "value": 0}
    sched = src["schedule"]
    assert (sched["event"], sched["cron"], sched["seconds"], sched["minutes"]) == ("every-minute", "* * * * *", [0], list(range(60)))
    assert sched["days_of_week"] == list(range(7)) and sched["days_either"] is False
    readme = (out / "README.md").read_text()
    assert "schedule `every-minute`" in readme
