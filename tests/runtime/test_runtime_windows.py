"""The window engine (runtime_stub/sscc_runtime/windows.py) against the rules of docs/semantics.md:
properties with hypothesis, then the worked examples of that document."""

import ast
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import runtime_fixtures  # noqa: F401  (puts runtime_stub/ on sys.path)

from sscc_runtime import windows
from sscc_runtime.windows import GLOBAL_WINDOW, I64_MAX, I64_MIN, WindowEngine, sliding, tumbling

S = 1000  # ms per second, for readable examples

# timestamps far enough from the i64 limits that no bound is clamped
stamps = st.integers(-(2**62), 2**62)
durations = st.integers(1, 10**7)
offsets = st.integers(0, 10**8)


@st.composite
def sliding_specs(draw):
    duration = draw(st.integers(1, 5000))
    slide = draw(st.integers(1, duration))
    assume(duration // slide <= 200)  # keep the brute force below small
    return duration, slide, draw(st.integers(0, 10**6))


# -- assignment -------------------------------------------------------------------------------


@given(stamps, durations, offsets)
def test_tumbling_every_timestamp_is_in_exactly_one_aligned_window(ts, duration, offset):
    (start, end), *rest = tumbling(duration, offset).windows(ts)
    assert rest == []
    assert start <= ts < end and end - start == duration
    assert (start - offset) % duration == 0  # the grid is the epoch shifted by the offset


@given(stamps, durations, offsets)
def test_tumbling_neighbours_share_no_timestamp(ts, duration, offset):
    a = tumbling(duration, offset)
    ((start, end),) = a.windows(ts)
    assert a.windows(end) == [(end, end + duration)]
    assert a.windows(start - 1) == [(start - duration, start)]


@given(st.integers(-(10**9), 10**9), sliding_specs())
def test_sliding_membership_is_every_aligned_window_containing_the_timestamp(ts, spec):
    duration, slide, offset = spec
    got = sliding(duration, slide, offset).windows(ts)
    # brute force: every start on the grid offset + k*slide near ts
    k0 = (ts - offset) // slide
    expected = [
        (offset + k * slide, offset + k * slide + duration)
        for k in range(k0 - duration // slide - 2, k0 + 2)
        if offset + k * slide <= ts < offset + k * slide + duration
    ]
    assert got == expected
    assert len(got) in (duration // slide, math.ceil(duration / slide))
    if duration % slide == 0:
        assert len(got) == duration // slide


@given(stamps, durations, offsets)
def test_sliding_with_slide_equal_to_duration_is_tumbling(ts, duration, offset):
    assert sliding(duration, duration, offset).windows(ts) == tumbling(duration, offset).windows(ts)


@given(stamps, durations, st.integers(0, 10**6), st.integers(1, 50))
def test_only_the_offset_remainder_matters(ts, duration, offset, turns):
    assert tumbling(duration, offset).windows(ts) == tumbling(duration, offset + turns * duration).windows(ts)


def test_bounds_at_the_i64_limits_are_clamped():
    assert tumbling(10 * S).windows(I64_MAX) == [(I64_MAX - I64_MAX % (10 * S), I64_MAX)]
    ((start, end),) = tumbling(10 * S).windows(I64_MIN)
    assert start == I64_MIN and end - (I64_MIN - I64_MIN % (10 * S)) == 10 * S
    assert GLOBAL_WINDOW == (-(2**63), 2**63 - 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(duration_ms=0),
        dict(duration_ms=10, slide_ms=11),
        dict(duration_ms=10, slide_ms=0),
        dict(duration_ms=10, offset_ms=-1),
    ],
)
def test_invalid_windows_are_refused(kwargs):
    kind = "sliding" if "slide_ms" in kwargs else "tumbling"
    with pytest.raises(ValueError):
        windows.assigner_for(kind, **kwargs)


def test_assigner_for_reads_ir_window_fields():
    assert windows.assigner_for("tumbling", 20 * S) == tumbling(20 * S)
    assert windows.assigner_for("sliding", 60 * S, 10 * S, 5 * S) == sliding(60 * S, 10 * S, 5 * S)
    with pytest.raises(ValueError):
        windows.assigner_for("session", 10)
    with pytest.raises(ValueError):
        windows.assigner_for("sliding", 10)


# -- watermark and lateness ----------------------------------------------------------------

spec_and_stream = st.tuples(
    st.sampled_from([(20, 20), (60, 10), (30, 7), (5, 5), (10, 3)]),
    st.integers(0, 40),  # offset
    st.integers(0, 30),  # grace
    st.lists(st.integers(0, 400), max_size=60),
)


def _engine(spec):
    (duration, slide), offset, grace, _ = spec
    return WindowEngine(sliding(duration, slide, offset), grace=grace)


@given(spec_and_stream)
def test_late_classification_matches_the_definition(spec):
    (duration, slide), offset, grace, stream = spec
    engine = _engine(spec)
    wm = None  # the watermark before each record: the largest event time seen so far
    late = 0
    for ts in stream:
        got = engine.classify(ts)
        containing = [
            (s, s + duration)
            for s in range(ts - duration - slide, ts + 1)
            if (s - offset) % slide == 0 and s <= ts < s + duration
        ]
        on_time = [w for w in containing if wm is None or wm < w[1] + grace]
        assert list(got.windows) == on_time
        assert got.late == (not on_time)
        late += not on_time
        wm = ts if wm is None else max(wm, ts)
    assert engine.watermark.value == (max(stream) if stream else None)
    assert engine.late_count == late


@given(spec_and_stream)
def test_every_window_closes_once_in_order_and_only_past_end_plus_grace(spec):
    engine = _engine(spec)
    grace = spec[2]
    seen, flushed = set(), []
    for ts in spec[3]:
        seen.update(engine.classify(ts).windows)
        ready = engine.closable()
        for w in ready:
            assert w[1] + grace <= engine.watermark.value
        assert ready == sorted(ready, key=lambda w: (w[1], w[0]))
        engine.close(ready)
        flushed += ready
    drained = engine.drain()
    assert engine.open == set(drained)  # drain reports; the caller closes after flushing
    flushed += drained
    assert len(flushed) == len(set(flushed))
    assert set(flushed) == seen  # every window that got a record flushes exactly once
    engine.close(drained)
    assert engine.open == set()


@given(spec_and_stream)
def test_a_closed_window_never_gets_another_record(spec):
    engine = _engine(spec)
    closed = set()
    for ts in spec[3]:
        assert not closed.intersection(engine.classify(ts).windows)
        ready = engine.closable()
        engine.close(ready)
        closed.update(ready)


@given(spec_and_stream, st.integers(1, 10))
def test_absorbing_a_batch_summary_equals_classifying_each_record(spec, batch):
    one, other = _engine(spec), _engine(spec)
    stream = spec[3]
    for i in range(0, len(stream), batch):
        chunk = stream[i : i + batch]
        # what a guest classifier reports for the chunk, computed with the reference rules
        probe = WindowEngine.restore(other.snapshot())
        results = probe.classify_batch(chunk)
        touched = {w for r in results for w in r.windows}
        other.absorb(max(chunk), touched, sum(r.late for r in results), now=0)
        one.classify_batch(chunk)
        assert one.snapshot() == other.snapshot()


def test_watermark_only_moves_forward():
    engine = WindowEngine(tumbling(10 * S))
    engine.classify(25 * S)
    engine.classify(3 * S)
    assert engine.watermark.value == 25 * S


# -- idleness ----------------------------------------------------------------------------------


def test_idleness_advances_with_wall_time_after_a_quiet_spell():
    engine = WindowEngine(tumbling(10 * S), idleness=5 * S)
    engine.classify(12 * S, now=1_000_000)  # window [10s, 20s)
    assert engine.closable(now=1_000_000 + 4 * S) == []  # quiet for 4 s < idleness: W stays 12 s
    assert engine.watermark.value == 12 * S
    assert engine.closable(now=1_000_000 + 6 * S) == []  # idle: W = 12 s + 6 s = 18 s < 20 s
    assert engine.watermark.value == 18 * S
    assert engine.closable(now=1_000_000 + 8 * S) == [(10 * S, 20 * S)]  # W = 20 s
    # a record restarts the quiet spell from where the watermark stands
    engine.classify(14 * S, now=1_000_000 + 9 * S)  # late now: [10 s, 20 s) has closed
    assert engine.late_count == 1
    assert engine.watermark.anchor_wall == 1_000_000 + 9 * S


def test_without_idleness_wall_time_never_moves_the_watermark():
    engine = WindowEngine(tumbling(10 * S))
    engine.classify(12 * S, now=0)
    assert engine.closable(now=10**12) == [] and engine.watermark.value == 12 * S


def test_resume_does_not_count_downtime_as_idle_time():
    engine = WindowEngine(tumbling(10 * S), idleness=5 * S)
    engine.classify(12 * S, now=0)
    restored = WindowEngine.restore(engine.snapshot())
    restored.watermark.resume(now=3_600 * S)  # restarted an hour later
    assert restored.closable(now=3_601 * S) == []
    assert restored.watermark.value == 12 * S


# -- durability --------------------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(0, 300), st.integers(0, 50)),
        st.tuples(st.just("tick"), st.integers(0, 50)),
        st.tuples(st.just("close"), st.integers(0, 50)),
        st.tuples(st.just("resume"), st.integers(0, 50)),
    ),
    max_size=40,
)


def _apply(engine, ops, clock):
    trace = []
    for op in ops:
        clock += op[-1]
        if op[0] == "record":
            trace.append(engine.classify(op[1], now=clock))
        elif op[0] == "tick":
            trace.append(engine.watermark.idle(clock))
        elif op[0] == "resume":
            engine.watermark.resume(clock)
        else:
            ready = engine.closable(now=clock)
            engine.close(ready)
            trace.append(ready)
    trace.append(engine.drain())
    return trace, engine.snapshot()


@settings(max_examples=200)
@given(spec_and_stream, st.sampled_from([None, 0, 7, 40]), operations, operations)
def test_snapshot_and_restore_give_identical_future_behaviour(spec, idleness, before, after):
    (duration, slide), offset, grace, _ = spec
    engine = WindowEngine(sliding(duration, slide, offset), grace=grace, idleness=idleness)
    _apply(engine, before, 0)
    data = engine.snapshot()
    restored = WindowEngine.restore(data)
    assert restored.snapshot() == data
    assert restored.same_spec(engine)
    assert _apply(restored, after, 10_000) == _apply(engine, after, 10_000)


def test_restore_refuses_garbage_and_other_versions():
    with pytest.raises(ValueError, match="unreadable window state"):
        WindowEngine.restore(b"not json")
    data = WindowEngine(tumbling(10)).snapshot().replace(b'"version":1', b'"version":99')
    with pytest.raises(ValueError, match="version 99"):
        WindowEngine.restore(data)


def test_a_changed_window_definition_is_detected():
    a = WindowEngine(tumbling(10 * S), grace=S)
    assert not a.same_spec(WindowEngine(tumbling(20 * S), grace=S))
    assert not a.same_spec(WindowEngine(tumbling(10 * S), grace=2 * S))
    assert a.same_spec(WindowEngine.restore(a.snapshot()))


def test_the_engine_reads_no_clock():
    # determinism: wall time only ever comes from the caller's `now`
    tree = ast.parse(open(windows.__file__).read())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"time", "datetime", "random", "os"}


# -- worked examples of docs/semantics.md ------------------------------------------------------


def test_example_tumbling_20s_word_counter():
    # semantics.md "When a window closes": 20 s tumbling, no grace, records at 1 s, 19.999 s,
    # 20 s, 5 s, 41 s
    engine = WindowEngine(tumbling(20 * S))
    assert engine.classify(1 * S).windows == ((0, 20 * S),)
    assert engine.classify(19_999).windows == ((0, 20 * S),)
    assert engine.closable() == []
    assert engine.classify(20 * S).windows == ((20 * S, 40 * S),)
    assert engine.closable() == [(0, 20 * S)]  # W = 20 s = end + 0
    engine.close([(0, 20 * S)])
    assert engine.classify(5 * S).late  # its only window has closed
    assert engine.classify(41 * S).windows == ((40 * S, 60 * S),)
    assert engine.closable() == [(20 * S, 40 * S)]
    assert engine.late_count == 1


def test_example_grace_period_admits_a_late_record():
    # 10 s tumbling with grace 3 s: at W = 12 s the window [0, 10 s) is still open
    engine = WindowEngine(tumbling(10 * S), grace=3 * S)
    engine.classify(4 * S)
    engine.classify(12 * S)
    assert engine.closable() == []
    assert engine.classify(9 * S).windows == ((0, 10 * S),)  # 2 s late, within grace
    engine.classify(13 * S)  # W = 13 s = 10 s + 3 s closes [0, 10 s)
    assert engine.closable() == [(0, 10 * S)]
    assert engine.classify(9_500).late


def test_example_sliding_60s_every_10s():
    a = sliding(60 * S, 10 * S)
    assert a.windows(65 * S) == [(s * S, (s + 60) * S) for s in (10, 20, 30, 40, 50, 60)]
    # partly late: at W = 75 s (no grace) the windows ending at 70 s have closed
    engine = WindowEngine(a)
    engine.classify(75 * S)
    got = engine.classify(65 * S).windows
    assert got == tuple((s * S, (s + 60) * S) for s in (20, 30, 40, 50, 60))


def test_example_offset_shifts_the_grid():
    # a daily window starting at 02:00 UTC instead of midnight
    day, hour = 86_400 * S, 3_600 * S
    a = tumbling(day, offset_ms=2 * hour)
    assert a.windows(1 * hour) == [(-22 * hour, 2 * hour)]
    assert a.windows(2 * hour) == [(2 * hour, 26 * hour)]


def test_example_drain_at_end_of_input():
    engine = WindowEngine(tumbling(20 * S), grace=5 * S)
    for ts in (1 * S, 22 * S, 23 * S):
        engine.classify(ts)
    assert engine.closable() == []  # W = 23 s < 20 s + 5 s
    assert engine.drain() == [(0, 20 * S), (20 * S, 40 * S)]
    assert engine.watermark.value == 45 * S
    assert engine.classify(39 * S).late
    assert engine.classify(45 * S).windows == ((40 * S, 60 * S),)


def test_idle_time_after_a_drain_still_counts_from_the_last_record():
    engine = WindowEngine(tumbling(10 * S), idleness=5 * S)
    engine.classify(12 * S, now=0)
    assert engine.drain() == [(10 * S, 20 * S)]
    assert engine.watermark.value == 20 * S
    assert not engine.watermark.idle(6 * S)  # 12 s + 6 s of quiet is behind the drained 20 s
    assert engine.watermark.idle(9 * S) and engine.watermark.value == 21 * S
