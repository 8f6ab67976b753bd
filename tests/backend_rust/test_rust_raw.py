"""Raw converters (strings, numbers as decimal text), keys passed through, a merge and a split."""

import pytest

from rust_backend_helpers import PIPELINES, Service, needs_toolchain


@pytest.fixture(scope="module")
def measure():
    needs_toolchain()
    return Service(PIPELINES / "raw.yaml")


def test_merge_then_split_with_raw_values(measure):
    a = [(b"ka", b"hello"), (None, b""), (b"kx", b"xyz")]
    b = [(b"kb", b"  spaced  "), (None, b"   ")]
    (lengths, shouts), errors = measure.run(a, b)
    assert errors == []
    # Sink 0 gets every non-empty word's length as decimal text (docs/runtime.md, "Raw numbers");
    # keys pass through unchanged.
    assert [(k, int(v)) for k, v in lengths] == [(b"ka", 5), (b"kx", 3), (b"kb", 6)]
    assert shouts == [(b"ka", b"HELLO"), (b"kb", b"SPACED")]


def test_invalid_utf8_is_a_decode_error(measure):
    (lengths, _), errors = measure.run([(None, b"\xff\xfe"), (None, b"ok")])
    assert [v for _, v in lengths] == [b"2"]
    assert [(e.kind, e.index) for _, e in errors] == [("decode", 0)]
