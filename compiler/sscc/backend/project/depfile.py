"""`--depfile F`: a Make rule saying which outputs depend on which input files.

    DIR/plan.json DIR/README.md ...: dataflow.yaml /abs/pkg/sdf-package.yaml

    dataflow.yaml:

Paths under the current directory are written relative to it, others absolute; spaces are
escaped with a backslash and `$` doubled, as Make reads them.
"""

from __future__ import annotations

import os
from pathlib import Path


def _make_path(path: str) -> str:
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute)
    shown = rel if not rel.startswith("..") else absolute
    return shown.replace("$", "$$").replace(" ", "\\ ").replace("#", "\\#")


def rule(out_dir: str, outputs: list[str], inputs: list[str]) -> str:
    """Targets: plan.json first, then every other produced file; prerequisites: the inputs."""
    targets = [os.path.join(out_dir, p) for p in outputs]
    deps = " \\\n  ".join(_make_path(p) for p in inputs)
    # An empty rule per input (like `gcc -MP`), so deleting an input does not break Make.
    phony = "".join(f"\n{_make_path(p)}:\n" for p in inputs)
    return f"{' '.join(_make_path(t) for t in targets)}: \\\n  {deps}\n{phony}"


def write(depfile: str, out_dir: str, outputs: list[str], inputs: list[str]) -> None:
    path = Path(depfile)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rule(out_dir, outputs, inputs), encoding="utf-8")
