"""A worker process for tests/nats/test_nats_takeover.py: takes the lease of task 0 of every
service of a service description through the JetStream backend (waiting while another worker
holds it), renews it every ttl/3 on a thread, runs the runtime's Loop until idle, releases.

    python lease_worker.py URL SERVICES_JSON WORKER_ID TTL

Prints `acquired EPOCH after WAITED s` when it got the lease. Stands in for the `workers`
branch's `--workers` (docs/scale-out.md), which is not in this branch.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime_stub"))

from sscc_runtime import brokers, service  # noqa: E402
from sscc_runtime.app import batch_mode  # noqa: E402
from sscc_runtime.loop import Loop  # noqa: E402


def main() -> int:
    url, description, worker, ttl = sys.argv[1], Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    services = [batch_mode(s) for s in service.load(json.loads(description.read_text()), description.parent)]
    backend = brokers.open_broker(url)
    started = time.monotonic()
    epochs = {}
    for svc in services:
        while (epoch := backend.acquire(svc.name, 0, worker, ttl)) is None:
            time.sleep(0.2)
        epochs[svc.name] = epoch
    print(f"acquired {' '.join(map(str, epochs.values()))} after {time.monotonic() - started:.1f} s", flush=True)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            for name, epoch in epochs.items():
                backend.renew(name, 0, worker, epoch, ttl)

    threading.Thread(target=renew, daemon=True).start()
    Loop(backend, services, until_idle=True).run()
    stop.set()
    for name, epoch in epochs.items():
        backend.release(name, 0, worker, epoch)
    backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
