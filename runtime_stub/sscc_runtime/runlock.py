"""Who is using a store: every run holds a shared lock on `<store>.run-lock`, and commands that
must not change a store under a running pipeline (`reset`, `state drop`) take it exclusively.

A plain `flock(2)` on a file beside the store: any number of runs (several pipelines, several
workers) hold it together; the kernel drops it when a process ends, however it ends (kill -9
included), so no stale lock is ever left behind. A store on a file system without flock (some
network mounts) is not checked: the lock then succeeds and the commands proceed.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

SUFFIX = ".run-lock"


class StoreBusy(RuntimeError):
    """A run holds the store."""


def lock_path(store_file: Path) -> Path:
    return store_file.with_name(store_file.name + SUFFIX)


class RunLock:
    """Held (shared) by a run for its whole life; `close()` or the process's end releases it."""

    def __init__(self, store_file: Path):
        self._fd = os.open(lock_path(store_file), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # waits only for a reset in progress
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(self._fd)
                raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Exclusive:
    """Held by `reset` / `state drop` while they change the store; StoreBusy when a run holds it."""

    def __init__(self, store_file: Path, doing: str):
        self._fd = os.open(lock_path(store_file), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise StoreBusy(
                f"a run is using the store at {store_file.parent}; stop it (Ctrl-C) before you {doing}"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(self._fd)
                raise

    def __enter__(self) -> "Exclusive":
        return self

    def __exit__(self, *exc) -> None:
        os.close(self._fd)
