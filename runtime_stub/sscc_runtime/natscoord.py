"""What `run --workers N` and `status` need from NATS besides topics and commits (docs/scale-out.md).

Mixed into nats_backend.NatsBackend (it uses its event loop, KV buckets and document cache):
- the worker registry, KV bucket `sscc-workers`: one entry per worker (`host:pid`) with its pid,
  host, start, last heartbeat, TTL, idle mark and counters, the same rows as the embedded store's
  `workers` table (storeleases.py), written by the worker's heartbeat thread every second;
- every lease of every service and every committed position, for `status`;
- the fingerprint `--until-idle` agrees on: the sum and count of the last sequences of every sscc
  stream (topics, changelogs, repartition, dead letters) plus the revision of the commit documents'
  bucket, read with one stream-list request; it moves with every record stored and every commit;
- `share_documents()`: several processes commit to one service's document (a worker holds some
  of a service's tasks, another the rest). A compare-and-set that fails because another task
  of the service committed in between is merged: the keys this commit changed (its own
  partitions' positions and batch in flight) are applied onto the newer document, unless the
  other writer changed one of them too (a second runner: PositionConflict) or moved the epoch of
  a task this process holds (`Fenced`).
"""

from __future__ import annotations

import asyncio
import json
import time

from .backend import Lease, PositionConflict, idle_at

WORKERS_BUCKET = "sscc-workers"
_GONE = object()  # a key deleted by a commit


def _flat(doc: dict) -> dict:
    """A commit document as {path: value}: positions, epochs, in-flight entries by key, state
    rows by (state, key)."""
    out = {}
    for section, rows in doc.items():
        if section == "state":
            for state, keys in rows.items():
                for key, value in keys.items():
                    out[(section, state, key)] = value
        elif isinstance(rows, dict):
            for key, value in rows.items():
                out[(section, key)] = value
        else:
            out[(section,)] = rows
    return out


def _unflat(flat: dict) -> dict:
    doc: dict = {"positions": {}, "state": {}, "epochs": {}}
    for path, value in flat.items():
        if len(path) == 1:
            doc[path[0]] = value
        elif len(path) == 2:
            doc.setdefault(path[0], {})[path[1]] = value
        else:
            doc["state"].setdefault(path[1], {})[path[2]] = value
    return doc


class NatsCoordination:
    """Worker registry, leases of every service, positions and fingerprint on JetStream."""

    _shared = False

    # ------------------------------------------------------------------ documents shared by processes

    def share_documents(self) -> None:
        """Merge a commit whose document moved under it (other tasks of the service committed)
        instead of failing it; what a worker process's backends do (workers.py)."""
        self._shared = True

    def hold(self, service: str, task: int, epoch: int) -> None:
        """This backend commits for task `task` of `service` under lease `epoch`: a commit after
        another worker took the lease (a newer epoch in the document) is refused (`Fenced`)."""
        self._held[(service, task)] = epoch
        if not hasattr(self, "_fencing"):
            self._fencing = {}
        self._fencing[(service, task)] = epoch

    def _remember(self, service: str, revision: int, data: bytes) -> None:
        """The document as stored at `revision`: the base a merge compares against."""
        if not hasattr(self, "_bases"):
            self._bases = {}
        self._bases[service] = (revision, data)

    async def _merge_doc(self, service: str, doc: dict, revision: int, key: str) -> int:
        """After a failed compare-and-set at `revision`: apply what this commit changed onto the
        document as it is now, and store that; the new revision. `doc` is updated in place."""
        base_revision, base_data = getattr(self, "_bases", {}).get(service, (0, None)) if revision else (0, None)
        if base_revision != revision:
            self._docs.pop(service, None)
            raise PositionConflict(f"{service}: its document moved under this runner (no base to merge from)")
        ours = _flat(doc)
        base = _flat(json.loads(base_data)) if base_data else {}
        delta = {p: ours.get(p, _GONE) for p in set(ours) | set(base) if ours.get(p, _GONE) != base.get(p, _GONE)}
        try:
            return await self._merge_onto(service, doc, key, base, delta)
        except PositionConflict:
            self._docs.pop(service, None)  # read afresh by whoever uses this service next
            raise

    async def _merge_onto(self, service: str, doc: dict, key: str, base: dict, delta: dict) -> int:
        from nats.js.errors import KeyWrongLastSequenceError

        while True:
            entry = await self._retry(lambda: self._kv_commits.get(key), f"reading the positions of {service}")
            theirs_doc = json.loads(entry.value)
            # The tasks this backend commits for (`hold`); a worker's own connection, which
            # acquired many leases and handed some back, fences nothing (its merge is an epoch write).
            self._check_epoch(service, theirs_doc, getattr(self, "_fencing", {}))
            theirs = _flat(theirs_doc)
            for path, value in delta.items():
                if path[0] in ("positions", "inflight", "inflight_ends") and theirs.get(path, _GONE) not in (base.get(path, _GONE), value):
                    raise PositionConflict(
                        f"{service}: {path[0]} {path[1]} moved under this runner; is another runner of this service alive?"
                    )
            merged = dict(theirs)
            for path, value in delta.items():
                if value is _GONE:
                    merged.pop(path, None)
                else:
                    merged[path] = value
            new_doc = _unflat(merged)
            data = json.dumps(new_doc, separators=(",", ":")).encode()
            try:
                new_revision = await self._kv_commits.update(key, data, last=entry.revision)
            except KeyWrongLastSequenceError:
                base = theirs  # someone else again: merge onto the next version
                continue
            doc.clear()
            doc.update(new_doc)
            self._remember(service, new_revision, data)
            return new_revision

    # ------------------------------------------------------------------ leases and positions, every service

    def all_leases(self) -> list[Lease]:
        return self._call(self._all_leases())

    async def _all_leases(self) -> list[Lease]:
        from nats.js.errors import KeyNotFoundError, NoKeysError, NotFoundError

        from .nats_backend import unescape

        try:
            keys = await self._kv_leases.keys()
        except (NotFoundError, NoKeysError):
            return []

        async def one(key):
            try:
                return key, json.loads((await self._kv_leases.get(key)).value)
            except KeyNotFoundError:
                return key, None

        out = []
        for key, lease in await asyncio.gather(*(one(k) for k in keys)):
            service, _, task = key.rpartition(".")
            if lease is not None and task.isdigit():
                out.append(Lease(unescape(service), int(task), lease["worker"], lease["epoch"], lease["expires_at"]))
        return sorted(out, key=lambda lease: (lease.service, lease.task))

    def consumer_positions(self) -> list[tuple[str, str, int, int]]:
        """(service, topic, partition, next offset) of every committed position (as the store's)."""
        return self._call(self._consumer_positions())

    async def _consumer_positions(self) -> list[tuple[str, str, int, int]]:
        from nats.js.errors import NoKeysError, NotFoundError

        from .nats_backend import unescape

        try:
            keys = await self._kv_commits.keys()
        except (NotFoundError, NoKeysError):
            return []
        out = []
        for key in keys:
            entry = await self._kv_commits.get(key)
            if not entry.value:
                continue
            for where, offset in json.loads(entry.value).get("positions", {}).items():
                partition, _, topic = where.partition(":")
                out.append((unescape(key), topic, int(partition), offset))
        return sorted(out)

    # ------------------------------------------------------------------ the worker registry

    async def _workers_kv(self):
        if getattr(self, "_kv_workers", None) is None:
            self._kv_workers = await self._bucket(WORKERS_BUCKET)
        return self._kv_workers

    async def _put_worker(self, worker: str, row: dict) -> None:
        from .nats_backend import escape

        kv = await self._workers_kv()
        await self._retry(lambda: kv.put(escape(worker), json.dumps(row).encode()), f"registering worker {worker}")

    async def _worker(self, worker: str) -> dict | None:
        from nats.js.errors import KeyNotFoundError

        from .nats_backend import escape

        kv = await self._workers_kv()
        try:
            entry = await kv.get(escape(worker))
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    def register_worker(self, worker: str, pid: int, host: str, ttl: float) -> None:
        now = time.time()
        row = {"pid": pid, "host": host, "started": now, "heartbeat": now, "ttl": ttl, "idle_at": None, "counters": None}
        self._call(self._put_worker(worker, row))

    def renew_all(self, worker: str, held: list[tuple[str, int, int]], ttl: float, beat: dict) -> list[tuple[str, int, int]]:
        """Renew every lease in `held` and write the heartbeat; the leases that moved on."""
        return self._call(self._renew_all(worker, held, ttl, beat))

    async def _renew_all(self, worker, held, ttl, beat):
        results = await asyncio.gather(
            *(self._renew(service, task, worker, epoch, ttl, release=ttl == 0) for service, task, epoch in held)
        )
        lost = [lease for lease, kept in zip(held, results) if not kept]
        row = await self._worker(worker) or {"pid": 0, "host": "", "started": time.time()}
        row.update(heartbeat=time.time(), ttl=ttl, idle_at=beat.get("idle_at"), counters=beat.get("counters"))
        await self._put_worker(worker, row)
        return lost

    async def _update_worker(self, worker: str, **changes) -> None:
        row = await self._worker(worker)
        if row is not None:
            row.update(changes)
            await self._put_worker(worker, row)

    def set_idle(self, worker: str, fingerprint: str | None) -> None:
        self._call(self._update_worker(worker, idle_at=fingerprint))

    def worker_stopped(self, worker: str) -> None:
        self._call(self._update_worker(worker, heartbeat=0, idle_at=None))

    def remove_worker(self, worker: str, release: bool = True) -> None:
        """Forget a worker; with `release`, free its leases (its process is gone)."""
        self._call(self._remove_worker(worker, release))

    async def _remove_worker(self, worker: str, release: bool) -> None:
        from .nats_backend import escape

        kv = await self._workers_kv()
        await self._retry(lambda: kv.delete(escape(worker)), f"removing worker {worker}")
        if release:
            for lease in await self._all_leases():
                if lease.worker == worker and lease.expires_at:
                    await self._renew(lease.service, lease.task, worker, lease.epoch, 0, release=True)

    def workers(self) -> list[tuple]:
        """(id, pid, host, started, heartbeat, ttl, idle_at, counters) of every registered worker."""
        return self._call(self._workers())

    async def _workers(self) -> list[tuple]:
        from nats.js.errors import KeyNotFoundError, NoKeysError, NotFoundError

        from .nats_backend import unescape

        kv = await self._workers_kv()
        try:
            keys = await kv.keys()
        except (NotFoundError, NoKeysError):
            return []
        rows = []
        for key in keys:
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:
                continue
            if not entry.value:
                continue
            r = json.loads(entry.value)
            rows.append((unescape(key), r["pid"], r["host"], r["started"], r["heartbeat"], r["ttl"], r["idle_at"], r["counters"]))
        return sorted(rows, key=lambda row: (row[3], row[0]))

    # ------------------------------------------------------------------ --until-idle across workers

    def fingerprint(self) -> str:
        return self._call(self._fingerprint())

    async def _fingerprint(self) -> str:
        from .nats_backend import COMMITS_BUCKET, STREAM_PREFIX

        total = count = commits = 0
        offset = 0
        while True:
            page = await self._retry(lambda: self.js.streams_info(offset), "listing streams")
            for info in page:
                name = info.config.name
                if name.startswith(STREAM_PREFIX):
                    total += info.state.last_seq
                    count += 1
                elif name == f"KV_{COMMITS_BUCKET}":
                    commits = info.state.last_seq
            if len(page) < 256:  # the server's page size
                break
            offset += len(page)
        return f"{total}:{count}:{commits}"

    def all_idle(self, tasks: list[tuple[str, int]], drained: bool = False) -> str | None:
        """As StoreLeases.all_idle: is every task held by a live worker idle (`done` with
        `drained`) at the current fingerprint? No snapshot here: the fingerprint is read before
        and after the workers and leases, and a change in between answers None."""
        return self._call(self._all_idle(tasks, drained))

    async def _all_idle(self, tasks, drained):
        before = await self._fingerprint()
        now = time.time()
        live = {row[0]: row[6] for row in await self._workers() if row[4] + row[5] > now}
        held = {(lease.service, lease.task): lease.worker for lease in await self._all_leases() if lease.expires_at > now}
        if await self._fingerprint() != before:
            return None
        return idle_at(tasks, held, live, before, drained)
