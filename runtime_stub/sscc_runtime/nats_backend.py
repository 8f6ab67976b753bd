"""NATS JetStream behind backend.TopicBackend (docs/backends.md, "NATS JetStream").

Layout on the server:
- partition p of topic T is subject `T.p`, stored in its own stream `sscc-<T escaped>__<p>`: a
  partition's offsets are then exactly its stream sequence minus one (contiguous from 0, as the
  loop expects), its bounds are one stream-info call, and in a cluster each partition elects its
  own leader (spread over the nodes, like Kafka partitions);
- one message per record: value = data, key = header `Sscc-Key` (`Sscc-Key-Base64` when the key
  is not header-safe text), event time in ms = header `Sscc-Timestamp` (a message without it gets
  the time the stream stored it), so a plain NATS client reads and writes a topic;
- KV bucket `sscc-topics`: topic -> partition count; `sscc-commits`: one JSON document per service
  (its consumer positions, its state rows, the batch in flight, the task epochs), moved by
  revision compare-and-set; `sscc-leases`: one lease per (service, task).

Exactly once: a commit (1) writes the batch it is about to publish into the service's document
(CAS: a second runner or a newer lease epoch makes it fail), (2) publishes every output record with
a `Nats-Msg-Id` derived from (service, input topic, partition, input offset, output topic,
partition, index), waiting for every acknowledgement, (3) moves the positions (CAS). A restart
re-reads exactly the batch in flight (same records, same ids), and the stream's duplicate window
drops what was already stored. Step (1) also records where the batch's state changes start in each
changelog partition: the restart loads state only up to there (`committed_end`), or it would count
the batch it is about to re-run twice.

The runtime's loop is synchronous; nats-py is asyncio. An event loop runs on a background thread
and every call is bridged to it; `commit_soon` leaves a commit running there while the guest
computes the next batch. nats-py manages streams, consumers and KV buckets; the hot path (pull
requests and deliveries, publishes and their acknowledgements) runs on a second, bare connection
(`_Link`) that writes a whole batch's protocol lines at once and parses deliveries in one loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import threading
import time
from typing import Sequence

import nats
from nats.js import api
from nats.js.errors import BadRequestError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError

from . import frames
from .natscoord import NatsCoordination
from .statelog import CHANGELOG_SUFFIX, changelog_owner
from .backend import Batch, Fenced, Lease, Output, Position, PositionConflict, StateChange

TOPICS_BUCKET = "sscc-topics"
COMMITS_BUCKET = "sscc-commits"
LEASES_BUCKET = "sscc-leases"
STREAM_PREFIX = "sscc-"
KEY_HEADER = "Sscc-Key"
KEY_B64_HEADER = "Sscc-Key-Base64"
TIME_HEADER = "Sscc-Timestamp"
DEFAULT_DUPLICATE_WINDOW_S = 120.0  # JetStream's own default; `?dedup=SECONDS` changes it
ACK_WAIT_S = 5.0  # no acknowledgement for this long: publish the missing records again
GIVE_UP_S = 120.0  # a server unreachable for this long fails the command
_HEADER = frames.HEADER
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def open_backend(servers: str, config: dict[str, str], app: str) -> "NatsBackend":
    """brokers.py's factory for `nats://HOST:PORT[,HOST:PORT...][?replicas=N&dedup=SECONDS]`
    (the options may also come as -X / --broker-config settings)."""
    from .brokers import BrokerError

    url = f"nats://{servers}"
    options = dict(config)
    unknown = set(options) - {"replicas", "dedup"}
    if unknown:
        raise BrokerError(f"broker {url}: unknown option {sorted(unknown)[0]!r} (replicas, dedup)")
    servers = [f"nats://{s.strip()}" for s in servers.split(",") if s.strip()]
    replicas = int(options.get("replicas") or (3 if len(servers) >= 3 else 1))
    dedup = float(options.get("dedup") or DEFAULT_DUPLICATE_WINDOW_S)
    return NatsBackend(servers, replicas=replicas, duplicate_window=dedup, where=str(url))


def escape(name: str) -> str:
    """Stream-name-safe, injective: letters, digits and `-` kept, every other byte `_HH`."""
    return "".join(chr(b) if b in _SAFE else f"_{b:02X}" for b in name.encode())


def unescape(text: str) -> str:
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "_":
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(ord(text[i]))
            i += 1
    return out.decode()


def stream_name(topic: str, partition: int) -> str:
    return f"{STREAM_PREFIX}{escape(topic)}__{partition}"


def check_subject(topic: str) -> None:
    """A topic name must be usable as the first tokens of a NATS subject."""
    if any(c in topic for c in " \t\r\n*>") or topic.startswith(".") or topic.endswith(".") or ".." in topic:
        raise ValueError(
            f"topic {topic!r} cannot be a NATS subject (no spaces, '*', '>' or empty '.'-separated parts)"
        )


def _header_safe(key: bytes) -> bool:
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return False
    return bool(text) and text == text.strip() and text.isprintable()


def record_headers(key: bytes | None, timestamp: int, msg_id: str | None = None, origin: int = -1) -> bytes:
    """The header block of one record's message. `Sscc-Origin` keeps the frame's origin field
    when it has one (the source offset of an output; a state change record's window end)."""
    lines = [b"NATS/1.0\r\n"]
    if origin != -1:
        lines.append(b"Sscc-Origin: %d\r\n" % origin)
    if msg_id is not None:
        lines.append(b"Nats-Msg-Id: %s\r\n" % msg_id.encode())
    if key is not None:
        if _header_safe(key):
            lines.append(b"Sscc-Key: %s\r\n" % key)
        else:
            lines.append(b"Sscc-Key-Base64: %s\r\n" % (base64.b64encode(key) or b"="))
    lines.append(b"Sscc-Timestamp: %d\r\n\r\n" % timestamp)
    return b"".join(lines)


def _ack_tokens(reply: str) -> list[str]:
    """`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>` (or the 12-token
    form with domain and account hash), normalised to the 9-token form."""
    tokens = reply.split(".")
    if len(tokens) >= 12:
        tokens = tokens[:2] + tokens[4:11]
    return tokens


def _sequence(reply: str) -> int:
    return int(_ack_tokens(reply)[5])


class NatsBackend(NatsCoordination):
    """backend.TopicBackend and LeaseBackend on JetStream (see the module docstring); the worker
    registry and what `status` reads are natscoord.py's."""

    def __init__(self, servers: list[str], replicas: int = 1, duplicate_window: float = DEFAULT_DUPLICATE_WINDOW_S, where: str = ""):
        self.where = where or ",".join(servers)
        self.replicas, self.duplicate_window = replicas, duplicate_window
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sscc-nats", daemon=True)
        self._thread.start()
        self._partitions: dict[str, int] = {}
        self._docs: dict[str, list] = {}  # service -> [document, KV revision]
        self._readers: dict[tuple[str, int], _Reader] = {}
        self._replay: dict[tuple[str, int, int], int] = {}  # (topic, partition, start) -> end of a batch in flight
        self._held: dict[tuple[str, int], int] = {}  # (service, task) -> epoch of a lease this process holds
        self._pending = None  # concurrent.futures.Future of commit_soon's commit
        self._positionless = 0
        try:
            self._call(self._connect(servers), timeout=GIVE_UP_S)
        except BaseException:
            self._stop_loop()
            raise

    # ------------------------------------------------------------------ bridging

    def _call(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _connect(self, servers: list[str]) -> None:
        async def quiet(_exc):  # reconnects are retried below; nats-py would print them
            pass

        self._servers = servers
        self._fast: _Link | None = None
        self._next_reply = 0
        try:
            # The bare link first: it fails fast where nats-py (told to reconnect forever, as a
            # run must survive a server restart) would keep trying a server that is not there.
            self._fast = await _Link.connect(self._loop, servers)
            self.nc = await asyncio.wait_for(
                nats.connect(
                    servers=servers,
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.25,
                    error_cb=quiet,
                    pending_size=64 * 1024 * 1024,
                ),
                30,
            )
        except Exception as exc:  # noqa: BLE001 - say which server, not nats-py's internals
            if self._fast is not None:
                self._fast.close()
            raise RuntimeError(f"cannot connect to the NATS server at {self.where}: {exc or type(exc).__name__}") from None
        self.js = self.nc.jetstream(timeout=5)
        self._acks: dict[int, "_Publish"] = {}
        self._ack_prefix = self.nc.new_inbox()
        self._fast.subscribe(self._ack_prefix + ".*", self._on_ack)
        self._fast.watchers.add(self._on_link_lost)
        self._kv_topics = await self._bucket(TOPICS_BUCKET)
        self._kv_commits = await self._bucket(COMMITS_BUCKET)
        self._kv_leases = await self._bucket(LEASES_BUCKET)

    async def _link(self) -> "_Link":
        """The fast connection, (re)connected to the first server that answers."""
        if self._fast is None or self._fast.lost is not None:
            servers = self._servers[self._next_reply % len(self._servers):] + self._servers[: self._next_reply % len(self._servers)]
            link = await _Link.connect(self._loop, servers)
            link.subscribe(self._ack_prefix + ".*", self._on_ack)
            link.watchers.add(self._on_link_lost)
            self._fast = link
        return self._fast

    def _on_link_lost(self, _exc) -> None:
        """Wake every publish waiting for acknowledgements: they re-send on a new connection."""
        for job in set(self._acks.values()):
            if not job.done.done():
                job.done.set_result(None)

    async def _bucket(self, name: str):
        try:
            return await self.js.key_value(name)
        except Exception:  # noqa: BLE001 - missing: create it (two creators get the same bucket)
            return await self.js.create_key_value(
                bucket=name, history=1, replicas=self.replicas, storage=api.StorageType.FILE
            )

    def close(self) -> None:
        try:
            self.settle()
        finally:
            try:
                self._call(self._close(), timeout=10)
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass
            self._stop_loop()

    async def _close(self) -> None:
        for reader in self._readers.values():
            await reader.close()
        if self._fast is not None:
            self._fast.close()
        try:
            await asyncio.wait_for(self.nc.drain(), 5)
        except Exception:  # noqa: BLE001 - a server gone: just close
            await self.nc.close()
        # nats-py's own tasks (flusher, reader, pings) end with the loop, not left to the GC
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> "NatsBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ retrying

    async def _retry(self, make, what: str):
        """`await make()` until it works or GIVE_UP_S passed (a server restarting, a cluster
        electing a leader)."""
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            try:
                return await make()
            except (KeyWrongLastSequenceError, NotFoundError, BadRequestError, nats.js.errors.NoKeysError, PositionConflict, ValueError, KeyError):
                raise  # answers, not outages
            except (asyncio.TimeoutError, nats.errors.Error, nats.js.errors.ServiceUnavailableError, ConnectionError, OSError, nats.js.errors.ServerError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"NATS at {self.where}: {what} failed for {GIVE_UP_S:.0f} s: {exc or type(exc).__name__}") from None
                await asyncio.sleep(0.25)

    # ------------------------------------------------------------------ topics

    def ensure_topic(self, topic: str, partitions: int = 1) -> int:
        if partitions < 1:
            raise ValueError("a topic needs at least one partition")
        if topic in self._partitions:
            return self._partitions[topic]
        check_subject(topic)
        self.settle()
        return self._call(self._ensure_topic(topic, partitions))

    async def _ensure_topic(self, topic: str, partitions: int) -> int:
        known = await self._topic_partitions(topic)
        if known is not None:
            return known
        for p in range(partitions):
            config = api.StreamConfig(
                name=stream_name(topic, p),
                subjects=[f"{topic}.{p}"],
                storage=api.StorageType.FILE,
                num_replicas=self.replicas,
                duplicate_window=self.duplicate_window,
                description=f"sscc topic {topic} partition {p} of {partitions}",
            )
            try:
                await self._retry(lambda: self.js.add_stream(config), f"creating stream {config.name}")
            except BadRequestError as exc:
                if "already in use" not in str(exc):
                    raise
        try:
            await self._retry(lambda: self._kv_topics.create(escape(topic), str(partitions).encode()), f"creating topic {topic}")
        except KeyWrongLastSequenceError:
            pass  # created meanwhile by another process: its count wins
        return await self._topic_partitions(topic)

    async def _topic_partitions(self, topic: str) -> int | None:
        try:
            entry = await self._retry(lambda: self._kv_topics.get(escape(topic)), f"looking up topic {topic}")
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        self._partitions[topic] = int(entry.value)
        return self._partitions[topic]

    def partitions(self, topic: str) -> int:
        if topic not in self._partitions:
            if self._call(self._topic_partitions(topic)) is None:
                raise KeyError(f"no topic {topic!r}")
        return self._partitions[topic]

    def topics(self) -> dict[str, int]:
        return self._call(self._topics())

    async def _topics(self) -> dict[str, int]:
        try:
            keys = await self._retry(lambda: self._kv_topics.keys(), "listing topics")
        except NotFoundError:
            return {}
        except nats.js.errors.NoKeysError:
            return {}
        out = {}
        for key in sorted(keys):
            topic = unescape(key)
            count = await self._topic_partitions(topic)
            if count is not None:
                out[topic] = count
        return dict(sorted(out.items()))

    def bounds(self, topic: str, partition: int) -> tuple[int, int]:
        self.partitions(topic)
        return self._call(self._bounds(topic, partition))

    async def _bounds(self, topic: str, partition: int) -> tuple[int, int]:
        info = await self._retry(lambda: self.js.stream_info(stream_name(topic, partition)), f"reading {topic}[{partition}]")
        return (info.state.first_seq - 1 if info.state.messages else info.state.last_seq, info.state.last_seq)

    # ------------------------------------------------------------------ records

    def append(self, topic: str, partition: int, data: bytes, count: int) -> int:
        """A producer's batch: no message ids (a producer re-run duplicates on any store)."""
        self.settle()
        if not 0 <= partition < self.partitions(topic):
            raise ValueError(f"topic {topic!r} has no partition {partition}")
        return self._call(self._publish([Output(topic, partition, data, count)], None))[0]

    def read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        end = self._replay.pop((topic, partition, offset), None)
        if end is not None:  # the batch a crashed run was committing: exactly those records
            max_records = max(1, min(max_records, end - offset))
        return self._call(self._read(topic, partition, offset, max_records))

    async def _read(self, topic: str, partition: int, offset: int, max_records: int) -> Batch:
        key = (topic, partition)
        deadline = time.monotonic() + GIVE_UP_S
        while True:
            reader = self._readers.get(key)
            try:
                if reader is None or reader.next != offset:
                    if reader is not None:
                        await reader.close()
                    reader = self._readers[key] = await _Reader.open(self, stream_name(topic, partition), offset)
                return await reader.fetch(max_records)
            except (asyncio.TimeoutError, nats.errors.Error, nats.js.errors.Error, OSError) as exc:
                # a consumer lost with its server (cluster election): start a new one
                self._readers.pop(key, None)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"NATS at {self.where}: reading {topic}[{partition}] failed for {GIVE_UP_S:.0f} s: {exc or type(exc).__name__}") from None
                await asyncio.sleep(0.25)

    # ------------------------------------------------------------------ publishing

    async def _publish(self, outputs: Sequence[Output], ids: str | None) -> list[int]:
        """Every record of `outputs` as one message, all in flight at once; returns when every
        one is acknowledged (re-sent after ACK_WAIT_S without an answer). Message ids
        `<ids>:<topic>:<partition>:<index>` when `ids` is given."""
        job = _Publish(self._loop)
        counters: dict[tuple[str, int], int] = {}
        firsts = []
        for out in outputs:
            if not out.count:
                firsts.append(None)
                continue
            subject = f"{out.topic}.{out.partition}".encode()
            at = counters.get((out.topic, out.partition), 0)
            counters[(out.topic, out.partition)] = at + out.count
            firsts.append(self._next_reply)
            job.firsts_wanted.add(self._next_reply)
            data, pos, end = out.data, 0, len(out.data)
            unpack = _HEADER.unpack_from
            prefix = f"{ids}:{out.topic}:{out.partition}:" if ids is not None else None
            while pos < end:
                frame_len, ts, origin, key_len = unpack(data, pos)
                body, stop = pos + 24, pos + 4 + frame_len
                if key_len == frames.NO_KEY:
                    key, value = None, data[body:stop]
                else:
                    key, value = data[body : body + key_len], data[body + key_len : stop]
                headers = record_headers(key, ts, f"{prefix}{at}" if prefix is not None else None, origin)
                n = self._next_reply
                self._next_reply += 1
                job.messages[n] = b"HPUB %s %s.%d %d %d\r\n%s%s\r\n" % (
                    subject, self._ack_prefix.encode(), n, len(headers), len(headers) + len(value), headers, value,
                )
                at += 1
                pos = stop
        if not job.messages:
            return [0 for _ in outputs]
        deadline = time.monotonic() + GIVE_UP_S
        missing = list(job.messages)
        while True:
            job.waiting = set(missing)
            for n in missing:
                self._acks[n] = job
            job.done = self._loop.create_future()
            await self._send([job.messages[n] for n in missing])
            # Wait while acknowledgements keep coming (a loaded server is slow, not gone); re-send
            # what is missing only after ACK_WAIT_S without any.
            while True:
                before = len(job.waiting)
                try:
                    await asyncio.wait_for(asyncio.shield(job.done), ACK_WAIT_S)
                    break
                except asyncio.TimeoutError:
                    if len(job.waiting) == before or job.done.done():
                        break
            if job.error is not None:
                for n in job.waiting:
                    self._acks.pop(n, None)
                raise RuntimeError(f"NATS at {self.where}: publish refused: {job.error}")
            missing = sorted(job.waiting | job.retry)
            job.retry = set()
            if not missing:
                break
            if time.monotonic() > deadline:
                for n in missing:
                    self._acks.pop(n, None)
                raise RuntimeError(f"NATS at {self.where}: {len(missing)} records unacknowledged for {GIVE_UP_S:.0f} s")
            await asyncio.sleep(0.25)
        return [job.seqs.get(n, 1) - 1 if n is not None else 0 for n in firsts]

    async def _send(self, commands: list[bytes]) -> None:
        """Write protocol lines on the fast link (a lost link is replaced; what it lost is
        re-sent by the caller when its acknowledgements do not come)."""
        try:
            link = await self._link()
        except ConnectionError:
            return  # nothing sent: the caller's wait runs out and it tries again
        for i in range(0, len(commands), 4096):
            try:
                link.write(b"".join(commands[i : i + 4096]))
            except ConnectionError:
                return
            await asyncio.sleep(0)  # let acknowledgements in while a big batch goes out

    def _on_ack(self, subject: bytes, _reply: bytes, hdr: bytes, data: bytes) -> None:
        n = int(subject.rpartition(b".")[2])
        job = self._acks.pop(n, None)
        if job is None:
            return
        if hdr[:9] == b"NATS/1.0 ":  # 503 no responders: the stream has no leader yet
            job.retry.add(n)
        elif b'"error"' in data:
            error = json.loads(data)["error"]
            if error.get("code") in (503, 504) or error.get("err_code") in (10008, 10060):
                job.retry.add(n)  # no leader / not the leader right now
            else:
                job.error = error.get("description", str(error))
        elif n in job.firsts_wanted:
            job.seqs[n] = json.loads(data)["seq"]
        job.waiting.discard(n)
        if not job.waiting and not job.done.done():
            job.done.set_result(None)

    # ------------------------------------------------------------------ positions, state, commit

    async def _doc(self, service: str, fresh: bool = False) -> list:
        if fresh or service not in self._docs:
            try:
                entry = await self._retry(lambda: self._kv_commits.get(escape(service)), f"reading the positions of {service}")
                doc, revision = json.loads(entry.value), entry.revision
                self._remember(service, revision, entry.value)
            except KeyNotFoundError:
                doc, revision = {}, 0
            doc.setdefault("positions", {})
            doc.setdefault("state", {})
            doc.setdefault("epochs", {})
            self._docs[service] = [doc, revision]
        return self._docs[service]

    async def _put_doc(self, service: str, doc: dict, revision: int) -> int:
        data = json.dumps(doc, separators=(",", ":")).encode()
        key = escape(service)

        async def put():
            if revision == 0:
                return await self._kv_commits.create(key, data)
            return await self._kv_commits.update(key, data, last=revision)

        try:
            stored = await self._retry(put, f"committing {service}")
            self._remember(service, stored, data)
            return stored
        except KeyWrongLastSequenceError:
            # A retried update whose first try landed (its answer lost in a failover) finds its
            # own value there: that is success, not a second runner.
            try:
                entry = await self._retry(lambda: self._kv_commits.get(key), f"reading the positions of {service}")
                if entry.value == data:
                    return entry.revision
            except KeyNotFoundError:
                pass
            if self._shared:  # another task of the service committed: merge (natscoord.py)
                return await self._merge_doc(service, doc, revision, key)
            self._docs.pop(service, None)
            if any(s == service for s, _t in self._held):
                raise Fenced(f"{service}: another worker took over this service's task (lease epoch moved); this worker drops it") from None
            raise PositionConflict(f"{service}: its positions moved under this runner; is another runner of this service alive?") from None

    def position(self, service: str, topic: str, partition: int) -> int | None:
        self.settle()
        return self._call(self._position(service, topic, partition))

    async def _position(self, service: str, topic: str, partition: int) -> int | None:
        doc, _rev = await self._doc(service, fresh=True)  # rare (a runner's start, a watcher)
        key = f"{partition}:{topic}"
        flight = doc.get("inflight", {}).get(key)
        at = doc["positions"].get(key)
        if flight is not None and flight[0] == at:
            self._replay[(topic, partition, at)] = flight[1]
        return at

    def committed_end(self, topic: str, partition: int) -> int:
        """The end of a changelog partition without the changes of a commit a crash cut short
        (statelog.read_all loads state up to here); the stream's end for any other topic."""
        self.settle()
        return self._call(self._committed_end(topic, partition))

    async def _committed_end(self, topic: str, partition: int) -> int:
        end = (await self._bounds(topic, partition))[1]
        if not topic.endswith(CHANGELOG_SUFFIX):
            return end
        doc, _rev = await self._doc(changelog_owner(topic), fresh=True)
        cut = doc.get("inflight_ends", {}).get(f"{partition}:{topic}")
        return end if cut is None else min(end, cut)

    def state_get(self, service: str, state: str, key: bytes) -> bytes | None:
        self.settle()
        doc, _rev = self._call(self._doc(service))
        value = doc["state"].get(state, {}).get(key.hex())
        return None if value is None else base64.b64decode(value)

    def commit(self, outputs: Sequence[Output] = (), positions: Sequence[Position] = (), state_changes: Sequence[StateChange] = ()) -> list[int]:
        self.settle()
        return self._call(self._commit(list(outputs), list(positions), list(state_changes)))

    def commit_soon(self, outputs: Sequence[Output] = (), positions: Sequence[Position] = (), state_changes: Sequence[StateChange] = ()) -> None:
        """`commit` left running on the event loop while the caller computes its next batch;
        `settle()` waits for it (and raises its error). One at a time, in order."""
        self.settle()
        self._pending = asyncio.run_coroutine_threadsafe(
            self._commit(list(outputs), list(positions), list(state_changes)), self._loop
        )

    def settle(self) -> bool:
        pending, self._pending = self._pending, None
        if pending is None:
            return False
        pending.result()
        return True

    async def _commit(self, outputs: list[Output], positions: list[Position], state_changes: list[StateChange]) -> list[int]:
        for out in outputs:
            if not 0 <= out.partition < (self._partitions.get(out.topic) or await self._topic_partitions(out.topic) or 0):
                raise ValueError(f"topic {out.topic!r} has no partition {out.partition}")
        services = sorted({p.service for p in positions} | {c.service for c in state_changes})
        docs = {s: await self._doc(s) for s in services}
        for pos in positions:
            doc = docs[pos.service][0]
            current = doc["positions"].get(f"{pos.partition}:{pos.topic}")
            if current != pos.expected:
                raise PositionConflict(
                    f"{pos.service}: position of {pos.topic}[{pos.partition}] is {current},"
                    f" expected {pos.expected}; is another runner of this service alive?"
                )
            self._check_epoch(pos.service, doc)
        ids = None
        if positions:
            first = positions[0]
            ids = f"{first.service}:{first.topic}:{first.partition}:{first.expected}"
        elif outputs:  # a window closed by idleness or at the end: named by its content
            digest = hashlib.sha1()
            for out in outputs:
                digest.update(out.topic.encode() + b"\0" + out.data)
            ids = f"{services[0] if services else ''}:flush:{digest.hexdigest()}"
        changelogs = [out for out in outputs if out.count and out.topic.endswith(CHANGELOG_SUFFIX)]
        if any(out.count for out in outputs) and (positions or changelogs):
            # (1) the batch in flight, so a restart re-reads exactly these records, and where
            # its state changes start, so the restart loads the state from before them
            ends = await asyncio.gather(*(self._bounds(out.topic, out.partition) for out in changelogs))
            for service in {p.service for p in positions} | {changelog_owner(out.topic) for out in changelogs}:
                if service not in docs:
                    continue
                doc, revision = docs[service]
                # Merged, not replaced: the service's other tasks keep their own entries (one
                # document per service, one task per input or changelog partition).
                doc.setdefault("inflight", {}).update(
                    (f"{p.partition}:{p.topic}", [p.expected, p.next_offset]) for p in positions if p.service == service
                )
                # An entry already there is the cut of an earlier attempt at this batch (killed
                # before step 3): what came after it is uncommitted too, so the cut stays.
                cuts = doc.setdefault("inflight_ends", {})
                for out, (_first, end) in zip(changelogs, ends):
                    if changelog_owner(out.topic) == service:
                        at = f"{out.partition}:{out.topic}"
                        cuts[at] = min(cuts.get(at, end), end)
                docs[service][1] = await self._put_doc(service, doc, revision)
        # (2) every record published and acknowledged
        bases = await self._publish(outputs, ids) if outputs else []
        # (3) positions and state move
        for service in services:
            doc, revision = docs[service]
            for pos in positions:
                if pos.service == service:
                    doc.get("inflight", {}).pop(f"{pos.partition}:{pos.topic}", None)
            for out in changelogs:
                doc.get("inflight_ends", {}).pop(f"{out.partition}:{out.topic}", None)
            for entry in ("inflight", "inflight_ends"):
                if entry in doc and not doc[entry]:
                    del doc[entry]
            for pos in positions:
                if pos.service == service:
                    doc["positions"][f"{pos.partition}:{pos.topic}"] = pos.next_offset
            for change in state_changes:
                if change.service == service:
                    rows = doc["state"].setdefault(change.state, {})
                    if change.value is None:
                        rows.pop(change.key.hex(), None)
                    else:
                        rows[change.key.hex()] = base64.b64encode(change.value).decode()
            docs[service][1] = await self._put_doc(service, doc, revision)
        return bases

    def _check_epoch(self, service: str, doc: dict, held: dict | None = None) -> None:
        """Fenced unless every task of `service` in `held` (default: every lease this process
        holds) still has its epoch in the document."""
        epochs = doc.get("epochs", {})
        for (held_service, task), epoch in (self._held if held is None else held).items():
            if held_service == service and epochs.get(str(task), 0) != epoch:
                raise Fenced(f"{service}: task {task} is now held with epoch {epochs.get(str(task))}, this worker had {epoch}")

    def drop_state(self, service: str, state: str, changelog: str, schema_state: str) -> int:
        self.settle()
        return self._call(self._drop_state(service, state, changelog, schema_state))

    async def _drop_state(self, service: str, state: str, changelog: str, schema_state: str) -> int:
        dropped = 0
        for p in range(await self._topic_partitions(changelog) or 0):
            first, end = await self._bounds(changelog, p)
            dropped += end - first
            await self.js.purge_stream(stream_name(changelog, p))
        doc, revision = await self._doc(service, fresh=True)
        doc["state"].get(schema_state, {}).pop(state.encode().hex(), None)
        self._docs[service][1] = await self._put_doc(service, doc, revision)
        return dropped

    # ------------------------------------------------------------------ leases (backend.LeaseBackend)

    def acquire(self, service: str, task: int, worker: str, ttl: float) -> int | None:
        """Take (service, task) if it is free, expired or already ours; its new epoch, else None."""
        self.settle()
        return self._call(self._acquire(service, task, worker, ttl))

    async def _acquire(self, service: str, task: int, worker: str, ttl: float) -> int | None:
        key = f"{escape(service)}.{task}"
        try:
            entry = await self._kv_leases.get(key)
            lease, revision = json.loads(entry.value), entry.revision
        except KeyNotFoundError:
            lease, revision = None, 0
        now = time.time()
        if lease is not None and lease["worker"] != worker and lease["expires_at"] > now:
            return None
        epoch = (lease["epoch"] if lease else 0) + 1
        value = json.dumps({"worker": worker, "epoch": epoch, "expires_at": now + ttl}).encode()
        try:
            if revision:
                await self._kv_leases.update(key, value, last=revision)
            else:
                await self._kv_leases.create(key, value)
        except KeyWrongLastSequenceError:
            return None  # another worker was faster
        # Fence the previous holder: its next commit of this service's document fails.
        while True:
            doc, rev = await self._doc(service, fresh=True)
            doc["epochs"][str(task)] = epoch
            try:
                self._docs[service][1] = await self._put_doc(service, doc, rev)
                break
            except PositionConflict:
                continue
        self._held[(service, task)] = epoch
        return epoch

    def renew(self, service: str, task: int, worker: str, epoch: int, ttl: float) -> bool:
        return self._call(self._renew(service, task, worker, epoch, ttl, release=False))

    def release(self, service: str, task: int, worker: str, epoch: int) -> None:
        self.settle()
        self._call(self._renew(service, task, worker, epoch, 0, release=True))
        self._held.pop((service, task), None)

    async def _renew(self, service: str, task: int, worker: str, epoch: int, ttl: float, release: bool) -> bool:
        key = f"{escape(service)}.{task}"
        try:
            entry = await self._kv_leases.get(key)
        except KeyNotFoundError:
            return False
        lease = json.loads(entry.value)
        if lease["worker"] != worker or lease["epoch"] != epoch:
            self._held.pop((service, task), None)
            return False
        lease["expires_at"] = 0 if release else time.time() + ttl
        try:
            await self._kv_leases.update(key, json.dumps(lease).encode(), last=entry.revision)
        except KeyWrongLastSequenceError:
            self._held.pop((service, task), None)
            return False
        return True

    def leases(self, service: str | None = None) -> list[Lease]:
        """Every lease of `service`; of every service without one (natscoord.py)."""
        if service is None:
            return self.all_leases()
        return self._call(self._leases(service))

    async def _leases(self, service: str) -> list[Lease]:
        prefix = escape(service) + "."
        try:
            keys = await self._kv_leases.keys()
        except (NotFoundError, nats.js.errors.NoKeysError):
            return []
        out = []
        for key in keys:
            if key.startswith(prefix) and key[len(prefix):].isdigit():
                lease = json.loads((await self._kv_leases.get(key)).value)
                out.append(Lease(service, int(key[len(prefix):]), lease["worker"], lease["epoch"], lease["expires_at"]))
        return sorted(out, key=lambda lease: lease.task)


class _Publish:
    """One commit's messages on their way: which are still unacknowledged."""

    def __init__(self, loop):
        self.messages: dict[int, bytes] = {}
        self.waiting: set[int] = set()
        self.retry: set[int] = set()
        self.firsts_wanted: set[int] = set()
        self.seqs: dict[int, int] = {}
        self.error = None
        self.done = loop.create_future()


class _Reader:
    """An ephemeral pull consumer (no acks) on one partition's stream, from one offset on;
    reused while the loop reads on where it stopped. Deliveries arrive on the fast link."""

    FETCH_WAIT_S = 5.0

    def __init__(self, backend: NatsBackend, stream: str, offset: int):
        self.backend, self.stream, self.next = backend, stream, offset
        self.consumer = ""
        self.link: _Link | None = None
        self.sid = 0
        self.inbox = backend.nc.new_inbox()
        self.parts: list[bytes] = []
        self.first = b""
        self.wanted = 0
        self.done: asyncio.Future | None = None

    @classmethod
    async def open(cls, backend: NatsBackend, stream: str, offset: int) -> "_Reader":
        reader = cls(backend, stream, offset)
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=offset + 1,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=60.0,
            max_waiting=1,
        )
        info = await backend.js.add_consumer(stream, config=config)
        reader.consumer = info.name
        reader.link = await backend._link()
        reader.sid = reader.link.subscribe(reader.inbox, reader._on_msg)
        reader.link.watchers.add(reader._on_lost)
        return reader

    def _on_lost(self, exc) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(f"NATS connection lost: {exc}"))

    def _on_msg(self, subject: bytes, reply: bytes, hdr: bytes, data: bytes) -> None:
        if not reply:
            if hdr[:9] == b"NATS/1.0 " and self.done is not None and not self.done.done():
                self.done.set_result(hdr[9:12].decode())
            return
        if not self.parts:
            self.first = reply
        self.parts.append(raw_frame(reply, hdr, data))
        if len(self.parts) >= self.wanted and self.done is not None and not self.done.done():
            self.done.set_result(None)

    async def fetch(self, max_records: int) -> Batch:
        self.parts, self.wanted = [], max_records
        self.done = self.backend._loop.create_future()
        request = b'{"batch":%d,"no_wait":true}' % max_records
        self.link.write(
            b"PUB $JS.API.CONSUMER.MSG.NEXT.%s.%s %s %d\r\n%s\r\n"
            % (self.stream.encode(), self.consumer.encode(), self.inbox.encode(), len(request), request)
        )
        while True:  # a slow delivery is fine while messages keep arriving
            before = len(self.parts)
            try:
                status = await asyncio.wait_for(asyncio.shield(self.done), self.FETCH_WAIT_S)
                break
            except asyncio.TimeoutError:
                if len(self.parts) == before:
                    raise
        if status not in (None, "404", "408", "409"):
            raise ConnectionError(f"pull request answered {status}")
        parts, self.parts = self.parts, []
        if not parts:
            return Batch(self.next, 0, b"")
        base = _sequence(self.first.decode()) - 1
        self.next = base + len(parts)
        return Batch(base, len(parts), b"".join(parts))

    async def close(self) -> None:
        try:
            if self.link is not None:
                self.link.watchers.discard(self._on_lost)
                self.link.unsubscribe(self.sid)
            if self.consumer:
                await self.backend.js.delete_consumer(self.stream, self.consumer)
        except Exception:  # noqa: BLE001 - it expires by itself (inactive_threshold)
            pass


def raw_frame(reply: bytes, hdr: bytes, data: bytes) -> bytes:
    """One delivered message (its header block as received) as a frame."""
    key = None
    timestamp = None
    origin = -1
    if hdr:
        i = hdr.find(b"\r\nSscc-Origin:")
        if i >= 0:
            origin = int(hdr[i + 14 : hdr.find(b"\r\n", i + 14)])
        i = hdr.find(b"\r\nSscc-Timestamp:")
        if i >= 0:
            try:
                timestamp = int(hdr[i + 17 : hdr.find(b"\r\n", i + 17)])
            except ValueError:
                pass
        i = hdr.find(b"\r\nSscc-Key:")
        if i >= 0:
            key = hdr[i + 11 : hdr.find(b"\r\n", i + 11)].strip()
        else:
            i = hdr.find(b"\r\nSscc-Key-Base64:")
            if i >= 0:
                coded = hdr[i + 18 : hdr.find(b"\r\n", i + 18)].strip()
                key = b"" if coded == b"=" else base64.b64decode(coded)
    if timestamp is None:  # a plain client's message: when the stream stored it
        tokens = reply.split(b".")
        timestamp = int(tokens[9] if len(tokens) >= 12 else tokens[7]) // 1_000_000
    if key is None:
        return _HEADER.pack(20 + len(data), timestamp, origin, frames.NO_KEY) + data
    return _HEADER.pack(20 + len(key) + len(data), timestamp, origin, len(key)) + key + data


class _Link(asyncio.Protocol):
    """A second, bare connection for the hot path: pull requests and deliveries, publishes and
    their acknowledgements. nats-py spends ~20 us of Python per received message (parser,
    header dict, Msg object, queue, task switch); this parses a whole read buffer in one loop
    and hands each message's bytes to its subscription's function. No TLS or credentials (the
    management connection, nats-py, would need them too: not supported yet)."""

    def __init__(self):
        self.buf = bytearray()
        self.subs: dict[int, object] = {}
        self.transport = None
        self.lost: BaseException | None = None
        self.ready: asyncio.Future | None = None
        self.watchers: set = set()  # called with the error when the connection is lost
        self._sid = 0

    @classmethod
    async def connect(cls, loop, servers: list[str]) -> "_Link":
        last = None
        for server in servers:
            host, _, port = server.removeprefix("nats://").rpartition(":")
            link = cls()
            link.ready = loop.create_future()
            try:
                await asyncio.wait_for(loop.create_connection(lambda: link, host, int(port)), 2)
                await asyncio.wait_for(link.ready, 2)
                return link
            except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
                last = exc
                if link.transport is not None:
                    link.transport.close()
        raise ConnectionError(f"no NATS server answered ({last})")

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(
            b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
            b'"protocol":1,"lang":"python-sscc","version":"1"}\r\nPING\r\n'
        )

    def connection_lost(self, exc) -> None:
        self.lost = exc or ConnectionError("connection closed")
        for watcher in list(self.watchers):
            watcher(self.lost)
        if self.ready is not None and not self.ready.done():
            self.ready.set_exception(self.lost)

    def subscribe(self, subject: str, handler) -> int:
        self._sid += 1
        self.subs[self._sid] = handler
        self.transport.write(b"SUB %s %d\r\n" % (subject.encode(), self._sid))
        return self._sid

    def unsubscribe(self, sid: int) -> None:
        self.subs.pop(sid, None)
        if self.lost is None:
            self.transport.write(b"UNSUB %d\r\n" % sid)

    def write(self, data) -> None:
        if self.lost is not None:
            raise ConnectionError(f"NATS connection lost: {self.lost}")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos, size = 0, len(buf)
        subs = self.subs
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                break
            op = buf[pos : pos + 4]
            if op == b"HMSG":
                parts = bytes(buf[pos + 5 : eol]).split(b" ")
                hlen, tlen = int(parts[-2]), int(parts[-1])
                start = eol + 2
                if start + tlen + 2 > size:
                    break
                handler = subs.get(int(parts[1]))
                if handler is not None:
                    handler(parts[0], parts[2] if len(parts) == 5 else b"", bytes(buf[start : start + hlen]), bytes(buf[start + hlen : start + tlen]))
                pos = start + tlen + 2
            elif op == b"MSG ":
                parts = bytes(buf[pos + 4 : eol]).split(b" ")
                tlen = int(parts[-1])
                start = eol + 2
                if start + tlen + 2 > size:
                    break
                handler = subs.get(int(parts[1]))
                if handler is not None:
                    handler(parts[0], parts[2] if len(parts) == 4 else b"", b"", bytes(buf[start : start + tlen]))
                pos = start + tlen + 2
            else:
                if op == b"PING":
                    self.transport.write(b"PONG\r\n")
                elif op == b"PONG":
                    if self.ready is not None and not self.ready.done():
                        self.ready.set_result(None)
                elif op == b"-ERR":
                    error = bytes(buf[pos:eol]).decode(errors="replace")
                    if self.ready is not None and not self.ready.done():
                        self.ready.set_exception(ConnectionError(error))
                pos = eol + 2
        del buf[:pos]
