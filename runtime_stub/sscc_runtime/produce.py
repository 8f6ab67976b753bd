"""`topic produce`: lines in, records appended to a topic in batches.

Input from a pipe or a terminal arrives a line at a time, maybe seconds apart, so records are
not held back until a batch fills: what was read is appended after FLUSH_S of quiet, and at
once when a batch is full. Ctrl-C appends every complete line read so far; any failure first
appends the lines before it, then says how many records made it (ProduceError.count).
The topic is created by the first append (or by the caller after an empty input), so a produce
that fails before writing anything leaves no topic.
"""

from __future__ import annotations

import os
import select
import stat
import time
import zlib
from typing import BinaryIO, Callable, Iterator, NamedTuple

from . import frames
from .service import DEFAULT_BATCH_RECORDS

# Records per appended batch (one transaction each): the run loop's default batch, so a run reads
# each stored batch whole (no frames walked to cut one).
BATCH = DEFAULT_BATCH_RECORDS
_HEADER = frames.HEADER.pack
FLUSH_S = 0.2  # a pipe's records are appended after this long without a new line
_CHUNK = 1 << 16


class ProduceError(Exception):
    """A line that cannot be produced; `count` records before it were."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count


class Interrupted(Exception):
    """Ctrl-C: `count` records (every complete line read) were appended."""

    def __init__(self, count: int, partial: bool):
        super().__init__("interrupted")
        self.count, self.partial = count, partial


class Framing(NamedTuple):
    """How a line becomes a record."""

    partitions: int
    key_separator: bytes | None = None
    timestamp_separator: bytes | None = None
    partition: int | None = None  # every record to this partition


class Producer:
    """Frames records per partition as they come (header, key, value: frames.py's format, built in
    place, about twice as fast as tuples through `frames.build`) and appends a partition's batch
    through `append(partition, data, count)` when it is full or on `flush`."""

    def __init__(self, framing: Framing, append: Callable[[int, bytes, int], None]):
        self.framing, self._append = framing, append
        self._parts: list[list[bytes]] = [[] for _ in range(framing.partitions)]
        self._counts = [0] * framing.partitions
        self._unkeyed = 0
        self.written = 0  # records appended

    def add(self, line: bytes) -> None:
        f = self.framing
        timestamp = int(time.time() * 1000)
        if f.timestamp_separator is not None:
            stamp, found, rest = line.partition(f.timestamp_separator)
            if not found:
                raise ValueError(f"no timestamp separator {f.timestamp_separator.decode(errors='replace')!r}")
            try:
                timestamp = int(stamp)
            except ValueError:
                raise ValueError(f"{stamp[:40]!r} is not a timestamp in ms") from None
            line = rest
        if f.key_separator is not None and f.key_separator in line:
            key, value = line.split(f.key_separator, 1)
        else:
            key, value = None, line
        if f.partition is not None:
            partition = f.partition
        elif key is not None:
            partition = zlib.crc32(key) % f.partitions  # stable across runs and machines
        else:
            partition, self._unkeyed = self._unkeyed % f.partitions, self._unkeyed + 1
        parts = self._parts[partition]
        if key is None:
            parts += (_HEADER(20 + len(value), timestamp, frames.NO_ORIGIN, frames.NO_KEY), value)
        else:
            parts += (_HEADER(20 + len(key) + len(value), timestamp, frames.NO_ORIGIN, len(key)), key, value)
        self._counts[partition] += 1
        if self._counts[partition] >= BATCH:
            self._write(partition)

    def flush(self) -> None:
        for partition, count in enumerate(self._counts):
            if count:
                self._write(partition)

    def _write(self, partition: int) -> None:
        count = self._counts[partition]
        self._append(partition, b"".join(self._parts[partition]), count)
        self.written += count
        self._parts[partition], self._counts[partition] = [], 0


def produce(source: BinaryIO, producer: Producer) -> int:
    """Every line of `source` through `producer`; the number of records appended."""
    line_no = 0
    lines = _lines(source, producer)
    try:
        for line_no, line in enumerate(lines, 1):
            producer.add(line)
    except ValueError as exc:
        producer.flush()
        raise ProduceError(f"line {line_no}: {exc}", producer.written) from None
    except KeyboardInterrupt:
        producer.flush()
        raise Interrupted(producer.written, lines.partial) from None
    except BaseException:
        _flush_quietly(producer)
        raise
    producer.flush()
    return producer.written


def _flush_quietly(producer: Producer) -> None:
    try:
        producer.flush()
    except Exception:  # noqa: BLE001 - the first failure is the one to report
        pass


class _lines:
    """Lines without their end, flushing the producer when a pipe goes quiet. A regular file
    is read as fast as it goes (no timer needed); `partial` tells whether an unfinished line
    was pending when reading stopped."""

    def __init__(self, source: BinaryIO, producer: Producer):
        self._source, self._producer = source, producer
        self.partial = False
        self._it = self._generate()

    def __iter__(self) -> Iterator[bytes]:
        return self._it

    def __next__(self) -> bytes:
        return next(self._it)

    def _generate(self) -> Iterator[bytes]:
        fd = _fileno(self._source)
        if fd is None or stat.S_ISREG(os.fstat(fd).st_mode):
            for line in self._source:
                yield line.rstrip(b"\r\n")
            return
        rest = b""
        while True:
            ready, _, _ = select.select([fd], [], [], FLUSH_S)
            if not ready:
                self._producer.flush()  # quiet: what was read becomes visible now
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            *complete, rest = (rest + chunk).split(b"\n")
            self.partial = bool(rest)
            for line in complete:
                yield line.rstrip(b"\r")
        if rest:
            self.partial = False
            yield rest.rstrip(b"\r")


def _fileno(source: BinaryIO) -> int | None:
    try:
        return source.fileno()
    except (AttributeError, OSError, ValueError):
        return None
