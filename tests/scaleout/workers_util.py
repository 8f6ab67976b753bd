"""Shared by tests/scaleout/test_workers*.py: the kill pipeline, its input, reading a store back.

`kill-pipeline.yaml`: `clean` (stateless, one task per partition of `lines`, 8 here) writes each
kept line lower-cased to `words` (partition p to partition p) and dead-letters lines starting with
`!`; `count` (stateful: one task until keyed state is sharded) counts words in a keyed value
state. `snapshot` reads what a run left: `words` per partition in stored order, the dead letters
of `clean` per source partition in offset order, and the final state, straight from the store.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "runtime_stub"), os.path.join(ROOT, "tests", "runtime")]

import runtime_build  # noqa: E402
import pytest  # noqa: E402
from sscc_runtime import frames, statelog  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

PIPELINE = Path(__file__).resolve().parent / "kill-pipeline.yaml"
PARTITIONS = 8
CLEAN, COUNT = "tests.scaleout-kill.clean", "tests.scaleout-kill.count"  # namespace.pipeline.service
SERVICES = (CLEAN, COUNT)


def require_toolchain() -> None:
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)


def lines(n: int, seed: int = 7, start: int = 0) -> list[str]:
    """Words from a 3,000-word vocabulary; every 997th line is rejected (`!`), every 1013th blank."""
    rng = random.Random(seed * 1_000_003 + start)
    out = []
    for i in range(start, start + n):
        out.append(f"!bad{i}" if i % 997 == 0 else "" if i % 1013 == 0 else f"W{rng.randrange(3000)}")
    return out


def sscc(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["sscc", *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"sscc {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def where(store: Path | str) -> list[str]:
    """`--store DIR`, or `--broker URL` for a broker's URL (`nats://...`, `kafka://...`)."""
    return ["--broker", store] if isinstance(store, str) and "://" in store else ["--store", str(store)]


def produce(store: Path | str, tmp: Path, chunk: list[str], name: str = "chunk") -> None:
    """`chunk` into `lines` of a store directory or a broker (its URL)."""
    path = tmp / f"{name}.txt"
    path.write_text("".join(line + "\n" for line in chunk))
    sscc("topic", "produce", "lines", *where(store), "--file", str(path), "--partitions", str(PARTITIONS), "--quiet")


def kept(chunk: list[str]) -> int:
    """How many of `lines`' lines `clean` keeps (neither blank nor rejected with `!`)."""
    return sum(1 for line in chunk if line.strip() and not line.startswith("!"))


def metrics_of_a_run(broker: str, tmp: Path, chunk: list[str]) -> dict:
    """`sscc run PIPELINE --broker BROKER --metrics 127.0.0.1:0`: once /metrics answers, `chunk`
    is produced; /metrics is read until `count` read every kept word, then the run is stopped
    with SIGTERM and must exit 0 without a traceback. The last samples (tests/ui/ui_helpers.py's
    `metrics` form). Needs starlette, uvicorn, prometheus_client and httpx (the caller skips)."""
    import httpx

    sys.path.insert(0, os.path.join(ROOT, "tests", "ui"))
    from ui_helpers import metrics, poll, value

    log = tmp / "run.log"
    with open(log, "w") as err:
        run = subprocess.Popen(["sscc", "run", str(PIPELINE), "--broker", broker, "--metrics", "127.0.0.1:0"],
                               stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        try:
            url = wait_for(lambda: re.search(r"^metrics: (http://\S+)$", log.read_text(), re.M), 120, "the metrics URL", poll=0.1)
            url = url.group(1).removesuffix("/").removesuffix("/metrics")
            produce(broker, tmp, chunk, "chunk")
            samples = poll(
                lambda: metrics(httpx.get(url + "/metrics", timeout=30).text),
                lambda s: value(s, "sscc_service_records_in_total", service=COUNT) == kept(chunk),
                "every word counted in /metrics",
            )
        finally:
            run.send_signal(signal.SIGTERM)
            run.wait(60)
    text = log.read_text()
    assert run.returncode == 0 and "Traceback" not in text, text
    return samples


def new_store(store: Path, tmp: Path, chunks: list[list[str]]) -> Path:
    """A store whose `lines` holds the chunks (each produced on its own) and an empty `words`,
    both with 8 partitions."""
    sscc("topic", "create", "words", "--store", str(store), "--partitions", str(PARTITIONS))
    for i, chunk in enumerate(chunks):
        produce(store, tmp, chunk, f"chunk{i}")
    return store


def copy_store(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def snapshot(store: Path) -> dict:
    with Store(store / "store.db") as db:
        words = {
            p: [(r.value, r.origin) for r in frames.iter_records(db.read("words", p, 0, 10**9).data)]
            for p in range(PARTITIONS)
        }
        letters = [json.loads(r.value) for r in frames.iter_records(db.read(f"{CLEAN}.dead-letters", 0, 0, 10**9).data)]
        state = statelog.replay(statelog.read_all(db, f"{COUNT}.count-per-word.changelog"))
        count_dead = db.bounds(f"{COUNT}.dead-letters", 0) if f"{COUNT}.dead-letters" in db.topics() else (0, 0)
    dead = {
        p: sorted((d["offset"], d["kind"], d["reason"]) for d in letters if d["partition"] == p)
        for p in range(PARTITIONS)
    }
    return {"words": words, "dead": dead, "state": state, "count_dead": count_dead[1] - count_dead[0]}


def committed(db: Store) -> int:
    """Records consumed and committed by both services, summed over partitions."""
    total = 0
    for service, topic in ((CLEAN, "lines"), (COUNT, "words")):
        total += sum(db.position(service, topic, p) or 0 for p in range(PARTITIONS))
    return total


def lag(db: Store) -> int:
    """Records not consumed yet, `count`'s repartition topic included: a word is counted only once
    the keyed task read it there (a run stopped at lag 0 of `words` alone may miss a few)."""
    total = 0
    topics = db.topics()
    for service, topic in ((CLEAN, "lines"), (COUNT, "words"), (COUNT, f"{COUNT}.repartition")):
        for p in range(topics.get(topic, 0)):
            total += db.bounds(topic, p)[1] - (db.position(service, topic, p) or 0)
    return total


def children(pid: int) -> list[int]:
    """The child processes of `pid` (Linux /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def assert_same_outputs(got: dict, want: dict, note: str = "") -> None:
    """Two snapshots agree record for record: `words` and `clean`'s dead letters per partition,
    and `count`'s final state. `note` goes into every message (a seed, say)."""
    for p in range(PARTITIONS):
        assert got["words"][p] == want["words"][p], f"words partition {p}{note}"
        assert got["dead"][p] == want["dead"][p], f"dead letters of lines partition {p}{note}"
    assert got["state"] == want["state"], f"state{note}"


def dropped_tasks(log: str, worker: str) -> list[str]:
    """The lines where `worker` (host:pid) said it dropped a task; asserts there is at least one
    and each says that its batch was not committed and why (a refused commit, a lease taken)."""
    dropped = [line for line in log.splitlines() if line.startswith(f"worker {worker}: dropped task")]
    assert dropped, log[-4000:]
    for line in dropped:
        assert "was not committed" in line and ("a commit was refused" in line or "another worker took it over" in line), line
    return dropped


def wait_for(condition, timeout: float, what: str, poll: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def expected_state(all_lines: list[str]) -> dict:
    counts: dict[str, int] = {}
    for line in all_lines:
        if line.strip() and not line.startswith("!"):
            word = line.strip().lower()
            counts[word] = counts.get(word, 0) + 1
    return counts
