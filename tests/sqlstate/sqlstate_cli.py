"""Shared by the tests of tests/sqlstate/ (imported, not a conftest): driving `sscc` in
subprocesses over a real store, and a plain-Python reference of `word_stats_sql.yaml`.

Every helper runs the real command line (`sscc topic produce|consume`, `sscc run --until-idle`,
`sscc state show`, `sscc sql`); nothing is mocked. A command that fails, or prints a traceback,
fails the test with its stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PIPELINE = HERE / "word_stats_sql.yaml"
TIMEOUT = 900  # a cold build of the two crates takes a few minutes on the shared machine

sys.path.insert(0, str(ROOT / "tests" / "backend_project"))
# One toolchain check and one copy-and-clean of a pipeline for every CLI test (re-exported here).
from project_helpers import copy_pipeline, need_toolchain, pipeline_copy, remove_run_cache  # noqa: E402, F401


def run_cli(*args, input: str | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    """`sscc ARGS` in a subprocess (no inherited store); with `ok`, it must exit 0."""
    env = {k: v for k, v in os.environ.items() if k not in ("SSCC_STORE", "PYTHONPATH", "SSCC_DEBUG")}
    proc = subprocess.run(
        [sys.executable, "-m", "sscc", *map(str, args)],
        input=input, capture_output=True, text=True, env=env, timeout=TIMEOUT,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    if ok:
        assert (
            proc.returncode == 0
        ), f"sscc {' '.join(map(str, args))} exited {proc.returncode}\n{proc.stderr[-4000:]}"
    return proc


def produce(store: Path, topic: str, lines: list[str]) -> None:
    if lines:
        run_cli("topic", "produce", topic, "--store", store, input="\n".join(lines) + "\n")


def run(pipeline: Path, store: Path) -> None:
    run_cli("run", pipeline, "--store", store, "--until-idle", "--quiet")


def consume(store: Path, topic: str) -> list[str]:
    out = run_cli("topic", "consume", topic, "--store", store, "--from-beginning", "--until-idle").stdout
    return out.splitlines()


def dead_letters(store: Path, service: str) -> list[dict]:
    return [json.loads(line) for line in consume(store, f"{service}.dead-letters")]


def state_show(store: Path, state: str) -> dict[str, object]:
    """`sscc state show STATE` as {key: parsed JSON value}."""
    lines = run_cli("state", "show", state, "--store", store).stdout.splitlines()
    assert lines[0].split() == ["KEY", "VALUE"], lines
    out = {}
    for line in lines[1:]:
        key, _, value = line.partition("  ")
        out[key] = json.loads(value.strip())
    return out


def sql_rows(store: Path, query: str) -> list[dict]:
    """`sscc sql QUERY --json`: one object per row."""
    out = run_cli("sql", query, "--store", store, "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ------------------------------------------------------------------ the reference of word_stats_sql.yaml


@dataclass
class Tally:
    """What `tally` must hold after a sequence of sentences, computed from the pipeline's
    definition: words split on whitespace; key = the word without leading `~`, lowercased; `~w`
    deletes w's row (not its `seen` count); `boom` panics after `update()` — the whole chain
    split -> key -> update is one stage, so the panic costs the sentence: none of its words count
    and it is one dead letter."""

    rows: dict[str, dict] = field(default_factory=dict)
    seen: Counter = field(default_factory=Counter)
    dead: list[int] = field(default_factory=list)  # source offsets
    offset: int = 0

    def feed(self, sentences: list[str]) -> "Tally":
        for sentence in sentences:
            words = sentence.split(" ")
            words = [w for w in words if w]
            if "boom" in words:
                self.dead.append(self.offset)
            else:
                for word in words:
                    self._word(word)
            self.offset += 1
        return self

    def _word(self, word: str) -> None:
        key = word.lstrip("~").lower()
        if word.startswith("~"):
            self.rows.pop(key, None)
            return
        row = self.rows.setdefault(key, {"count": 0, "last-word": "", "mean-len": 0.0})
        row["count"] += 1
        n = float(row["count"])
        row["mean-len"] = (row["mean-len"] * (n - 1.0) + len(word)) / n
        row["last-word"] = word
        self.seen[key] += 1


@pytest.fixture
def pipeline(tmp_path):
    """A copy of word_stats_sql.yaml in the test's directory; its run cache is removed after."""
    yield from pipeline_copy(tmp_path, PIPELINE)
