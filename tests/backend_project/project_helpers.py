"""Shared by the backend_project tests and tests/test_cli_run.py (imported, not a conftest).

Everything goes through the real command line in subprocesses: `sscc compile|run|topic` and
the emitted project's `python -m <pkg> ...`, over a real store and real compiled wasm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "split-sentence" / "dataflow.yaml"
UNRUNNABLE = Path(__file__).resolve().parent / "unrunnable.yaml"  # an inline Python step: E220

# Runs a module of an emitted project with sscc made unimportable, so a project that leans on
# the compiler in any way fails loudly. argv: [module, *args].
NO_SSCC = (
    "import runpy, sys; sys.modules['sscc'] = None; mod = sys.argv[1]; "
    "sys.argv = [mod] + sys.argv[2:]; runpy.run_module(mod, run_name='__main__', alter_sys=True)"
)


def need_toolchain() -> None:
    from sscc.backend.rust import toolchain

    found = toolchain.find()
    if isinstance(found, str):
        pytest.skip(found)


def env(**extra: str) -> dict:
    """The environment of a child: no inherited store or PYTHONPATH, plus `extra`."""
    out = {k: v for k, v in os.environ.items() if k not in ("SSCC_STORE", "PYTHONPATH", "SSCC_DEBUG")}
    out.update(extra)
    return out


def sscc(*args, cwd=None, input=None, check=False, **extra_env) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "sscc", *map(str, args)],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=env(**extra_env),
    )
    if check:
        assert proc.returncode == 0, f"sscc {args} exited {proc.returncode}\n{proc.stderr}"
    return proc


def project(
    project_dir: Path, package: str, *args, cwd=None, input=None, check=False, **extra_env
) -> subprocess.CompletedProcess:
    """`python -m <package> ARGS` of an emitted project, with sscc unimportable."""
    proc = subprocess.run(
        [sys.executable, "-c", NO_SSCC, package, *map(str, args)],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        env=env(PYTHONPATH=str(project_dir), **extra_env),
    )
    if check:
        assert proc.returncode == 0, f"{package} {args} exited {proc.returncode}\n{proc.stderr}"
    return proc


def tree(directory: Path) -> dict[str, bytes]:
    """Every file below `directory` (relative posix path -> bytes), caches left out."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def copy_example(dest: Path, text_edit=None) -> Path:
    """The split-sentence pipeline copied to dest/dataflow.yaml (optionally edited)."""
    dest.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text()
    if text_edit:
        text = text_edit(text)
    path = dest / "dataflow.yaml"
    path.write_text(text)
    return path


def expected_words(lines: list[str]) -> list[str]:
    """What split-sentence should output, computed here from its definition (trim, lowercase,
    drop empty, split on whitespace), not from sscc's output."""
    return [w for line in lines for w in line.strip().lower().split()]


def copy_pipeline(tmp_path: Path, source: Path, name: str | None = None) -> Path:
    """A private copy of `source` under tmp_path/src (as `name`, else its own name): `sscc run`
    keeps its compiled project next to nothing shared with other tests (the wasm build cache is
    shared, so the crates build once)."""
    source = Path(source)
    path = tmp_path / "src" / (name or source.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, path)
    return path


def pipeline_copy(tmp_path: Path, source: Path, name: str | None = None):
    """The body of a `pipeline` fixture: skip without the toolchain, yield a private copy of
    `source`, remove its run cache afterwards (`yield from pipeline_copy(...)`)."""
    need_toolchain()
    path = copy_pipeline(tmp_path, source, name)
    yield path
    remove_run_cache(path)


def remove_run_cache(pipeline: Path, *options: str) -> None:
    """Drop the `sscc run` project cache directory of a test's pipeline copy."""
    from sscc.backend.project.cache import project_dir
    from sscc.driver import Options

    opts = Options(mode="compile", optimize="-O0" not in options, strict="--strict" in options)
    shutil.rmtree(project_dir(str(pipeline), opts), ignore_errors=True)
