"""The one binary frame format for a batch of records (docs/abi.md, "Frames").

A batch is the plain concatenation of record frames, so batches join with `b"".join` and the
store, the host and the guest never rewrite them. Record count and first offset travel beside
the bytes (store columns, call arguments), not inside them. Each frame, little-endian:

    u32 frame_len   bytes after this field (= 20 + key bytes + value bytes)
    i64 timestamp   event time, ms
    i64 origin      offset of the source record this one derives from, -1 if none
    u32 key_len     0xFFFFFFFF = no key
    key bytes, then value bytes (value length is what remains of the frame)

The guest walks frames with two reads per record and borrows key/value slices in place; the host
only walks frames off the hot path (slicing a stored batch, tests, dead letters).
"""

from __future__ import annotations

import struct
from typing import Iterable, Iterator, NamedTuple

HEADER = struct.Struct("<IqqI")
HEADER_SIZE = HEADER.size  # 24
NO_KEY = 0xFFFFFFFF
NO_ORIGIN = -1
_LEN = struct.Struct("<I")


class Record(NamedTuple):
    key: bytes | None
    value: bytes
    timestamp: int = 0
    origin: int = NO_ORIGIN


def encode(
    key: bytes | None, value: bytes, timestamp: int = 0, origin: int = NO_ORIGIN
) -> bytes:
    """One frame; for producers and tests, not the hot path."""
    if key is None:
        return HEADER.pack(20 + len(value), timestamp, origin, NO_KEY) + value
    return (
        HEADER.pack(20 + len(key) + len(value), timestamp, origin, len(key))
        + key
        + value
    )


def build(records: Iterable[tuple]) -> tuple[bytes, int]:
    """Frame (key, value[, timestamp[, origin]]) tuples into one batch; returns (data, count)."""
    parts = [encode(*r) for r in records]
    return b"".join(parts), len(parts)


def iter_records(
    data: bytes | memoryview, pos: int = 0, end: int | None = None
) -> Iterator[Record]:
    """Decode every frame of a batch (tests, consumers, dead letters)."""
    view = memoryview(data)
    end = len(view) if end is None else end
    unpack = HEADER.unpack_from
    while pos < end:
        if pos + HEADER_SIZE > end:
            raise ValueError(f"truncated frame at byte {pos}")
        frame_len, ts, origin, key_len = unpack(view, pos)
        stop = pos + 4 + frame_len
        body = pos + HEADER_SIZE
        if frame_len < 20 or stop > end:
            raise ValueError(f"malformed frame at byte {pos}")
        if key_len == NO_KEY:
            yield Record(None, bytes(view[body:stop]), ts, origin)
        else:
            if body + key_len > stop:
                raise ValueError(f"malformed frame at byte {pos}")
            yield Record(
                bytes(view[body : body + key_len]),
                bytes(view[body + key_len : stop]),
                ts,
                origin,
            )
        pos = stop


def skip(data: bytes | memoryview, n: int, pos: int = 0) -> int:
    """Byte position after `n` frames starting at `pos` (slicing stored batches)."""
    unpack, end = _LEN.unpack_from, len(data)
    for _ in range(n):
        if pos + HEADER_SIZE > end:
            raise ValueError("batch shorter than its record count")
        pos += 4 + unpack(data, pos)[0]
    if pos > end:
        raise ValueError("batch shorter than its record count")
    return pos


def positions(data: bytes | memoryview) -> list[int]:
    """Start byte of every frame; used to locate records named by index in guest errors."""
    out = []
    pos, end = 0, len(data)
    unpack = _LEN.unpack_from
    while pos < end:
        if pos + HEADER_SIZE > end:
            raise ValueError(f"truncated frame at byte {pos}")
        out.append(pos)
        pos += 4 + unpack(data, pos)[0]
    if pos != end:
        raise ValueError("last frame runs past the end of the batch")
    return out


def first_bad(data: bytes | memoryview, count: int) -> tuple[int, str] | None:
    """(index, what is wrong) of the first frame of a batch of `count` records that does not
    decode, or None when all do: locates a corrupt stored batch (off the hot path)."""
    index = -1
    try:
        for index, _ in enumerate(iter_records(data)):
            pass
    except ValueError as exc:
        return index + 1, str(exc)
    if index + 1 != count:
        return index + 1, f"the batch holds {index + 1} records, its row says {count}"
    return None


def record_at(data: bytes | memoryview, pos: int) -> Record:
    """The single frame starting at byte `pos`."""
    (frame_len,) = _LEN.unpack_from(data, pos)
    return next(iter_records(data, pos, pos + 4 + frame_len))


def count(data: bytes | memoryview) -> int:
    return len(positions(data))
