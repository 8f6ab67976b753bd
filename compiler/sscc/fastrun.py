"""The `sscc` entry point: a warm `sscc run FILE ...` runs before click or the front end loads.

For `sscc run FILE [OPTIONS]` whose cached project is current (cache.warm_project: the stamp, a
stat of the files it lists, a hash of the pipeline and its imports), the project's own `run` runs
in this process with OPTIONS minus the compile options (-O0, --no-pass, --strict), exactly as
`sscc run` passes them on: `sscc run`'s other flags are the project's `run` flags. This start-up
imports json and the project's runtime; no click, no compiler, no hashlib (OpenSSL). It ends
with `os._exit` after the atexit handlers (`exit_now`), skipping the interpreter's teardown.

Everything else goes to the click command line (cli.py), unchanged: another command, FILE not
first, a stale or missing cache (compiled there, then run in-process the same way), a flag the
project's `run` rejects (click explains it), or SSCC_NO_FAST_RUN=1 in the environment.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace
from typing import Optional


def main(prog_name: Optional[str] = None) -> None:
    args = sys.argv[1:]
    if args[:1] == ["run"] and not os.environ.get("SSCC_NO_FAST_RUN"):
        code = warm_run(args[1:])
        if code is not None:
            exit_now(code)
    from .cli import main as cli_main

    cli_main(prog_name=prog_name)


def split_run_args(args: list[str]) -> Optional[tuple[str, SimpleNamespace, list[str]]]:
    """(FILE, compile options, the project's `run` arguments) of `run FILE [OPTIONS]`, or None
    for a command line only click should read."""
    if not args or args[0].startswith("-"):
        return None
    file, rest = args[0], []
    strict = no_opt = False
    no_pass: list[str] = []
    i = 1
    while i < len(args):
        arg = args[i]
        if arg == "-O0":
            no_opt = True
        elif arg == "--strict":
            strict = True
        elif arg == "--no-pass":
            if i + 1 == len(args):
                return None
            no_pass.append(args[i + 1])
            i += 1
        elif arg.startswith("--no-pass="):
            no_pass.append(arg.partition("=")[2])
        elif arg == "--":
            return None
        else:
            rest.append(arg)
        i += 1
    options = SimpleNamespace(strict=strict, disabled_passes=frozenset(no_pass), optimize=not no_opt)
    return file, options, rest


def warm_run(args: list[str]) -> Optional[int]:
    """The exit code of the cached project's run, or None when this command line is not for the
    fast path (nothing has run then, nothing was printed)."""
    split = split_run_args(args)
    if split is None:
        return None
    file, options, rest = split
    cache, launch = _warm_modules()

    warm = cache.warm_project(file, options)
    if warm is None:
        return None
    project_dir, package = warm
    pipeline = launch.load(project_dir, package)
    argv = ["run", *rest]
    parsed = launch.parse(pipeline, argv) if pipeline is not None else None
    if parsed is None:
        return None
    return launch.run(project_dir, pipeline, argv, parsed)


def _warm_modules():
    """cache.py and launch.py (and what they import of sscc), with their bytecode written even
    under PYTHONDONTWRITEBYTECODE, as it is for the cached project: an editable install would
    otherwise compile their sources on every run (~5 ms). A pip-installed sscc has it already."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        from .backend.project import cache, launch
    finally:
        sys.dont_write_bytecode = before
    cached = getattr(__spec__, "cached", None)  # this module's own, imported before we could act
    if before and cached and not os.path.exists(cached):
        import py_compile

        try:
            py_compile.compile(__file__, cfile=cached, doraise=True)
        except (OSError, py_compile.PyCompileError):
            pass  # a read-only installation: compiled from source, as before
    return cache, launch


def exit_now(code: int) -> None:
    """End the process as the project's own `python -m PROJECT` does (sscc_runtime/quickexit.py:
    atexit handlers, flushed output, `os._exit`; the interpreter's teardown was ~20 ms)."""
    try:
        from .runtime_stub.sscc_runtime.quickexit import exit_now as leave
    except ImportError:  # an installation without the runtime as a package: exit as usual
        sys.exit(code)
    leave(code)
