"""The emitted project stands alone: `pip install .` into a venv that has wasmtime but no sscc,
then its commands run from another directory (package data found, nothing of sscc imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import wasmtime
from project_helpers import EXAMPLE, env, expected_words, need_toolchain, sscc


def _venv_with_only_wasmtime(root: Path) -> Path:
    """A venv without system site-packages; wasmtime (pure Python + its shared library) is made
    visible through a .pth file pointing at a directory holding just that package."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    only = root.parent / "only-wasmtime"
    only.mkdir()
    (only / "wasmtime").symlink_to(Path(wasmtime.__file__).parent)
    py = root / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    Path(site, "only_wasmtime.pth").write_text(str(only) + "\n")
    return py


def test_pip_install_and_run_without_sscc(tmp_path):
    need_toolchain()
    out = tmp_path / "project"
    sscc("compile", EXAMPLE, "-o", out, check=True)
    py = _venv_with_only_wasmtime(tmp_path / "venv")
    child_env = env()
    assert subprocess.run([str(py), "-c", "import sscc"], capture_output=True, env=child_env).returncode != 0
    # Build the wheel with this interpreter's setuptools (the venv's bundled one predates
    # built-in bdist_wheel), install it into the sscc-free venv.
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(out)],
        capture_output=True,
        text=True,
        env=child_env,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("split_sentence-0.1.0-*.whl")
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        env=child_env,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"
    work.mkdir()
    lines = ["Hello World", "  The quick  brown fox  ", "", "Grüße aus Köln"]

    def run(*args, input=None):
        proc = subprocess.run(
            [str(py), "-m", "split_sentence", *args], cwd=work, input=input, capture_output=True, text=True, env=child_env
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        return proc

    run("topic", "produce", "sentences", input="\n".join(lines) + "\n")
    run("run", "--until-idle")
    words = run("topic", "consume", "words", "--from-beginning", "--until-idle").stdout.splitlines()
    assert words == expected_words(lines)
    assert (work / ".sscc" / "store.db").is_file(), "the default store is ./.sscc"
    # The console script is the same program.
    script = tmp_path / "venv" / "bin" / "split-sentence"
    listing = subprocess.run([str(script), "topic", "list"], cwd=work, capture_output=True, text=True, env=child_env)
    assert listing.returncode == 0, listing.stderr
    assert "words" in listing.stdout
    where = subprocess.run(
        [str(py), "-c", "import split_sentence, os; print(split_sentence.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        env=child_env,
    ).stdout
    assert str(tmp_path / "venv") in where, "the installed copy ran, not the build directory"
    assert os.path.isdir(out), "(the build directory was only the pip source)"


def test_a_non_editable_sscc_compiles_the_same_project(tmp_path):
    """Templates and the runtime are found with importlib.resources inside an installed wheel."""
    need_toolchain()
    root = Path(__file__).resolve().parents[2]
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(root)],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("sscc-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr
    where = subprocess.run(
        [str(py), "-c", "import sscc; print(sscc.__file__)"], capture_output=True, text=True, cwd=tmp_path, env=env()
    )
    assert str(venv) in where.stdout, "the wheel's copy is imported, not the editable checkout"
    installed = subprocess.run(
        [str(venv / "bin" / "sscc"), "compile", str(EXAMPLE), "-o", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env(),
    )
    assert installed.returncode == 0, installed.stderr
    sscc("compile", EXAMPLE, "-o", tmp_path / "b", check=True)
    from project_helpers import tree

    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    listing = subprocess.run(
        [str(venv / "bin" / "sscc"), "topic", "list", "--store", str(tmp_path / "s")], capture_output=True, text=True, env=env()
    )
    assert listing.returncode == 0, listing.stderr
