"""`pip install .` (not editable) gives a working `sscc` that finds its grammars and schemas."""

import os
import shutil
import subprocess
import sys

from conftest import ROOT


def test_non_editable_install_works(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", str(src)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(src)  # the installed copy must not depend on the source tree
    example = os.path.join(ROOT, "examples", "split-sentence", "dataflow.yaml")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    sscc = str(venv / "bin" / "sscc")
    proc = subprocess.run([sscc, "check", example], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    where = subprocess.run([str(py), "-c", "import sscc; print(sscc.__file__)"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert str(venv) in where.stdout, "the venv's own copy must be imported, not the editable checkout"
    proc = subprocess.run([sscc, "ir", example, "--format", "mermaid"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("flowchart")
    # `sscc new` finds its templates (templates/new/) in the installed copy
    proc = subprocess.run([sscc, "new", "demo"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo" / "input" / "orders.txt").exists() and (tmp_path / "demo" / "Makefile").exists()
    proc = subprocess.run([sscc, "check", "--strict", "dataflow.yaml"], capture_output=True, text=True, cwd=tmp_path / "demo", env=env)
    assert proc.returncode == 0, proc.stderr
