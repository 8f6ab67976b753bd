"""A store deleted or damaged under a run (issue 13 item 9): a clear one-line error naming the file
and, for a corrupt batch, its topic, partition and offset; exit 1; never `done` and exit 0, never a
traceback. The project's real command line, the fixture guest, a real store on disk."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

from app_runner import HANG_GUARD, app, description, fixture_wasm, produce, start, wait_for  # noqa: F401
from app_runner import position, run, values


def _follow(tmp_path: Path, wasm: Path):
    """A follow-mode run that has processed what was stored (and goes on polling)."""
    store = tmp_path / "store"
    produce(store, [b"a", b"b"])
    proc = start(description(tmp_path, wasm), store)
    wait_for(lambda: position(store) == 2, "the run to commit its first batch", proc)
    return store, proc


def _finish(proc) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=HANG_GUARD)
    finally:
        proc.kill()
    return proc.returncode, err


def test_deleting_the_store_under_a_run_stops_it_with_an_error(fixture_wasm, tmp_path):  # noqa: F811
    store, proc = _follow(tmp_path, fixture_wasm)
    shutil.rmtree(store)
    code, err = _finish(proc)  # before: the run went on polling a deleted store (and said `done`)
    assert code == 1, err
    assert f"error: {store / 'store.db'} was deleted while the run was using it" in err
    assert "done after" not in err and "Traceback" not in err


def test_truncating_the_database_under_a_run_stops_it_with_an_error(fixture_wasm, tmp_path):  # noqa: F811
    store, proc = _follow(tmp_path, fixture_wasm)
    os.truncate(store / "store.db", 0)
    code, err = _finish(proc)
    assert code == 1, err
    assert str(store / "store.db") in err and "Traceback" not in err
    assert "truncated" in err or "damaged" in err


def _corrupt_frame(store: Path, index: int) -> None:
    """Overwrite the length field of record `index` of the only batch in the log."""
    log = store / "store.db-log"
    data = bytearray(log.read_bytes())
    pos = 0
    for _ in range(index):
        pos += 4 + struct.unpack_from("<I", data, pos)[0]
    struct.pack_into("<I", data, pos, 0xFFFFFF00)
    log.write_bytes(bytes(data))


def test_a_corrupt_batch_names_topic_partition_and_offset(fixture_wasm, tmp_path):  # noqa: F811
    store = tmp_path / "store"
    produce(store, [b"r0", b"r1", b"r2", b"r3", b"r4"])
    _corrupt_frame(store, 3)
    desc = description(tmp_path, fixture_wasm)
    done = run(desc, store, "--until-idle")
    assert done.returncode == 1, done.stderr
    assert f"error: {store / 'store.db-log'}: the stored records of in[0] at offset 3 are corrupt" in done.stderr
    assert "malformed frame" in done.stderr and "Traceback" not in done.stderr
    assert position(store) == 0 and values(store, "out") == [], "nothing of the batch was committed"

    consumed = app(store, "topic", "consume", "in", "--from-beginning", "--until-idle")
    assert consumed.returncode == 1 and "in[0] at offset 3 are corrupt" in consumed.stderr, consumed.stderr
    assert consumed.stdout == "r0\nr1\nr2\n", "the records before the corrupt one, then the error"

    # A reader past the corrupt part (sliced out of the stored batch) names it the same way.
    skipped = app(store, "reset", "pass", "--to-offset", "4", "--yes")
    assert skipped.returncode == 0, skipped.stderr
    again = run(desc, store, "--until-idle")
    assert again.returncode == 1 and "in[0] at offset 4" in again.stderr, again.stderr


def test_a_truncated_or_emptied_database_at_rest_is_named(fixture_wasm, tmp_path):  # noqa: F811
    store = tmp_path / "store"
    produce(store, [f"r{i}".encode() * 2000 for i in range(200)])
    desc = description(tmp_path, fixture_wasm)
    assert run(desc, store, "--until-idle", "--quiet").returncode == 0
    db = store / "store.db"
    size = db.stat().st_size
    os.truncate(db, size // 2)
    damaged = run(desc, store, "--until-idle")
    assert damaged.returncode == 1, damaged.stderr
    assert f"the store {db} is damaged (SQLite: " in damaged.stderr and "Traceback" not in damaged.stderr

    os.truncate(db, 0)
    emptied = run(desc, store, "--until-idle")
    assert emptied.returncode == 1
    assert f"{db} is empty but its record log store.db-log holds" in emptied.stderr, emptied.stderr
    assert (store / "store.db-log").stat().st_size > 0, "the log was not overwritten"
