"""The project command line's pieces that have no subprocess test elsewhere: the progress line
on a terminal and in a pipe, batch mode's starting offsets, and the note about skipped records.
(tests/test_cli_run.py runs the commands themselves end to end.)"""

import io
import re
import sqlite3
import time

from runtime_fixtures import fixture_wasm  # noqa: F401

from sscc_runtime import app, frames, produce, service
from sscc_runtime.loop import Counters, Loop
from sscc_runtime.progress import Progress
from sscc_runtime.store import Store


def _counters(records_in, records_out, dead=0, lag=0):
    c = Counters(records_in=records_in, records_out=records_out, dead_lettered=dead)
    c.lag = lag
    return c


def test_progress_rewrites_one_line_on_a_terminal():
    out = io.StringIO()
    progress = Progress(out, "demo", tty=True)
    progress.update({"a": _counters(10, 20, 1, 5), "b": _counters(20, 20)})
    progress.update({"a": _counters(1_000, 2_000, 1), "b": _counters(20, 20)})
    progress.finish({"a": _counters(1_000, 2_000, 1), "b": _counters(20, 20)}, None)
    text = out.getvalue()
    assert text.count("\n") == 1, "only the summary ends a line"
    first, second, summary = text.split("\r")[1:4]
    assert "in 30  out 40  dead 1" in first and "lag 5" in first, "sums over services"
    assert "in 1,020  out 2,020" in second and second.endswith("\x1b[K")
    assert summary.startswith("\x1b[K") and "demo: done after" in text and text.endswith("lag 0\n")


def test_progress_on_a_terminal_with_rich_shows_a_row_per_service_then_the_plain_summary():
    out = io.StringIO()
    progress = Progress(out, "demo", tty=True, rich=True)
    progress.update({"a": _counters(10, 20, 1, 5), "b": _counters(20, 20)})
    progress.clear()  # an operator's line: the table goes away first
    out.write("operator line\n")
    progress.update({"a": _counters(1_000, 2_000, 1), "b": _counters(20, 20)})
    progress.finish({"a": _counters(1_000, 2_000, 1), "b": _counters(20, 20)}, None)
    text = out.getvalue()
    assert "\x1b[" in text, "drawn with terminal control sequences"
    assert "in 30  out 40  dead 1" in text and "1,020" in text
    assert any(line.lstrip().startswith("a ") and "1,000" in line for line in text.splitlines()), "a row per service"
    assert "operator line\n" in text
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # the table erased, then the summary
    assert text.endswith("lag 0\n") and plain.splitlines()[-1].startswith("demo: done after")


def test_progress_prints_plain_lines_into_a_pipe():
    out = io.StringIO()
    progress = Progress(out, "demo", tty=False)
    progress.update({"a": _counters(3, 4)})
    progress.finish({"a": _counters(3, 4)}, "SIGTERM")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert lines[0].startswith("demo 0:00:00  in 3  out 4  dead 0")
    assert lines[1].startswith("demo: stopped by SIGTERM after")


def test_an_idle_run_adds_no_progress_lines_to_a_log():
    out = io.StringIO()
    progress = Progress(out, "demo", tty=False)
    for _ in range(5):  # five refreshes without a new record: one line
        progress.update({"a": _counters(3, 4)})
    progress.update({"a": _counters(5, 6)})
    progress.update({"a": _counters(5, 6, lag=2)})  # lag is a count too
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "in 3" in lines[0] and "in 5" in lines[1] and "lag 2" in lines[2]


def _service(wasm, starting_offset):
    desc = {
        "name": "pass",
        "sources": [{"topic": "in", "stages": [], **({"starting_offset": starting_offset} if starting_offset else {})}],
        "stages": [{"module": str(wasm), "export": "sscc_stage_1"}],
        "sinks": [{"topic": "out"}],
    }
    return service.parse_service(desc, wasm.parent)


def test_batch_mode_starts_End_sources_at_the_beginning(fixture_wasm):  # noqa: F811
    for spec, expected in [
        (None, {"position": "Beginning", "value": 0}),
        ({"position": "End", "value": 2}, {"position": "Beginning", "value": 0}),
        ({"position": "Offset", "value": 3}, {"position": "Offset", "value": 3}),
        ({"position": "Beginning", "value": 1}, {"position": "Beginning", "value": 1}),
    ]:
        (source,) = app.batch_mode(_service(fixture_wasm, spec)).sources
        assert source.starting_offset == expected


def test_fresh_starts_count_what_End_skips(fixture_wasm, tmp_path):  # noqa: F811
    with Store(tmp_path / "s.db") as store:
        store.ensure_topic("in", 1)
        store.append("in", 0, *frames.build([(None, b"x", 1)] * 4))
        services = [_service(fixture_wasm, None)]
        loop = Loop(store, services, until_idle=True)
        (start,) = loop.fresh_starts()
        assert (start.topic, start.partition, start.offset, start.skipped) == ("in", 0, 4, 4)
        assert app.skipped_notes([start], services) == [
            "note: service pass starts reading in at End: 4 existing records skipped;"
            " to process them, stop the run, `sscc reset pass --to-beginning --yes`, run again"
        ]
        assert loop.fresh_starts() == [], "resolved once, then committed"
        assert store.position("pass", "in", 0) == 4


def test_produce_frames_plain_lines_in_run_sized_batches(tmp_path):
    """`topic produce` of plain lines from a file (framed in place, produce.py): every line once,
    line ends stripped, no key, the produce time as timestamp, produce.BATCH records per stored
    batch (the run's batch size)."""
    lines = [b"line %d" % i for i in range(produce.BATCH + 5)] + [b"", b"last"]
    text = tmp_path / "in.txt"
    text.write_bytes(b"\r\n".join(lines[:10]) + b"\r\n" + b"\n".join(lines[10:]) + b"\n")
    store_dir = tmp_path / "store"
    before = int(time.time() * 1000)
    assert app.main(["topic", "produce", "t", "--store", str(store_dir), "--file", str(text), "--quiet"]) == 0
    after = int(time.time() * 1000)
    with Store(store_dir / app.STORE_FILE) as store:
        first = store.read("t", 0, 0, 10**9)
        records = list(frames.iter_records(first.data))
        assert [r.value for r in records] == lines
        assert {r.key for r in records} == {None} and {r.origin for r in records} == {frames.NO_ORIGIN}
        assert all(before <= r.timestamp <= after for r in records)
    db = sqlite3.connect(store_dir / app.STORE_FILE)
    assert db.execute("SELECT count FROM batches ORDER BY base_offset").fetchall() == [(produce.BATCH,), (7,)]
