"""`run --workers N` gives the outputs and the final state of one process (issue 14 item 3).

On the kill pipeline (a stateless service over 8 partitions, 8 tasks, feeding a stateful one)
with 1, 2 and 3 workers against a plain `sscc run`, and on every example of examples/ through
the real command line against its expected files (tests/examples/example_cli.py).
"""

from __future__ import annotations

import os
import sys

import pytest

from conftest import ROOT
from workers_util import (
    CLEAN, COUNT, PIPELINE, PARTITIONS, assert_same_outputs, copy_store, expected_state, lines, new_store, require_toolchain, snapshot, sscc,
)  # fmt: skip

sys.path.insert(0, os.path.join(ROOT, "tests", "examples"))

import example_cli  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

RECORDS = 40_000


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    require_toolchain()
    tmp = tmp_path_factory.mktemp("equal")
    chunks = [lines(RECORDS // 2), lines(RECORDS // 2, start=RECORDS // 2)]
    store = new_store(tmp / "pristine", tmp, chunks)
    reference = copy_store(store, tmp / "reference")
    sscc("run", str(PIPELINE), "--store", str(reference), "--until-idle", "--batch-records", "1000")
    return store, snapshot(reference), [line for chunk in chunks for line in chunk]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_8_partitions_outputs_and_state_equal_one_process(pristine, tmp_path, workers):
    store, reference, all_lines = pristine
    assert reference["state"] == expected_state(all_lines)
    assert sum(len(v) for v in reference["dead"].values()) == sum(1 for line in all_lines if line.startswith("!"))
    store = copy_store(store, tmp_path / "store")
    proc = sscc("run", str(PIPELINE), "--store", str(store), "--until-idle", "--batch-records", "1000",
                "--workers", str(workers))  # fmt: skip
    assert "done after" in proc.stderr, proc.stderr
    got = snapshot(store)
    assert_same_outputs(got, reference)
    with Store(store / "store.db") as db:
        leases = db.leases()
        assert {(lease.service, lease.task) for lease in leases} == {(CLEAN, p) for p in range(PARTITIONS)} | {(COUNT, p) for p in range(PARTITIONS)}  # count: 8 shards
        assert all(lease.expires_at == 0 for lease in leases), "every lease released at the end"
        owners = {lease.worker for lease in leases}
        # the tasks were shared: every worker held some (9 tasks, at most ceil(9 / N) each)
        assert len(owners) == workers, owners
        assert db.workers() == [], "the supervisor removes the rows of workers that stopped"


# car-makers calls an HTTP service its own test starts; every other example with inputs runs here.
EXAMPLES = sorted(p.name for p in example_cli.EXAMPLES.iterdir() if (p / "input").is_dir() and p.name != "car-makers")
PHASED = {"word-join", "word-probe"}  # their own tests run inputs in phases (example modules' PHASES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_examples_with_workers_match_their_expected_files(name, tmp_path):
    require_toolchain()
    example = example_cli.Example(name)
    workers = "3" if name in ("order-totals", "word-counter", "merge") else "2"
    store = tmp_path / "store"
    if name in PHASED:
        module = __import__(f"test_example_{name.replace('-', '_')}")
        phases = module.PHASES
        inputs = example.inputs()
        for phase in phases:
            for topic in phase:
                extra = ["--key-separator", "="] if example.keyed(topic) else []
                sscc("topic", "produce", topic, "--store", str(store), "--file", str(inputs[topic]), *extra)
            sscc("run", str(example.file), "--store", str(store), "--until-idle", "--workers", workers)
        outputs = example_cli.collect_outputs(example, store, ["sscc", "topic"])
    else:
        outputs = example_cli.run_with_sscc(example, store, "--workers", workers)
    example_cli.assert_outputs(example, outputs)
    example_cli.assert_states(example, store)
