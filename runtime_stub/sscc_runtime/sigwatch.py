"""Seeing Ctrl-C while the main thread is inside a guest call.

Python runs a signal handler only when the main thread executes bytecode, and a guest call is one
long C call: a Ctrl-C during a 30 s batch would wait for the batch. `signal.set_wakeup_fd` makes
the interpreter's C-level handler write the signal number to a pipe at once; a thread reading it
acts immediately: the first SIGINT interrupts the guests (wasm_host.interrupt_guests: the batch
in progress traps and is not committed), a second one exits the process at once (130). SIGTERM is
left to the handlers: it finishes the batch in flight and commits it (a graceful stop).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable

FORCED_EXIT = 130


class SignalWatcher:
    """Installed by the run loop in the main thread for the length of a run."""

    def __init__(self, on_first_sigint: Callable[[], None]):
        self._on_first = on_first_sigint
        self._sigints = 0
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._watch, name="sscc-signals", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:  # close(): the write end is gone
                return
            for signum in data:
                if signum == signal.SIGINT:
                    self._sigint()

    def _sigint(self) -> None:
        self._sigints += 1
        if self._sigints == 1:
            _say("stopping: the batch in progress is interrupted and not committed (Ctrl-C again to force)")
            self._on_first()
        else:
            _say("forced to stop; nothing committed is lost (the store commits batch by batch)")
            os._exit(FORCED_EXIT)

    def close(self) -> None:
        signal.set_wakeup_fd(self._previous)
        os.close(self._write)
        self._thread.join(timeout=1)
        os.close(self._read)


def _say(line: str) -> None:
    try:
        sys.stderr.flush()
        os.write(2, f"\n{line}\n".encode())
    except OSError:
        pass
