"""Ending a finished command without the interpreter's teardown.

After a run, Python's own exit collects every module's objects (wasmtime's ctypes bindings, the
engine and its stores among them): ~20 ms of a start-up that aims at 150 ms, doing nothing a
finished command needs, since the run has closed its store. `exit_now` runs the atexit handlers,
flushes stdout and stderr, and leaves with `os._exit`. `python -m PROJECT` (the project's
__main__.py) and a warm `sscc run` (sscc's fastrun.py) end this way.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_now(code: int | None) -> None:
    """Exit with `code`; the ordinary `sys.exit` when a non-daemon thread is still running, output
    cannot be flushed (a closed pipe: Python reports it as usual), or a profiler, tracer or
    coverage tool is watching (`python -m cProfile` writes its results after SystemExit)."""
    code = 0 if code is None else code
    if not isinstance(code, int) or sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code & 0xFF)
