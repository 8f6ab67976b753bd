import sqlite3

import pytest

import runtime_fixtures  # noqa: F401

from sscc_runtime import frames
from sscc_runtime.backend import (
    Output,
    Position,
    PositionConflict,
    StateChange,
    starting_offset,
)
from sscc_runtime.store import PAGE_SIZE, Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.db") as s:
        yield s


def values(batch):
    return [r.value for r in frames.iter_records(batch.data)]


def append_values(store, topic, partition, vals):
    return store.append(topic, partition, *frames.build([(None, v) for v in vals]))


def test_topics_are_created_once_with_their_partitions(store):
    assert store.ensure_topic("t", 3) == 3
    assert store.ensure_topic("t", 5) == 3
    assert store.topics() == {"t": 3}
    with pytest.raises(KeyError):
        store.partitions("missing")


def test_append_assigns_contiguous_offsets_per_partition(store):
    store.ensure_topic("t", 2)
    assert append_values(store, "t", 0, [b"a", b"b"]) == 0
    assert append_values(store, "t", 0, [b"c"]) == 2
    assert append_values(store, "t", 1, [b"x"]) == 0
    assert store.bounds("t", 0) == (0, 3)
    assert store.bounds("t", 1) == (0, 1)
    with pytest.raises(ValueError):
        append_values(store, "t", 2, [b"nope"])


def test_read_slices_the_first_and_last_batch(store):
    store.ensure_topic("t")
    for chunk in ([b"0", b"1", b"2"], [b"3", b"4"], [b"5", b"6", b"7", b"8"]):
        append_values(store, "t", 0, chunk)
    batch = store.read("t", 0, 1, 5)
    assert (batch.base_offset, batch.count, values(batch)) == (
        1,
        5,
        [b"1", b"2", b"3", b"4", b"5"],
    )
    assert values(store.read("t", 0, 4, 100)) == [b"4", b"5", b"6", b"7", b"8"]
    assert values(store.read("t", 0, 0, 3)) == [b"0", b"1", b"2"]
    assert store.read("t", 0, 9, 10).count == 0
    assert store.read("t", 0, 8, 10).count == 1


def test_read_returns_whole_stored_batches_without_copying_records(store):
    store.ensure_topic("t")
    data, count = frames.build([(None, b"%d" % i) for i in range(100)])
    store.append("t", 0, data, count)
    assert store.read("t", 0, 0, 1000).data == data


def test_commit_is_all_or_nothing(store):
    store.ensure_topic("in")
    store.ensure_topic("out")
    store.commit(positions=[Position("svc", "in", 0, None, 0)])
    good = Output("out", 0, *frames.build([(None, b"kept?")]))
    with pytest.raises(ValueError):
        store.commit(
            [good, Output("out", 7, *frames.build([(None, b"bad partition")]))],
            [Position("svc", "in", 0, 0, 10)],
            [StateChange("svc", "s", b"k", b"v")],
        )
    assert store.bounds("out", 0) == (0, 0)
    assert store.position("svc", "in", 0) == 0
    assert store.state_get("svc", "s", b"k") is None


def test_commit_writes_outputs_positions_and_state_together(store, tmp_path):
    store.ensure_topic("out")
    bases = store.commit(
        [
            Output("out", 0, *frames.build([(None, b"a"), (None, b"b")])),
            Output("out", 0, *frames.build([(None, b"c")])),
        ],
        [Position("svc", "in", 0, None, 3)],
        [StateChange("svc", "count", b"k", b"\x00\x03")],
    )
    assert bases == [0, 2]
    with Store(
        tmp_path / "store.db"
    ) as again:  # durable and visible to another connection
        assert values(again.read("out", 0, 0, 10)) == [b"a", b"b", b"c"]
        assert again.position("svc", "in", 0) == 3
        assert again.state_get("svc", "count", b"k") == b"\x00\x03"
    store.commit(state_changes=[StateChange("svc", "count", b"k", None)])
    assert store.state_get("svc", "count", b"k") is None


def test_positions_are_fenced_against_a_second_runner(store):
    store.commit(positions=[Position("svc", "in", 0, None, 5)])
    with pytest.raises(PositionConflict):
        store.commit(positions=[Position("svc", "in", 0, 3, 8)])
    with pytest.raises(PositionConflict):
        store.commit(positions=[Position("svc", "in", 0, None, 8)])
    store.commit(positions=[Position("svc", "in", 0, 5, 8)])
    assert store.position("svc", "in", 0) == 8
    assert store.position("other", "in", 0) is None


def test_store_is_sqlite_in_wal_mode(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    assert {
        r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    } >= {
        "topics",
        "batches",
        "positions",
        "state",
    }


def test_an_unknown_schema_version_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "future.db")
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(RuntimeError, match="schema 99"):
        Store(tmp_path / "future.db")


@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, 10),
        ({"position": "End"}, 10),
        ({"position": "End", "value": 3}, 7),
        ({"position": "Beginning"}, 2),
        ({"position": "Beginning", "value": 3}, 5),
        ({"position": "Offset", "value": 6}, 6),
        ({"position": "Offset", "value": 60}, 10),
        ({"position": "Beginning", "value": 30}, 10),
        ({"position": "End", "value": 30}, 2),
    ],
)
def test_starting_offset_counts_from_first_or_last(spec, expected):
    assert starting_offset(spec, first=2, end=10) == expected


def test_starting_offset_rejects_unknown_positions():
    with pytest.raises(ValueError):
        starting_offset({"position": "Middle"}, 0, 0)


def test_opening_an_existing_store_does_not_wait_for_a_writer(tmp_path):
    with Store(tmp_path / "s.db") as writer:
        writer.ensure_topic("t")
        append_values(writer, "t", 0, [b"a"])
        writer._db.execute("BEGIN IMMEDIATE")  # a runner mid-commit
        with Store(tmp_path / "s.db", busy_timeout_ms=50) as reader:
            assert values(reader.read("t", 0, 0, 10)) == [b"a"]
        writer._db.execute("ROLLBACK")


# The record log beside the database (store.py): batch bytes live there, rows point at them.


def test_batch_bytes_are_written_once_to_the_log_not_into_sqlite(store):
    store.ensure_topic("t")
    data, count = frames.build([(None, b"x" * 100) for _ in range(50)])
    store.append("t", 0, data, count)
    assert store.log_path.read_bytes() == data
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT data, pos, len FROM batches").fetchall() == [(b"", 0, len(data))]


def test_reads_join_and_slice_batches_scattered_through_the_log(store):
    store.ensure_topic("a")
    store.ensure_topic("b")
    want = []
    for i in range(6):  # a's batches alternate with b's in the log, two of a's are adjacent
        vals = [b"a%d-%d" % (i, j) for j in range(i + 1)]
        append_values(store, "a", 0, vals)
        want += vals
        if i != 2:
            append_values(store, "b", 0, [b"b%d" % i])
    for offset in range(len(want)):
        for n in (1, 2, 5, 9, 100):
            batch = store.read("a", 0, offset, n)
            assert (batch.base_offset, batch.count) == (offset, len(want[offset : offset + n]))
            assert values(batch) == want[offset : offset + n]
    assert values(store.read("b", 0, 0, 10)) == [b"b0", b"b1", b"b3", b"b4", b"b5"]


def test_bytes_past_the_committed_end_of_the_log_are_overwritten(store):
    """A process killed between its log write and its COMMIT leaves bytes past the committed end;
    no row points at them, and the next commit writes over them."""
    store.ensure_topic("t")
    append_values(store, "t", 0, [b"kept"])
    with open(store.log_path, "ab") as log:
        log.write(b"\xff" * 1000)  # what the killed commit wrote
    append_values(store, "t", 0, [b"next"])
    assert values(store.read("t", 0, 0, 10)) == [b"kept", b"next"]
    with Store(store.path) as again:
        assert values(again.read("t", 0, 0, 10)) == [b"kept", b"next"]


def test_a_rolled_back_commit_leaves_the_log_end_where_it_was(store):
    store.ensure_topic("in")
    store.ensure_topic("out")
    store.commit(positions=[Position("svc", "in", 0, None, 0)])
    with pytest.raises(PositionConflict):
        store.commit([Output("out", 0, *frames.build([(None, b"lost")]))], [Position("svc", "in", 0, 5, 6)])
    store.commit([Output("out", 0, *frames.build([(None, b"won")]))], [Position("svc", "in", 0, 0, 1)])
    assert values(store.read("out", 0, 0, 10)) == [b"won"]
    assert store.log_path.stat().st_size == len(frames.encode(None, b"won"))


def test_a_version_1_store_is_upgraded_in_place_and_its_rows_stay_readable(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
        CREATE TABLE batches (topic TEXT NOT NULL, partition INTEGER NOT NULL,
            base_offset INTEGER NOT NULL, count INTEGER NOT NULL, data BLOB NOT NULL,
            PRIMARY KEY (topic, partition, base_offset));
        CREATE TABLE positions (service TEXT NOT NULL, topic TEXT NOT NULL,
            partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
            PRIMARY KEY (service, topic, partition)) WITHOUT ROWID;
        CREATE TABLE state (service TEXT NOT NULL, state TEXT NOT NULL, key BLOB NOT NULL,
            value BLOB NOT NULL, PRIMARY KEY (service, state, key)) WITHOUT ROWID;
        INSERT INTO topics VALUES ('t', 1);
        INSERT INTO positions VALUES ('svc', 't', 0, 2);
        PRAGMA user_version = 1;
        """
    )
    db.execute("INSERT INTO batches VALUES ('t', 0, 0, 3, ?)", (frames.build([(None, b"old%d" % i) for i in range(3)])[0],))
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.position("svc", "t", 0) == 2
        assert append_values(store, "t", 0, [b"new0", b"new1"]) == 3
        assert values(store.read("t", 0, 1, 3)) == [b"old1", b"old2", b"new0"]
        assert values(store.read("t", 0, 0, 10)) == [b"old0", b"old1", b"old2", b"new0", b"new1"]
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 3  # 1 -> 2 (record log) -> 3 (leases)


def test_a_full_synchronous_store_commits_through_the_log(tmp_path):
    with Store(tmp_path / "full.db", synchronous="FULL") as store:
        store.ensure_topic("t")
        append_values(store, "t", 0, [b"a", b"b"])
    with Store(tmp_path / "full.db") as store:
        assert values(store.read("t", 0, 0, 10)) == [b"a", b"b"]


def test_a_missing_log_is_reported_not_read_as_empty(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("t")
        append_values(store, "t", 0, [b"a"])
    (tmp_path / "s.db-log").unlink()
    with Store(tmp_path / "s.db") as store, pytest.raises(RuntimeError, match="log"):
        store.read("t", 0, 0, 10)


# commit_soon: the run loop's commit on a second connection and thread, one at a time, in order.


def test_a_commit_made_soon_is_there_once_settled_and_in_order_with_later_commits(store, tmp_path):
    store.ensure_topic("out")
    store.commit(positions=[Position("svc", "in", 0, None, 0)])
    store.commit_soon([Output("out", 0, *frames.build([(None, b"a"), (None, b"b")]))], [Position("svc", "in", 0, 0, 2)])
    # the next commit waits for it: offsets stay contiguous, the fence sees the moved position
    assert store.append("out", 0, *frames.build([(None, b"c")])) == 2
    store.commit_soon([Output("out", 0, *frames.build([(None, b"d")]))], [Position("svc", "in", 0, 2, 3)])
    assert store.settle() is True
    assert store.settle() is False
    assert values(store.read("out", 0, 0, 10)) == [b"a", b"b", b"c", b"d"]
    assert store.position("svc", "in", 0) == 3


def test_a_failed_commit_made_soon_raises_when_settled_and_leaves_nothing(store):
    store.ensure_topic("out")
    store.commit(positions=[Position("svc", "in", 0, None, 5)])
    store.commit_soon([Output("out", 0, *frames.build([(None, b"lost")]))], [Position("svc", "in", 0, 3, 8)])
    with pytest.raises(PositionConflict):
        store.settle()
    assert store.read("out", 0, 0, 10).count == 0
    store.commit([Output("out", 0, *frames.build([(None, b"won")]))], [Position("svc", "in", 0, 5, 8)])
    assert values(store.read("out", 0, 0, 10)) == [b"won"]


def test_closing_a_store_finishes_the_commit_in_flight(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("out")
        store.commit_soon([Output("out", 0, *frames.build([(None, b"kept")]))])
    with Store(tmp_path / "s.db") as again:
        assert values(again.read("out", 0, 0, 10)) == [b"kept"]
