"""What a long compile is doing, on a terminal: `sscc compile` (and `sscc run` when it compiles)
show a rich status line with the current step (front end, each service's Rust build with cargo's
`Compiling <crate>` lines, waiting for another sscc's build, writing the project).

`note(text)` is a no-op unless a status is shown, so the steps cost nothing when stderr is not a
terminal: then nothing is printed and the output stays as it was, byte for byte. rich is
imported only when a status is shown.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator

_status = None  # rich.status.Status while one is shown


def active() -> bool:
    return _status is not None


def note(text: str) -> None:
    if _status is not None:
        _status.update(f"[bold]{_escape(text)}")


@contextmanager
def shown(first: str, stream=None) -> Iterator[None]:
    """A status line on `stream` (stderr) while the block runs, when that is a terminal."""
    global _status
    stream = stream or sys.stderr
    if _status is not None or not stream.isatty() or os.environ.get("SSCC_NO_PROGRESS"):
        yield
        return
    from rich.console import Console

    console = Console(file=stream, highlight=False)
    with console.status(f"[bold]{_escape(first)}") as status:
        _status = status
        try:
            yield
        finally:
            _status = None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
