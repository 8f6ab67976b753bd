import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime_fixtures import fixture_wasm  # noqa: F401

from sscc_runtime import frames, service
from sscc_runtime.loop import Loop
from sscc_runtime.store import Store

RUNTIME = str(Path(service.__file__).resolve().parents[1])


def order(i, item="widget", qty=2, price=1.5):
    return json.dumps({"id": i, "item": item, "qty": qty, "price": price}).encode()


def describe(wasm, **overrides):
    svc = {
        "name": "pricing",
        "sources": [
            {
                "topic": "orders",
                "partitions": 2,
                "starting_offset": {"position": "Beginning"},
            }
        ],
        "stages": [
            {
                "name": "decode-order -> keep-positive -> price -> encode-total",
                "module": str(wasm),
                "export": "sscc_stage_0",
            }
        ],
        "sinks": [{"topic": "totals", "partitions": 2}],
        "limits": {"timeout_ms": 300, "memory_mb": 32},
        "batch_records": 7,
    }
    svc.update(overrides)
    return {"format": 1, "services": [svc]}


def produce(store, topic, partition, values, partitions=2, chunk=5):
    store.ensure_topic(topic, partitions)
    for i in range(0, len(values), chunk):
        store.append(
            topic,
            partition,
            *frames.build([(None, v, 1) for v in values[i : i + chunk]]),
        )


def consume(store, topic, partition=0):
    batch = store.read(topic, partition, 0, 10**9)
    return list(frames.iter_records(batch.data))


def run(store, description, **kw):
    return Loop(store, service.load(description), until_idle=True, **kw).run()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db") as s:
        yield s


def test_end_to_end_with_dead_letters(store, fixture_wasm):
    p0 = [order(i) for i in range(20)]
    p0[3] = b"{broken"
    p0[11] = order(11, item="boom")
    p1 = [order(100 + i, qty=i % 2) for i in range(10)]
    p1[4] = order(104, qty=5000)
    produce(store, "orders", 0, p0)
    produce(store, "orders", 1, p1)

    counters = run(store, describe(fixture_wasm))["pricing"]

    assert [json.loads(r.value)["id"] for r in consume(store, "totals", 0)] == [
        i for i in range(20) if i not in (3, 11)
    ]
    assert [r.origin for r in consume(store, "totals", 0)] == [
        i for i in range(20) if i not in (3, 11)
    ]
    assert [json.loads(r.value)["id"] for r in consume(store, "totals", 1)] == [
        101,
        103,
        105,
        107,
        109,
    ]
    dead = sorted(
        (json.loads(r.value) for r in consume(store, "pricing.dead-letters")),
        key=lambda d: d["offset"],
    )
    assert [
        (d["topic"], d["partition"], d["offset"], d["kind"], d["operator"])
        for d in dead
    ] == [
        ("orders", 0, 3, "decode", "decode-order"),
        ("orders", 1, 4, "operator", "price"),
        ("orders", 0, 11, "trap", "price"),
    ]
    assert dead[0]["value"] == "{broken" and dead[0]["service"] == "pricing"
    assert (
        "boom on order 11" in dead[2]["reason"]
        and dead[1]["reason"] == "qty 5000 too large"
    )
    assert dead[0]["stage"] == "decode-order -> keep-positive -> price -> encode-total"
    assert (counters.records_in, counters.records_out, counters.dead_lettered) == (
        30,
        23,
        3,
    )
    assert (
        store.position("pricing", "orders", 0) == 20
        and store.position("pricing", "orders", 1) == 10
    )


def test_a_restart_continues_where_the_last_commit_left_off(store, fixture_wasm):
    produce(store, "orders", 0, [order(i) for i in range(10)])
    run(store, describe(fixture_wasm))
    produce(store, "orders", 0, [order(i) for i in range(10, 15)])
    counters = run(store, describe(fixture_wasm))["pricing"]
    assert counters.records_in == 5
    assert [json.loads(r.value)["id"] for r in consume(store, "totals", 0)] == list(
        range(15)
    )


def test_starting_at_end_skips_history_and_is_remembered(store, fixture_wasm):
    produce(store, "orders", 0, [order(i) for i in range(10)])
    desc = describe(fixture_wasm)
    desc["services"][0]["sources"][0]["starting_offset"] = {
        "position": "End",
        "value": 2,
    }
    run(store, desc)
    assert [json.loads(r.value)["id"] for r in consume(store, "totals", 0)] == [8, 9]
    produce(store, "orders", 0, [order(i) for i in range(10, 12)])
    run(store, desc)  # End is resolved once, not again against the grown topic
    assert [json.loads(r.value)["id"] for r in consume(store, "totals", 0)] == [
        8,
        9,
        10,
        11,
    ]


def test_split_sinks_with_their_own_stages(store, fixture_wasm):
    produce(
        store, "orders", 0, [order(0), order(1, item="spin"), order(2)], partitions=1
    )
    desc = describe(
        fixture_wasm,
        sources=[{"topic": "orders", "starting_offset": {"position": "Beginning"}}],
        sinks=[
            {"topic": "all"},
            {
                "topic": "checked",
                "stages": [{"module": str(fixture_wasm), "export": "sscc_stage_1"}],
            },
        ],
    )
    run(store, desc)
    assert len(consume(store, "all")) == 3
    assert [json.loads(r.value)["id"] for r in consume(store, "checked")] == [0, 2]
    (dead,) = [json.loads(r.value) for r in consume(store, "pricing.dead-letters")]
    assert (dead["offset"], dead["stage"], dead["reason"]) == (
        1,
        "sscc_stage_1",
        "timeout: the record ran over 300 ms (the time limit per record)",
    )


def test_chained_services_and_a_stage_free_copy_run_in_one_loop(store, fixture_wasm):
    produce(store, "orders", 0, [order(i) for i in range(12)], partitions=1)
    desc = describe(
        fixture_wasm,
        sources=[{"topic": "orders", "starting_offset": {"position": "Beginning"}}],
        sinks=[{"topic": "totals"}],
    )
    desc["services"].append(
        {
            "name": "copy",
            "sources": [
                {"topic": "totals", "starting_offset": {"position": "Beginning"}}
            ],
            "sinks": [{"topic": "archive"}],
        }
    )
    counters = run(store, desc)
    assert [r.value for r in consume(store, "archive")] == [
        r.value for r in consume(store, "totals")
    ]
    assert counters["copy"].records_in == 12


def test_progress_reports_counters_and_lag(store, fixture_wasm):
    produce(store, "orders", 0, [order(i) for i in range(10)])
    lines = []
    run(store, describe(fixture_wasm), on_progress=lines.append, every=0)
    assert lines[-1].startswith("pricing: in 10  out 10  dead 0")
    assert lines[-1].endswith("lag 0")
    assert any("lag" in line and not line.endswith("lag 0") for line in lines)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"sources": []}, "at least one source"),
        ({"stages": [{"module": "m.wasm"}]}, r"stages\[0\].export"),
        ({"limits": {"timeout_ms": -1}}, "integer >= 0"),
        ({"batch_records": 0}, "integer >= 1"),
        ({"sinks": [{"topic": "t", "colour": "red"}]}, "unknown keys"),
        (
            {"sources": [{"topic": "t", "starting_offset": {"position": "Soon"}}]},
            "Beginning",
        ),
    ],
)
def test_bad_descriptions_name_the_offending_path(change, message):
    desc = describe("m.wasm", **change)
    with pytest.raises(service.DescriptionError, match=message):
        service.load(desc)


def test_description_paths_are_relative_to_the_file(tmp_path):
    desc = describe("wasm/m.wasm")
    assert (
        service.load(desc, tmp_path)[0].stages[0].module == tmp_path / "wasm" / "m.wasm"
    )
    with pytest.raises(service.DescriptionError, match="format"):
        service.load({"format": 2, "services": []})


def cli(*args, stdin=b""):
    return subprocess.run(
        [sys.executable, "-m", "sscc_runtime", *args],
        input=stdin,
        capture_output=True,
        env={"PYTHONPATH": RUNTIME},
    )


def test_cli_produce_run_consume(tmp_path, fixture_wasm):
    db = str(tmp_path / "cli.db")
    lines = b"".join(order(i, qty=i % 2) + b"\n" for i in range(6)) + b"oops\n"
    assert cli("produce", "orders", "--store", db, stdin=lines).returncode == 0
    desc = tmp_path / "services.json"
    desc.write_text(
        json.dumps(
            describe(
                fixture_wasm,
                sources=[
                    {"topic": "orders", "starting_offset": {"position": "Beginning"}}
                ],
                sinks=[{"topic": "totals"}],
            )
        )
    )
    result = cli("run", str(desc), "--store", db, "--until-idle")
    assert result.returncode == 0, result.stderr
    assert b"pricing: in 7  out 3  dead 1" in result.stderr
    out = cli("consume", "totals", "--store", db)
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == [1, 3, 5]
    keyed = cli(
        "produce", "k", "--store", db, "--key-separator", "=", stdin=b"a=1\nb=2\n"
    )
    assert keyed.returncode == 0
    assert cli("consume", "k", "--store", db, "--keys").stdout == b"a\t1\nb\t2\n"


def test_cli_errors_are_one_line_not_tracebacks(tmp_path):
    desc = tmp_path / "bad.json"
    desc.write_text(json.dumps({"format": 1, "services": [{"name": "x"}]}))
    result = cli("run", str(desc), "--store", str(tmp_path / "s.db"))
    assert result.returncode == 1
    assert (
        result.stderr.decode().startswith("error: ")
        and b"Traceback" not in result.stderr
    )
    assert cli("consume", "missing", "--store", str(tmp_path / "s.db")).returncode == 1
    assert cli("frobnicate").returncode == 2


def test_a_chain_of_services_over_many_batches_commits_every_record_once_in_order(store, fixture_wasm):
    """Plain batches commit on the store's committer thread while the next batch runs: a
    downstream service sees a batch only once it is committed, and the run still ends with every
    record through both services exactly once, in order."""
    produce(store, "orders", 0, [order(i) for i in range(100)], partitions=1, chunk=9)
    desc = describe(
        fixture_wasm,
        sources=[{"topic": "orders", "starting_offset": {"position": "Beginning"}}],
        sinks=[{"topic": "totals"}],
        batch_records=4,
    )
    # downstream first: it reads before the upstream's last commit of a round has settled
    desc["services"].insert(
        0,
        {
            "name": "copy",
            "sources": [{"topic": "totals", "starting_offset": {"position": "Beginning"}}],
            "sinks": [{"topic": "archive"}],
            "batch_records": 3,
        },
    )
    store.ensure_topic("totals", 1)
    counters = run(store, desc)
    totals = [json.loads(r.value)["id"] for r in consume(store, "totals")]
    assert totals == list(range(100))
    assert [r.value for r in consume(store, "archive")] == [r.value for r in consume(store, "totals")]
    assert (counters["pricing"].batches, counters["copy"].batches) == (25, 34)
    assert store.position("pricing", "orders", 0) == 100 and store.position("copy", "totals", 0) == 100
