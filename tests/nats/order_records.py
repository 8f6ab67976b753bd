"""The orders the NATS tests feed examples/order-totals, and reading a whole topic partition
back as (key, value, origin) tuples to compare runs record for record."""

from __future__ import annotations

import json

from sscc_runtime import frames, statelog  # noqa: E402 - nats_servers (imported first) puts runtime_stub on sys.path


def order(i: int) -> str:
    """Every 997th not JSON (a dead letter), a quarter with qty 0 (filtered out)."""
    if i % 997 == 0:
        return '{"id": %d, "broken' % i
    return json.dumps({"id": i, "item": f"item-{i % 100}", "qty": i % 4, "price": 0.25})


def read_all(backend, topic: str, partition: int = 0) -> list:
    """Every record of one partition as (key, value, origin), oldest first."""
    return [(r.key, r.value, r.origin) for r in frames.iter_records(statelog.read_all(backend, topic, partition))]
