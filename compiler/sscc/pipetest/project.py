"""The pipeline under test, compiled into `sscc run`'s project cache and imported here.

A case then runs the project's own `run --until-idle` in this process (launch.py), as `sscc run`
does: no interpreter start-up and no module compile per case (about 0.05 s a case against 0.5 s
for a `sscc run` subprocess, docs/testing.md). When the project's package name is taken in this
process (two test files of pipelines with one name), the run goes to a subprocess instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace

from ..diagnostics import Diagnostic, SourceCache


@dataclass
class Prepared:
    """A compiled pipeline: where its project is, its topics, and how to run it."""

    file: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    ok: bool = False
    project_dir: Path | None = None
    package: str | None = None
    pipeline: ModuleType | None = None  # imported in this process, or None: run in a subprocess
    topics: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (store name, partitions)
    dead_letters: dict[str, str] = field(default_factory=dict)  # dead-letter topic -> service

    def store_name(self, topic: str) -> str:
        return self.topics.get(topic, (topic, 1))[0]

    def partitions(self, topic: str) -> int:
        return self.topics.get(topic, (topic, 1))[1]

    def known_topics(self) -> list[str]:
        return sorted(set(self.topics) | set(self.dead_letters))

    def run(self, store: Path, args: list[str]) -> int:
        """`run --store STORE --until-idle ARGS` of the project; its exit code."""
        argv = ["run", "--store", str(store), "--until-idle", *args]
        if self.pipeline is not None:
            from ..backend.project import launch

            saved = os.environ.get("PYTHONPATH")
            try:
                return launch.run(self.project_dir, self.pipeline, argv)
            finally:  # launch.run prepends the project for processes it starts; once is enough
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.project_dir), *filter(None, [env.get("PYTHONPATH")])])
        return subprocess.run([sys.executable, "-m", self.package, *argv], env=env).returncode


def prepare(file: str, sources: SourceCache, optimize: bool = True) -> Prepared:
    """Compile `file` (or reuse the cached compile) and load its project."""
    from ..backend.project import launch
    from ..backend.project.cache import compiled_project

    options = SimpleNamespace(strict=False, disabled_passes=frozenset(), optimize=optimize, mode="compile")
    out = Prepared(file)
    project_dir, package, result = compiled_project(file, options, sources)
    if result is not None:
        out.diagnostics = result.fe.diags.sorted()
        if not result.ok or result.fe.kind != "dataflow":
            return out
    if package is None:
        return out
    pipeline = launch.load(project_dir, package)
    if pipeline is None and not launch.taken(project_dir, package):
        project_dir, package, result = compiled_project(file, options, sources, force=True)
        if result is not None:
            out.diagnostics = result.fe.diags.sorted()
            if not result.ok:
                return out
        pipeline = launch.load(project_dir, package)
    out.project_dir, out.package, out.pipeline, out.ok = project_dir, package, pipeline, True
    description = json.loads((project_dir / package / "services.json").read_text(encoding="utf-8"))
    for svc in description["services"]:
        full = svc.get("dead_letters") or f"{svc['name']}.dead-letters"
        out.dead_letters[full] = svc["name"]
        # A test names it by the service's own name: `count-words.dead-letters` for the store's
        # `namespace.pipeline.count-words.dead-letters` (runtime names.py).
        from ..runtime_stub.sscc_runtime.names import title

        short = f"{title(svc['name'])}.dead-letters"
        if short != full and short not in out.topics:
            out.dead_letters[short] = svc["name"]
            out.topics[short] = (full, 1)
    out.topics = _topics(project_dir / package / "pipeline.py", pipeline)
    return out


def _topics(wiring: Path, pipeline: ModuleType | None) -> dict[str, tuple[str, int]]:
    if pipeline is not None:
        return {t.id: (t.name, t.partitions) for t in pipeline.PROJECT.topics}
    # Not importable here: read the TopicInfo lines of the wiring (black-formatted, one per line).
    import re

    found = re.findall(r'TopicInfo\(id="([^"]*)", name="([^"]*)", partitions=(\d+)\)', wiring.read_text(encoding="utf-8"))
    return {i: (n, int(p)) for i, n, p in found}
