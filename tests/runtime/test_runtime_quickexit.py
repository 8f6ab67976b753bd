"""quickexit.exit_now (how `python -m PROJECT` and a warm `sscc run` end): a real child process
each time, since the function ends the process. What must survive skipping the interpreter's
teardown: the exit code, buffered output, atexit handlers, a non-daemon thread's work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime_stub"


def _child(body: str) -> subprocess.CompletedProcess:
    script = f"import sys; sys.path.insert(0, {str(RUNTIME)!r})\nfrom sscc_runtime.quickexit import exit_now\n{body}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)


def test_code_buffered_output_and_atexit_handlers_survive():
    done = _child(
        "import atexit\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.stdout.write('no newline, still buffered')\n"
        "sys.stderr.write('on stderr')\n"
        "exit_now(3)\n"
        "print('never')\n"
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, still bufferedatexit ran\n"
    assert done.stderr == "on stderr"


def test_a_running_non_daemon_thread_is_waited_for():
    done = _child(
        "import threading, time\n"
        "def work():\n"
        "    time.sleep(0.2)\n"
        "    print('thread finished', flush=True)\n"
        "threading.Thread(target=work).start()\n"
        "exit_now(0)\n"
    )
    assert done.returncode == 0 and done.stdout == "thread finished\n"


def _into_closed_pipe(ending: str) -> tuple[int, bytes]:
    """(exit status, stderr) of a child whose buffered output meets a reader that went away
    (`| head`) before the child flushed it."""
    script = f"import os, sys; sys.path.insert(0, {str(RUNTIME)!r})\nfrom sscc_runtime.quickexit import exit_now\n"
    script += f"sys.stdout.write('x' * 100)\nsys.stdin.readline()\n{ending}\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    child.stdout.close()
    _, err = child.communicate(b"go\n", timeout=60)
    return child.returncode, err


def test_none_exits_0_and_output_into_a_closed_pipe_ends_as_sys_exit_does():
    assert _child("exit_now(None)").returncode == 0
    status, err = _into_closed_pipe("exit_now(0)")
    assert status != 0 and b"BrokenPipeError" in err
    assert status == _into_closed_pipe("sys.exit(0)")[0]
