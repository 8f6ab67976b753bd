"""tasks.layout on hand-written service descriptions (no modules are loaded to cut a service into
tasks) and the `repartition` key of the description."""

from __future__ import annotations

import pytest
from kill_harness import compile_project  # noqa: F401  (puts runtime_stub/ on sys.path)
from sscc_runtime import service, tasks
from sscc_runtime.service import DescriptionError
from sscc_runtime.store import Store

STAGE = {"module": "m.wasm", "export": "sscc_stage_0"}


def describe(**extra) -> dict:
    svc = {"name": "s", "sources": [{"topic": "a", "partitions": 3}, {"topic": "b"}], "stages": [STAGE]}
    svc.update(extra)
    return {"format": 1, "services": [svc]}


KEYED = {
    "states": [{"name": "n"}],
    "repartition": {"sources": [[], []], "stages": [STAGE], "keyed": [{"module": "m.wasm", "export": "sscc_stage_1"}]},
}
WINDOW = {"window": {"kind": "tumbling", "duration_ms": 1000, "stage": "sscc_stage_0", "flush": [STAGE]}}


def layout(store: Store, **extra) -> tasks.Layout:
    (svc,) = service.load(describe(**extra))
    return tasks.layout(svc, store)


def test_a_stateless_service_has_a_task_per_partition_of_its_widest_source(tmp_path):
    with Store(tmp_path / "s.db") as db:
        assert layout(db) == tasks.Layout(tasks.PARTITIONED, 3)
        db.ensure_topic("c", 5)
        (svc,) = service.load(describe(sources=[{"topic": "c"}, {"topic": "a"}]))
        assert tasks.tasks_of(svc, db) == [tasks.TaskId("s", p) for p in range(5)]


def test_keyed_state_is_sharded_by_the_widest_source_and_the_shard_count_stays(tmp_path):
    with Store(tmp_path / "s.db") as db:
        assert layout(db, **KEYED) == tasks.Layout(tasks.KEYED, 3, 3)
        assert db.partitions("s.n.changelog") == 3 and db.partitions("s.repartition") == 3
    with Store(tmp_path / "grown.db") as db:
        db.ensure_topic("s.n.changelog", 2)  # written when the sources had 2 partitions
        assert layout(db, **KEYED) == tasks.Layout(tasks.KEYED, 3, 2)  # task 2 only routes


def test_windowed_sql_and_one_shard_services_are_one_task(tmp_path):
    with Store(tmp_path / "s.db") as db:
        assert layout(db, **KEYED, **WINDOW) == tasks.Layout(tasks.SINGLE, 1)
        assert layout(db, **{**KEYED, "name": "q", "sql": True}) == tasks.Layout(tasks.SINGLE, 1)
        assert layout(db, **WINDOW, name="w") == tasks.Layout(tasks.SINGLE, 1)
    with Store(tmp_path / "old.db") as db:
        db.ensure_topic("s.n.changelog", 1)
        assert layout(db, **KEYED) == tasks.Layout(tasks.SINGLE, 1)


def test_changelogs_of_different_partition_counts_are_refused(tmp_path):
    two = {**KEYED, "states": [{"name": "n"}, {"name": "m"}]}
    with Store(tmp_path / "s.db") as db:
        db.ensure_topic("s.n.changelog", 3)
        db.ensure_topic("s.m.changelog", 1)
        with pytest.raises(tasks.LayoutError, match="different partition counts"):
            layout(db, **two)
    with Store(tmp_path / "w.db") as db:
        db.ensure_topic("s.n.changelog", 3)
        with pytest.raises(tasks.LayoutError, match="cannot shard"):
            layout(db, **KEYED, **WINDOW)


@pytest.mark.parametrize(
    "repartition, message",
    [
        ({"sources": [[]], "keyed": [STAGE]}, "expected 2 lists of stages"),
        ({"sources": [[], []]}, "needs its keyed stages"),
        ({"sources": [[], []], "keyed": [STAGE], "extra": 1}, "unknown keys"),
    ],
)
def test_the_description_checks_the_repartition(repartition, message):
    with pytest.raises(DescriptionError, match=message):
        service.load(describe(**{**KEYED, "repartition": repartition}))
