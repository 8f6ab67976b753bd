"""A pipeline running with `sscc run --ui` (or `--metrics`) on a free port, for tests/ui/.

`Running` starts the real command line on a fresh store (port 0: the run picks a free port and
prints `ui: URL`), produces input with the real `sscc topic produce` into the running pipeline,
and stops it with SIGTERM, returning the run's own summary line. `poll` waits for a condition
on what the server answers; a test never asserts on timing, only on values, and fails with the
last answer when the condition never holds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "examples"))

from example_cli import EXAMPLES, require_toolchain, sscc  # noqa: E402

WAIT_S = 600  # an upper bound for a cold compile of the example, never a measured time


def require_web_stack() -> None:
    for module in ("starlette", "uvicorn", "prometheus_client", "httpx"):
        pytest.importorskip(module, reason=f"{module} is missing: pip install -e '.[test]'")


class Running:
    def __init__(self, example: str, store: Path, *flags: str):
        require_toolchain()
        require_web_stack()
        self.dir = EXAMPLES / example
        self.store = store
        self.log = store.parent / f"{store.name}-run.log"
        store.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log, "w")
        self.proc = subprocess.Popen(
            ["sscc", "run", "dataflow.yaml", "--store", str(store), *flags],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self.url = self._wait_url()

    def _wait_url(self) -> str:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            text = self.log.read_text()
            found = re.search(r"^(?:ui|metrics): (http://\S+)$", text, re.M)
            if found:
                return found.group(1).removesuffix("/").removesuffix("/metrics")
            if self.proc.poll() is not None:
                pytest.fail(f"sscc run exited {self.proc.returncode} before serving:\n{text[-3000:]}")
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"sscc run printed no URL:\n{self.log.read_text()[-3000:]}")

    def produce(self, topic: str, lines: list[str]) -> None:
        sscc("topic", "produce", topic, "--store", str(self.store), stdin="".join(l + "\n" for l in lines), cwd=self.dir)

    def stop(self) -> str:
        """SIGTERM; the run's stderr (its summary line last)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("sscc run did not stop on SIGTERM")
        self._log.close()
        text = self.log.read_text()
        assert "Traceback" not in text, text
        return text

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def poll(fetch, until, what: str):
    """fetch() until until(value); the value, or a failure showing the last one."""
    deadline = time.monotonic() + WAIT_S
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if until(value):
            return value
        time.sleep(0.3)
    pytest.fail(f"never saw {what}; last: {value!r}"[:4000])


def metrics(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text -> {(name, frozenset of label pairs): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        found = re.match(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$', line)
        assert found, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
        out[(found.group(1), labels)] = float(found.group(3))
    return out


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def summary(stderr: str) -> dict[str, int]:
    """The counts of the run's final summary line (`NAME: stopped by SIGTERM after ...: in N  out N  dead N`)."""
    line = [l for l in stderr.splitlines() if ": stopped by " in l or ": done after " in l][-1]
    return {k: int(v.replace(",", "")) for k, v in re.findall(r"\b(in|out|dead|lag) ([\d,]+)", line)}
