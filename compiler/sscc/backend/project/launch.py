"""Running a cached project's command line inside the `sscc` process.

`sscc run` used to `execve` a second Python for the compiled project: two interpreter start-ups,
and the project's runtime and wasmtime imported after sscc's own modules. Now the project's
package is imported from its cache directory and its `main(argv)` (pipeline.py, the same function
`python -m PROJECT` calls) runs here: same parser, same output, same exit code. The runtime never
imports the compiler, so nothing of sscc leaks into the run; sscc only picks the directory.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Optional


def taken(project_dir: Path, package: str) -> bool:
    """Whether a module named `package` other than the project's is loaded in this process."""
    loaded = sys.modules.get(package)
    if loaded is None:
        return False
    return os.path.dirname(os.path.dirname(getattr(loaded, "__file__", None) or "")) != str(project_dir)


def load(project_dir: Path, package: str) -> Optional[ModuleType]:
    """The project's `pipeline` module imported from `project_dir`, or None when it cannot be
    imported here: a module of that name is loaded already (`taken`: sscc's own imports), or the
    import fails (a damaged cache entry; the modules it left half-imported are dropped again)."""
    where = str(project_dir)
    if package in sys.modules:  # by an earlier attempt of this run, or someone else's (taken)
        return None if taken(project_dir, package) else sys.modules.get(f"{package}.pipeline")
    sys.path.insert(0, where)
    importlib.invalidate_caches()  # the directory may have been (re)written by this process
    try:
        return importlib.import_module(f"{package}.pipeline")
    except Exception:  # noqa: BLE001 - any failure means "not here"; the caller compiles again
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.path.remove(where)
        return None


def parse(pipeline: ModuleType, argv: list[str]) -> Optional[argparse.Namespace]:
    """`argv` parsed by the project's own parser, or None (printing nothing) when it rejects
    them: a flag it does not know, or a bad value, sends `sscc run` to its full command line,
    which explains the error."""
    app = sys.modules[pipeline.__package__ + ".sscc_runtime.app"]
    sink = io.StringIO()
    try:
        with redirect_stdout(sink), redirect_stderr(sink):
            return app._parser(pipeline.PROJECT, None, run_only=argv[:1] == ["run"]).parse_args(argv)
    except SystemExit:
        return None
    except Exception:  # noqa: BLE001 - a project of another shape: not for the fast path
        return None


def run(project_dir: Path, pipeline: ModuleType, argv: list[str], args: Optional[argparse.Namespace] = None) -> int:
    """Run the project's command line (`args`: `argv` already parsed by `parse`); its exit code."""
    # What the exec'd project saw: its directory on PYTHONPATH (for any process it starts).
    os.environ["PYTHONPATH"] = os.pathsep.join([str(project_dir), *filter(None, [os.environ.get("PYTHONPATH")])])
    sys.stdout.flush()
    sys.stderr.flush()
    if args is None:
        return pipeline.main(argv)
    app = sys.modules[pipeline.__package__ + ".sscc_runtime.app"]
    return app.main(argv, project=pipeline.PROJECT, args=args)  # what pipeline.main(argv) does
