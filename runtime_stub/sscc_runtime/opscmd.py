"""Operations on a store shared by workers: `status` and `topic create` (docs/scale-out.md).

    status [--store DIR | --broker URL]        workers, the tasks they hold, lag per partition
    topic create TOPIC [--partitions N] [--store DIR]

`topic create` makes a topic, or grows one. It refuses to shrink a topic (records in the
partitions cut off would be lost) and to grow one that a stateful service reads (keyed state,
windows, `sql()` over own state): a stateful service's shards are its task partitions, so more
source partitions would move keys to other shards, away from their state. Internal topics
(changelogs, `*.repartition`, dead letters) are never changed. Growing a topic read only by
stateless services is fine; a running run sees the new partitions when it is started again.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from . import brokers, statelog
from .storeleases import pid_alive


def add_parsers(commands, topics, store_help: str, positive) -> None:
    create = topics.add_parser("create", help="create a topic, or give it more partitions")
    create.add_argument("topic")
    create.add_argument("--store", metavar="DIR", help=store_help)
    create.add_argument(
        "--partitions", type=positive, metavar="N",
        help="partition count (default: the pipeline's, else 1); more than it has grows the topic",
    )  # fmt: skip
    create.set_defaults(parser=create, command=topic_create)
    from .app import add_broker_options

    add_broker_options(create)
    status = commands.add_parser("status", help="workers, the tasks they hold, lag per partition")
    status.add_argument("--store", metavar="DIR", help=store_help)
    status.set_defaults(parser=status, command=show_status)
    add_broker_options(status)


# ---------------------------------------------------------------------------- topic create


def _stateful_readers(store, topic: str, project) -> list[str]:
    """Services that read `topic` and keep state: from the pipeline when known, and from the
    store (a service with a position on the topic and a changelog or window snapshot)."""
    from . import service

    found = set()
    if project is not None:
        services = service.load(json.loads(project.description.read_text(encoding="utf-8")), project.description.parent)
        for svc in services:
            if any(s.topic == topic for s in svc.sources) and (svc.states or svc.window or svc.sql):
                found.add(svc.name)
    readers = {row[0] for row in store.consumer_positions() if row[1] == topic}
    names = store.topics()
    for reader in readers:
        if any(n.startswith(reader + ".") and n.endswith(statelog.CHANGELOG_SUFFIX) for n in names):
            found.add(reader)
        elif store.state_get(reader, "__window", b"") is not None:
            found.add(reader)
    return sorted(found)


def _internal(topic: str) -> bool:
    return topic.endswith((statelog.CHANGELOG_SUFFIX, ".repartition", ".dead-letters", ".checkpoint"))


def topic_create(args: argparse.Namespace, project) -> int:
    from .app import AppError, _topic_name, open_store

    if brokers.url_from(getattr(args, "broker", None)) and not args.store:
        from .app import _create  # on a broker: create it with that many partitions (no re-sharding rule yet)

        args.partitions = args.partitions or 1
        return _create(args, project)
    if getattr(args, "broker_settings", None) or getattr(args, "broker_config", None):
        raise AppError("-X and --broker-config need a broker (--broker URL or $SSCC_BROKER)")
    topic = _topic_name(args.topic, project)
    known = {info.name: info.partitions for info in project.topics} if project else {}
    with open_store(args.store, create=True) as store:
        existing = store.topics().get(topic)
        wanted = args.partitions or existing or known.get(topic, 1)
        if existing is None:
            store.ensure_topic(topic, wanted)
            print(f"created topic {topic} with {wanted} partition{'s' if wanted != 1 else ''}")
            return 0
        if wanted == existing:
            print(f"topic {topic} has {existing} partition{'s' if existing != 1 else ''} already")
            return 0
        if wanted < existing:
            raise AppError(
                f"topic {topic!r} has {existing} partitions; {wanted} would drop partitions"
                f" {wanted}..{existing - 1} and their records (a topic never shrinks)"
            )
        if _internal(topic):
            raise AppError(f"topic {topic!r} is internal to the pipeline (its partitions follow its service's)")
        stateful = _stateful_readers(store, topic, project)
        if stateful:
            raise AppError(
                f"topic {topic!r} is read by stateful service{'s' if len(stateful) > 1 else ''}"
                f" {', '.join(stateful)}: its state is sharded by the partitions of its input, so"
                f" going from {existing} to {wanted} partitions would move keys away from their"
                " state; re-sharding is not supported (docs/scale-out.md, \"topic create\")"
            )
        store.grow_topic(topic, wanted)
    print(
        f"topic {topic} grew from {existing} to {wanted} partitions; a running pipeline reads the"
        " new ones after it is started again"
    )
    return 0


# ---------------------------------------------------------------------------- status


def _ago(t: float, now: float) -> str:
    return f"{now - t:.1f}s ago" if t else "-"


def show_status(args: argparse.Namespace, project) -> int:
    """Workers, leases and lag of the embedded store or of a broker (`--broker`): the same tables
    from the store's tables, or from NATS's KV buckets and stream bounds (natscoord.py)."""
    from .app import AppError, _open

    now = time.time()
    with _open(args, create=False, project=project) as store:
        if not hasattr(store, "workers"):  # Kafka: the consumer groups' committed offsets only
            if project is None:
                raise AppError(
                    f"status on {getattr(store, 'url', 'this broker')} needs the pipeline (`sscc status FILE --broker URL`"
                    " or the emitted project's `status`): on Kafka the positions are the committed offsets of"
                    " each service's consumer group, named after the pipeline's services"
                )
            _print_lag(_lag_rows(store, [], _project_partitions(store, project)))
            print("\nnote: on Kafka, workers and their partitions are the consumer groups' members (docs/backends.md)")
            return 0
        workers = store.workers()
        all_leases = store.leases()
        lag_rows = _lag_rows(store, store.consumer_positions(), _project_partitions(store, project))
    _print_workers(workers, [lease for lease in all_leases if lease.expires_at > now], now)
    _print_leases(all_leases, now)
    print()
    _print_lag(lag_rows)
    return 0


def _lag_rows(store, positions, expected) -> list[tuple]:
    """(service, topic, partition, position, end, lag) of every committed position, and of the
    pipeline's source partitions without one (lag from the first stored record)."""
    rows, seen = [], set()
    for service_name, topic, partition, offset in positions:
        seen.add((service_name, topic, partition))
        end = store.bounds(topic, partition)[1]
        rows.append((service_name, topic, str(partition), f"{offset:,}", f"{end:,}", f"{max(end - offset, 0):,}"))
    for service_name, topic, partition in expected:
        if (service_name, topic, partition) in seen:
            continue
        # no positions listed (Kafka): each one is its consumer group's committed offset
        position = store.position(service_name, topic, partition) if not positions else None
        first, end = store.bounds(topic, partition)
        shown = "-" if position is None else f"{position:,}"
        rows.append((service_name, topic, str(partition), shown, f"{end:,}", f"{max(end - (first if position is None else position), 0):,}"))
    rows.sort(key=lambda r: (r[0], r[1], int(r[2])))
    return rows


def _print_workers(workers, leases, now: float) -> None:
    host = os.uname().nodename
    tasks_by = {}
    for lease in leases:
        tasks_by.setdefault(lease.worker, []).append(f"{lease.service}[{lease.task}]")
    rows = []
    for worker, pid, where, started, heartbeat, ttl, idle_at, counters in workers:
        if heartbeat == 0:
            state = "stopped"
        elif heartbeat + ttl > now:
            state = "alive"
        else:
            state = "expired"
        if where == host and state != "stopped" and not pid_alive(pid):
            state += " (process gone)"
        done = json.loads(counters) if counters else {}
        rows.append((worker, str(pid), state, _ago(heartbeat, now), f"{done.get('in', 0):,}",
                     " ".join(tasks_by.get(worker, [])) or "-"))  # fmt: skip
    # A lease holder that is not registered (a process of the backend's own lease API): shown too.
    for worker in sorted(set(tasks_by) - {row[0] for row in workers}):
        rows.append((worker, "-", "holds leases", "-", "-", " ".join(tasks_by[worker])))
    print("WORKERS")
    if rows:
        from .app import _table

        _table(("WORKER", "PID", "STATE", "HEARTBEAT", "IN", "TASKS"), rows)
    else:
        print("  no worker has registered (run --workers N starts them)")


def _print_leases(leases, now: float) -> None:
    from .app import _table

    print("\nLEASES")
    rows = [
        (lease.service, str(lease.task), lease.worker or "-", str(lease.epoch), f"expires in {lease.expires_at - now:.1f}s")
        if lease.expires_at > now
        else (lease.service, str(lease.task), "-", str(lease.epoch), "free")
        for lease in leases
    ]
    if rows:
        _table(("SERVICE", "TASK", "WORKER", "EPOCH", "LEASE"), sorted(rows, key=lambda r: (r[0], int(r[1]))))
    else:
        print("  no task has been leased yet")


def _print_lag(rows) -> None:
    from .app import _table

    print("LAG")
    if rows:
        _table(("SERVICE", "TOPIC", "PARTITION", "POSITION", "END", "LAG"), rows)
    else:
        print("  no consumer position committed yet")


def _project_partitions(store, project) -> list[tuple[str, str, int]]:
    """(service, topic, partition) of every source partition of the pipeline that exists."""
    if project is None:
        return []
    from . import service

    services = service.load(json.loads(project.description.read_text(encoding="utf-8")), project.description.parent)
    topics = store.topics()
    return [
        (svc.name, src.topic, p)
        for svc in services
        for src in svc.sources
        if src.topic in topics
        for p in range(topics[src.topic])
    ]
