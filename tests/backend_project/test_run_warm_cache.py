"""A warm `sscc run` (fastrun.py: the cached project runs in-process before click loads) does what
the full command line does, and the cache it trusts is invalidated by everything that matters:
the pipeline file, a file it imports, sscc's own sources, a damaged cache entry.

Real compiles, real wasm, real stores; the fast path is told apart from the full command line by
what it imported (no click, no front end), never by timing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from project_helpers import ROOT, copy_example, env, expected_words, need_toolchain, remove_run_cache, sscc

SAMPLE = ROOT / "examples" / "split-sentence" / "input" / "sentences.txt"
LINES = SAMPLE.read_text(encoding="utf-8").splitlines()
OPTIONS = SimpleNamespace(strict=False, disabled_passes=frozenset(), optimize=True)

# Runs only the fast path; prints its exit code (None: not taken) and what it had to import.
FAST_ONLY = (
    "import sys; from sscc import fastrun; code = fastrun.warm_run(sys.argv[1:]); "
    "print('FAST', code, 'click' in sys.modules, 'sscc.driver' in sys.modules)"
)


def fast_only(*args) -> tuple[str, bool, bool]:
    proc = subprocess.run([sys.executable, "-c", FAST_ONLY, *map(str, args)], capture_output=True, text=True, env=env())
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[0] == "FAST", proc.stdout + proc.stderr
    return last[1], last[2] == "True", last[3] == "True"


@pytest.fixture
def pipeline(tmp_path):
    need_toolchain()
    path = copy_example(tmp_path / "src")
    yield path
    remove_run_cache(path)


def _produce(store: Path) -> None:
    sscc("topic", "produce", "sentences", "--store", store, "--file", SAMPLE, check=True)


def _words(store: Path) -> list[str]:
    return sscc("topic", "consume", "words", "--store", store, "--from-beginning", "--until-idle", check=True).stdout.splitlines()


def _timeless(text: str) -> str:
    """A progress summary without its clock readings (seconds, rates)."""
    return re.sub(r"[\d,]+(\.\d+)?(s\b| rec/s)", "N", text)


def _is_warm(path: Path) -> bool:
    from sscc.backend.project import cache

    cache._sscc_hash.cache_clear()
    return cache.warm_project(str(path), OPTIONS) is not None


def test_the_fast_path_matches_the_full_command_line(pipeline, tmp_path):
    sscc("run", pipeline, "--store", tmp_path / "first", "--until-idle", "--quiet", check=True)  # compiles
    assert _is_warm(pipeline)
    results = {}
    for name, extra in (("fast", {}), ("full", {"SSCC_NO_FAST_RUN": "1"})):
        store = tmp_path / name
        _produce(store)
        proc = sscc("run", pipeline, "--store", store, "--until-idle", **extra)
        again = sscc("run", pipeline, "--store", store, "--until-idle", "--quiet", "--batch-records", "2", **extra)
        bad_value = sscc("run", pipeline, "--store", store, "--until-idle", "--batch-records", "0", **extra)
        (tmp_path / f"{name}-file").write_text("not a directory")
        bad_store = sscc("run", pipeline, "--store", tmp_path / f"{name}-file", "--until-idle", **extra)
        results[name] = [
            (proc.returncode, proc.stdout, _timeless(proc.stderr)),
            (again.returncode, again.stdout, again.stderr),
            (bad_value.returncode, bad_value.stdout, bad_value.stderr),
            (bad_store.returncode, bad_store.stdout, bad_store.stderr.replace(str(tmp_path / f"{name}-file"), "FILE")),
            _words(store),
        ]
    assert results["fast"] == results["full"]
    ok, again, bad_value, bad_store, words = results["fast"]
    assert ok[0] == 0 and "done after" in ok[2] and again[0] == 0
    assert bad_value[0] == 2 and "Traceback" not in bad_value[2]
    assert bad_store[0] == 1 and bad_store[2].startswith("error: ")
    assert words == expected_words(LINES)
    # and the fast run really was the fast path: no click, no front end in that process
    code, click, front_end = fast_only(pipeline, "--store", tmp_path / "fast", "--until-idle", "--quiet")
    assert (code, click, front_end) == ("0", False, False)


def test_a_flag_the_project_does_not_know_goes_to_the_full_command_line(pipeline, tmp_path):
    sscc("run", pipeline, "--store", tmp_path / "s", "--until-idle", "--quiet", check=True)
    assert fast_only(pipeline, "--store", tmp_path / "s", "--until-idle", "--quiet")[0] == "0"
    assert fast_only(pipeline, "--store", tmp_path / "s", "--until-idle", "--no-such-flag")[0] == "None"
    assert fast_only(pipeline, "--until-idle", "--help")[0] == "None"
    assert fast_only("--store", tmp_path / "s", pipeline)[0] == "None"  # FILE not first
    proc = sscc("run", pipeline, "--store", tmp_path / "s", "--until-idle", "--no-such-flag")
    assert proc.returncode == 2 and "No such option '--no-such-flag'" in proc.stderr  # click's message


def test_an_edited_pipeline_is_compiled_again(pipeline, tmp_path):
    sscc("run", pipeline, "--store", tmp_path / "a", "--until-idle", "--quiet", check=True)
    assert _is_warm(pipeline)
    pipeline.write_text(pipeline.read_text().replace("to_lowercase()", "to_uppercase()"))
    assert not _is_warm(pipeline)
    assert fast_only(pipeline, "--store", tmp_path / "b", "--until-idle")[0] == "None"
    _produce(tmp_path / "b")
    sscc("run", pipeline, "--store", tmp_path / "b", "--until-idle", "--quiet", check=True)
    assert _words(tmp_path / "b") == [w.upper() for w in expected_words(LINES)]
    assert _is_warm(pipeline)


def test_an_edited_import_is_compiled_again(tmp_path):
    need_toolchain()
    pkg = tmp_path / "pkg" / "sdf-package.yaml"
    pkg.parent.mkdir()
    pkg.write_text(
        "apiVersion: 0.6.0\nmeta: {name: greet-types, version: 0.1.0, namespace: test}\n"
        "types:\n  greeting:\n    type: object\n    properties:\n      name: {type: string}\n"
    )
    path = tmp_path / "dataflow.yaml"
    path.write_text(
        "apiVersion: 0.6.0\nmeta: {name: greeter, version: 0.1.0, namespace: test}\n"
        "imports:\n  - pkg: test/greet-types@0.1.0\n    path: ./pkg\n    types: [{name: greeting}]\n"
        "config: {converter: json}\n"
        "topics:\n  names: {schema: {value: {type: string}}}\n  greetings: {schema: {value: {type: greeting}}}\n"
        "services:\n  greet:\n    sources: [{type: topic, id: names}]\n    transforms:\n"
        "      - operator: map\n        run: |\n          fn greet(name: String) -> Result<Greeting> {\n"
        '            Ok(Greeting { name: format!("hello {}", name) })\n          }\n'
        "    sinks: [{type: topic, id: greetings}]\n"
    )
    try:
        sscc("run", path, "--store", tmp_path / "s", "--until-idle", "--quiet", check=True)
        assert _is_warm(path)
        pkg.write_text(pkg.read_text().replace("name: {type: string}", "name: {type: string}\n      # edited"))
        assert not _is_warm(path)
        sscc("run", path, "--store", tmp_path / "s", "--until-idle", "--quiet", check=True)
        assert _is_warm(path)
    finally:
        remove_run_cache(path)


def test_an_edited_sscc_source_is_compiled_again(pipeline, tmp_path, monkeypatch):
    """sscc's identity over a copy of its sources (the real ones stay untouched): editing one
    file of the copy makes the cached project stale, and the next compile is current again."""
    from sscc.backend.project import cache, identity
    from sscc.diagnostics import SourceCache

    copies = []
    for root in identity.source_roots():
        copy = tmp_path / "sources" / root.name
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__", "target"))
        copies.append(copy)
    monkeypatch.setattr(identity, "source_roots", lambda: copies)
    cache._sscc_hash.cache_clear()
    try:
        _, package, _ = cache.compiled_project(str(pipeline), OPTIONS, SourceCache())
        assert package and cache.warm_project(str(pipeline), OPTIONS) is not None
        runtime = tmp_path / "sources" / "runtime_stub" / "sscc_runtime" / "loop.py"
        runtime.write_text(runtime.read_text() + "\n# edited\n")
        cache._sscc_hash.cache_clear()
        assert cache.warm_project(str(pipeline), OPTIONS) is None
        _, _, compiled = cache.compiled_project(str(pipeline), OPTIONS, SourceCache())
        assert compiled is not None and compiled.ok  # it compiled, not reused
        assert cache.warm_project(str(pipeline), OPTIONS) is not None
    finally:
        cache._sscc_hash.cache_clear()


def _damage_stamp(project: Path, package: str) -> None:
    (project / ".sscc-stamp").write_text('{"inputs": [')


def _truncate_description(project: Path, package: str) -> None:
    services = project / package / "services.json"
    services.write_bytes(services.read_bytes()[:40])


def _delete_module(project: Path, package: str) -> None:
    next((project / package / "wasm").glob("*.wasm")).unlink()


def _garble_wiring_keeping_size_and_mtime(project: Path, package: str) -> None:
    """What a stat cannot see: the stamp still matches, the import fails."""
    wiring = project / package / "pipeline.py"
    st = wiring.stat()
    wiring.write_bytes(b"(" * st.st_size)
    shutil.rmtree(project / package / "__pycache__", ignore_errors=True)
    os.utime(wiring, ns=(st.st_atime_ns, st.st_mtime_ns))


def _garble_precompiled_modules(project: Path, package: str) -> None:
    for artifact in (project / package / "wasm").glob("__wasmcache__/*.cwasm"):
        artifact.write_bytes(b"\x7fELF" + b"\0" * 100)


@pytest.mark.parametrize(
    "damage",
    [_damage_stamp, _truncate_description, _delete_module, _garble_wiring_keeping_size_and_mtime, _garble_precompiled_modules],
)
def test_a_damaged_cache_entry_is_compiled_again(pipeline, tmp_path, damage):
    from sscc.backend.project import cache

    sscc("run", pipeline, "--store", tmp_path / "first", "--until-idle", "--quiet", check=True)
    project, package = cache.warm_project(str(pipeline), OPTIONS)
    damage(project, package)
    store = tmp_path / "store"
    _produce(store)
    proc = sscc("run", pipeline, "--store", store, "--until-idle", "--quiet")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert _words(store) == expected_words(LINES)
    assert _is_warm(pipeline)




def test_a_project_named_like_a_module_sscc_imports_runs_in_its_own_process(tmp_path):
    """The full command line has imported click; a pipeline whose package is `click` then runs in
    a new process (execve), from the cache, without compiling it again every time."""
    from sscc.backend.project import cache

    need_toolchain()
    path = copy_example(tmp_path / "src", lambda text: text.replace("name: split-sentence", "name: click", 1))
    try:
        stamps = []
        for store in ("a", "b"):
            _produce(tmp_path / store)
            proc = sscc("run", path, "--store", tmp_path / store, "--until-idle", "--quiet", SSCC_NO_FAST_RUN="1")
            assert proc.returncode == 0, proc.stderr
            assert _words(tmp_path / store) == expected_words(LINES)
            project, package = cache.warm_project(str(path), OPTIONS)
            stamps.append((project / cache.STAMP).stat().st_mtime_ns)
        assert package == "click"
        assert stamps[0] == stamps[1], "the second run compiled again"
    finally:
        remove_run_cache(path)
