"""Real nats-server processes for the tests of the JetStream backend (docs/backends.md).

`nats_url` starts one server with JetStream and file storage in the test's tmp dir on a free
port of 127.0.0.1 and yields its `nats://` URL; `Cluster` starts three (R3 streams) and can
SIGKILL and restart one. Tests skip, saying why, only when nats-server is not installed
(`scripts/setup.sh test` installs Debian's). Imported by the test modules of tests/nats (a
module, not a conftest.py: tests/conftest.py is the only one).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

sys.path[:0] = [os.path.join(ROOT, "runtime_stub")]

NATS_SERVER = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


def require_nats() -> None:
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server, or scripts/setup.sh test)")
    try:
        import nats  # noqa: F401
    except ImportError:
        pytest.skip("nats-py is not installed (pip install -e '.[test]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nats-server exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nats-server did not listen on {port}: {log.read_text()[-2000:]}")


class Server:
    """One nats-server: `start()`, `kill()` (SIGKILL), `start()` again on the same port and data."""

    def __init__(self, root: Path, name: str, port: int, config: str = ""):
        self.root, self.name, self.port = root, name, port
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "server.conf"
        self.conf.write_text(
            f'server_name: "{name}"\nlisten: "127.0.0.1:{port}"\n'
            f'jetstream {{ store_dir: "{self.dir / "js"}" }}\n' + config
        )
        self.log = self.dir / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_port(self.port, self.proc, self.log)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Cluster:
    """Three JetStream servers routed to each other; `url` lists all three (R3 streams)."""

    def __init__(self, root: Path):
        ports = [free_port() for _ in range(3)]
        routes = [free_port() for _ in range(3)]
        self.servers = []
        for i in range(3):
            others = ", ".join(f'"nats://127.0.0.1:{routes[j]}"' for j in range(3) if j != i)
            config = f'cluster {{ name: "sscc-test"\n listen: "127.0.0.1:{routes[i]}"\n routes: [{others}] }}\n'
            self.servers.append(Server(root, f"n{i + 1}", ports[i], config))

    @property
    def url(self) -> str:
        return "nats://" + ",".join(s.url for s in self.servers)

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def wait_ready(url: str, timeout: float = 60) -> None:
    """Until JetStream answers (a cluster first elects its meta leader)."""
    from sscc_runtime import brokers

    deadline = time.monotonic() + timeout
    while True:
        try:
            brokers.open_broker(url).close()
            return
        except Exception:  # noqa: BLE001 - not ready yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def nats_server(tmp_path):
    require_nats()
    server = Server(tmp_path / "nats", "n1", free_port())
    server.start()
    try:
        wait_ready(f"nats://{server.url}")
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server) -> str:
    return f"nats://{nats_server.url}"


@pytest.fixture
def nats_cluster(tmp_path):
    require_nats()
    cluster = Cluster(tmp_path / "cluster")
    cluster.start()
    try:
        wait_ready(cluster.url, timeout=90)
        yield cluster
    finally:
        cluster.stop()
