"""`run --workers N`, `status` and `run --metrics` on NATS JetStream (docs/scale-out.md, docs/backends.md).

The kill pipeline of tests/scaleout (`clean`, stateless, 8 tasks over the 8 partitions of `lines`,
feeding `count`, a word count sharded in 8) on a real nats-server, through the real command line:
- `--workers 2` gives the words per partition, the dead letters and the state of `--workers 1`
  (each on a server of its own), and the state equals an independent count of the input;
- `status --broker` shows the two live workers of a running `--workers 2`, every lease they
  hold, and afterwards the lag of what was produced after the run stopped;
- `run --metrics` on the broker answers /metrics with the run's counters.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from nats_servers import Server, free_port, nats_server, nats_url, wait_ready  # noqa: F401 - fixtures

sys.path.insert(0, os.path.join(ROOT, "tests", "scaleout"))

from workers_util import (  # noqa: E402
    CLEAN, COUNT, PARTITIONS, PIPELINE, assert_same_outputs, expected_state, kept, lines, metrics_of_a_run, produce, require_toolchain, sscc, wait_for,
)  # fmt: skip
from sscc_runtime import brokers, frames, statelog  # noqa: E402

RECORDS = 20_000


def prepare(url: str, tmp, chunks: list[list[str]]) -> None:
    sscc("topic", "create", "words", "--broker", url, "--partitions", str(PARTITIONS))
    sscc("topic", "create", "lines", "--broker", url, "--partitions", str(PARTITIONS))
    for i, chunk in enumerate(chunks):
        produce(url, tmp, chunk, f"chunk{i}")


def read_all(backend, topic: str, partition: int) -> list:
    return list(frames.iter_records(statelog.read_all(backend, topic, partition)))


def snapshot(url: str) -> dict:
    """What a run left on the broker: words per partition, clean's dead letters, the count state,
    the leases."""
    import json

    backend = brokers.open_broker(url)
    try:
        words = {p: [(r.value, r.origin) for r in read_all(backend, "words", p)] for p in range(PARTITIONS)}
        letters = [json.loads(r.value) for r in read_all(backend, f"{CLEAN}.dead-letters", 0)]
        state = statelog.replay(statelog.read_all(backend, f"{COUNT}.count-per-word.changelog"))
        leases = backend.leases()
        workers = backend.workers()
    finally:
        backend.close()
    dead = {p: sorted((d["offset"], d["reason"]) for d in letters if d["partition"] == p) for p in range(PARTITIONS)}
    return {"words": words, "dead": dead, "state": state, "leases": leases, "workers": workers}


@pytest.fixture
def second_nats(tmp_path):
    server = Server(tmp_path / "nats2", "n2", free_port())
    server.start()
    try:
        wait_ready(f"nats://{server.url}")
        yield f"nats://{server.url}"
    finally:
        server.stop()


def test_two_workers_on_nats_give_the_outputs_and_state_of_one(nats_url, second_nats, tmp_path):
    require_toolchain()
    chunks = [lines(RECORDS // 2), lines(RECORDS // 2, start=RECORDS // 2)]
    results = {}
    for workers, url in ((1, nats_url), (2, second_nats)):
        prepare(url, tmp_path, chunks)
        proc = sscc("run", str(PIPELINE), "--broker", url, "--until-idle", "--batch-records", "1000", "--workers", str(workers))
        assert "done after" in proc.stderr, proc.stderr
        assert "dropped task" not in proc.stderr, proc.stderr  # no commit was refused between the workers
        results[workers] = snapshot(url)
    one, two = results[1], results[2]
    all_lines = [line for chunk in chunks for line in chunk]
    assert one["state"] == expected_state(all_lines)
    assert sum(len(v) for v in one["dead"].values()) == sum(1 for line in all_lines if line.startswith("!"))
    assert_same_outputs(two, one)
    tasks = {(CLEAN, p) for p in range(PARTITIONS)} | {(COUNT, p) for p in range(PARTITIONS)}
    assert {(lease.service, lease.task) for lease in two["leases"]} == tasks
    assert all(lease.expires_at == 0 for lease in two["leases"]), "every lease released at the end"
    assert len({lease.worker for lease in two["leases"]}) == 2, "both workers held tasks"
    assert two["workers"] == [], "the supervisor removes the registry rows of workers that stopped"


def sections(out: str) -> dict[str, list[list[str]]]:
    """`status` output -> {WORKERS|LEASES|LAG: rows split on runs of two spaces or more}."""
    found = {}
    for block in re.split(r"\n\s*\n", out.strip()):
        title, *rows = block.splitlines()
        found[title] = [re.split(r"\s{2,}", row.strip()) for row in rows[1:]] if rows and not rows[0].startswith("  ") else []
    return found


def test_status_on_nats_shows_workers_leases_and_lag(nats_url, tmp_path):
    require_toolchain()
    prepare(nats_url, tmp_path, [])
    run = subprocess.Popen(["sscc", "run", str(PIPELINE), "--broker", nats_url, "--workers", "2", "--quiet"],
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    watch = brokers.open_broker(nats_url)
    try:
        now = time.time
        wait_for(lambda: len(watch.workers()) == 2 and len([x for x in watch.leases() if x.expires_at > now()]) == 2 * PARTITIONS,
                 60, "two workers holding every task (count: 8 shards)", poll=0.2)  # fmt: skip
        first = lines(4_000)
        produce(nats_url, tmp_path, first, "first")
        ends = [watch.bounds("lines", p)[1] for p in range(PARTITIONS)]
        assert sum(ends) == len(first)
        words = kept(first)
        wait_for(lambda: [watch.position(CLEAN, "lines", p) for p in range(PARTITIONS)] == ends
                 and sum(watch.position(COUNT, "words", p) or 0 for p in range(PARTITIONS)) == words, 60, "the run caught up", poll=0.2)  # fmt: skip
        live = sections(sscc("status", str(PIPELINE), "--broker", nats_url).stdout)
    finally:
        watch.close()
        run.send_signal(signal.SIGTERM)
        stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 0 and "Traceback" not in stderr, stderr
    workers = live["WORKERS"]
    assert len(workers) == 2 and all(row[2] == "alive" for row in workers), workers
    assert {row[0] for row in workers} == {f"{os.uname().nodename}:{row[1]}" for row in workers}
    held = " ".join(row[5] for row in workers).split()
    assert sorted(held) == sorted([f"{CLEAN}[{p}]" for p in range(PARTITIONS)] + [f"{COUNT}[{p}]" for p in range(PARTITIONS)])
    assert len(live["LEASES"]) == 2 * PARTITIONS
    assert all(row[4].startswith("expires in") and row[2] in {w[0] for w in workers} for row in live["LEASES"])

    # Stopped: every lease free; records produced now are the lag, partition by partition.
    second = lines(1_000, start=4_000)
    produce(nats_url, tmp_path, second, "second")
    after = sections(sscc("status", "--broker", nats_url).stdout)
    assert after["WORKERS"] == []
    assert len(after["LEASES"]) == 2 * PARTITIONS and all(row[4] == "free" for row in after["LEASES"])
    clean = {int(row[2]): row for row in after["LAG"] if row[0] == CLEAN and row[1] == "lines"}
    assert sorted(clean) == list(range(PARTITIONS))
    number = lambda text: int(text.replace(",", ""))  # noqa: E731
    for p, row in clean.items():
        assert number(row[3]) == ends[p], f"position of lines[{p}]: what the run consumed"
        assert number(row[5]) == number(row[4]) - ends[p]
    assert sum(number(row[5]) for row in clean.values()) == len(second)  # produced minus consumed
    counted = [row for row in after["LAG"] if row[0] == COUNT and row[1] == "words"]
    assert len(counted) == PARTITIONS and all(number(row[5]) == 0 for row in counted)
    assert sum(number(row[3]) for row in counted) == words


def test_metrics_on_nats_answer_the_runs_counters(nats_url, tmp_path):
    require_toolchain()
    for module in ("starlette", "uvicorn", "prometheus_client", "httpx"):
        pytest.importorskip(module)
    sys.path.insert(0, os.path.join(ROOT, "tests", "ui"))
    from ui_helpers import value

    prepare(nats_url, tmp_path, [])
    chunk = lines(3_000)
    samples = metrics_of_a_run(nats_url, tmp_path, chunk)
    words = kept(chunk)
    assert value(samples, "sscc_service_records_in_total", service=CLEAN) == len(chunk)
    assert value(samples, "sscc_service_records_out_total", service=CLEAN) == words
    assert value(samples, "sscc_service_records_dead_total", service=CLEAN) == sum(1 for line in chunk if line.startswith("!"))
    # the lag gauges come from the broker (positions in the commit documents, ends of the streams)
    assert {value(samples, "sscc_lag_records", service=CLEAN, topic="lines", partition=str(p)) for p in range(PARTITIONS)} == {0}



def test_commits_of_two_tasks_of_one_service_from_two_processes_merge_and_stay_fenced(nats_url):
    """The commit document of a service is shared by its tasks (natscoord.py): a worker's backend
    whose compare-and-set lost to another task's commit applies its own keys onto the newer
    document; one whose keys moved under it is refused (PositionConflict), one whose task was
    taken over is fenced."""
    from sscc_runtime.backend import Fenced, Position, PositionConflict

    svc = "merge-test"
    backends = [brokers.open_broker(nats_url) for _ in range(4)]
    one, two, stale, other = backends
    try:
        for b in backends:
            b.share_documents()
        epoch0, epoch1 = one.acquire(svc, 0, "w1", 30), two.acquire(svc, 1, "w2", 30)
        one.hold(svc, 0, epoch0)
        two.hold(svc, 1, epoch1)
        assert stale.position(svc, "t", 0) is None  # `stale` caches the document as it is now
        one.commit(positions=[Position(svc, "t", 0, None, 5)])
        two.commit(positions=[Position(svc, "t", 1, None, 7)])  # its cached document is older: merged
        one.commit(positions=[Position(svc, "t", 0, 5, 9)])
        assert (other.position(svc, "t", 0), other.position(svc, "t", 1)) == (9, 7)
        # a second runner of partition 0 that still believes it is at None: refused, not merged
        with pytest.raises(PositionConflict) as refused:
            stale.commit(positions=[Position(svc, "t", 0, None, 3)])
        assert not isinstance(refused.value, Fenced)
        assert other.position(svc, "t", 0) == 9
        # task 0 taken over (a newer epoch): the old holder's next commit is fenced, task 1 goes on
        assert other.acquire(svc, 0, "w1", 30) == epoch0 + 1
        with pytest.raises(Fenced):
            one.commit(positions=[Position(svc, "t", 0, 9, 12)])
        two.commit(positions=[Position(svc, "t", 1, 7, 8)])
        assert (other.position(svc, "t", 0), other.position(svc, "t", 1)) == (9, 8)
    finally:
        for b in backends:
            b.close()
