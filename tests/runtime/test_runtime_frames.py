import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runtime_fixtures  # noqa: F401

from sscc_runtime import frames

records = st.lists(
    st.tuples(
        st.none() | st.binary(max_size=40),
        st.binary(max_size=200),
        st.integers(-(2**63), 2**63 - 1),
        st.integers(-1, 2**63 - 1),
    ),
    max_size=30,
)


@given(records)
def test_round_trip(recs):
    data, count = frames.build(recs)
    assert count == len(recs)
    assert [tuple(r) for r in frames.iter_records(data)] == recs
    assert frames.count(data) == len(recs)


@given(records, st.data())
def test_skip_and_positions_agree(recs, draw):
    data, _ = frames.build(recs)
    starts = frames.positions(data)
    n = draw.draw(st.integers(0, len(recs)))
    assert frames.skip(data, n) == (starts + [len(data)])[n]
    for i, start in enumerate(starts):
        assert tuple(frames.record_at(data, start)) == recs[i]


def test_layout_is_the_documented_one():
    frame = frames.encode(b"k", b"value", 7, 42)
    assert frame == struct.pack("<IqqI", 20 + 1 + 5, 7, 42, 1) + b"k" + b"value"
    assert frames.encode(None, b"", 0)[20:24] == b"\xff\xff\xff\xff"
    assert frames.HEADER_SIZE == 24


def test_batches_join_by_concatenation():
    a, _ = frames.build([(None, b"a")])
    b, _ = frames.build([(b"k", b"b", 5)])
    assert [r.value for r in frames.iter_records(a + b)] == [b"a", b"b"]


@pytest.mark.parametrize(
    "data",
    [
        frames.encode(None, b"abc")[:-1],  # truncated value
        struct.pack("<IqqI", 20, 0, 0, 9),  # key longer than the frame
        struct.pack("<IqqI", 3, 0, 0, 0),  # frame shorter than its header
    ],
)
def test_malformed_frames_are_rejected(data):
    with pytest.raises(ValueError):
        list(frames.iter_records(data))


def test_skip_past_the_end_is_an_error():
    data, _ = frames.build([(None, b"x")])
    with pytest.raises(ValueError):
        frames.skip(data, 2)
