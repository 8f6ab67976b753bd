"""What a run and a big `topic produce` show on a terminal, drawn with rich.

Only used when the stream is a terminal: into a pipe or a file the plain lines of progress.py
and app.py are written as before, byte for byte. rich is imported here, so only then; an
emitted project installed without rich (it is not one of its dependencies) falls back to the
plain `\\r` line (`available()`).
"""

from __future__ import annotations

import os
import time
from typing import TextIO


def available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class RunView:
    """A table of the services under a headline, redrawn in place about once a second. Anything
    else written to the terminal calls `clear` first (operator output, notes), which takes the
    table away; the next refresh draws it again below."""

    def __init__(self, stream: TextIO, force_terminal: bool = False):
        from rich.console import Console

        self.console = Console(file=stream, highlight=False, soft_wrap=False, force_terminal=force_terminal or None)
        self._live = None
        self._last: dict[str, tuple[float, int]] = {}  # service -> (when, records in)

    def show(self, headline: str, counters: dict) -> None:
        from rich.live import Live
        from rich.table import Table
        from rich.text import Text
        from rich.console import Group

        now = time.monotonic()
        table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
        for column in ("service", "in", "out", "dead", "rec/s", "lag"):
            table.add_column(column, justify="left" if column == "service" else "right")
        for name, c in counters.items():
            when, before = self._last.get(name, (now, c.records_in))
            rate = (c.records_in - before) / max(now - when, 1e-9) if now > when else 0.0
            self._last[name] = (now, c.records_in)
            table.add_row(
                name,
                f"{c.records_in:,}",
                f"{c.records_out:,}",
                Text(f"{c.dead_lettered:,}", style="red" if c.dead_lettered else ""),
                f"{rate:,.0f}",
                f"{c.lag:,}",
            )
        view = Group(Text(headline, style="bold"), table) if len(counters) > 1 else Text(headline, style="bold")
        if self._live is None:
            self._live = Live(
                view,
                console=self.console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start(refresh=True)
        else:
            self._live.update(view, refresh=True)

    def clear(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


class FileBar:
    """`topic produce --file BIG` (or `< BIG`) on a terminal: a bar of the bytes read so far."""

    def __init__(self, stream: TextIO, fd: int, total: int, topic: str):
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self._fd = fd
        self._progress = Progress(
            TextColumn(f"produce {topic}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[records]} records"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task = self._progress.add_task("produce", total=total, records="0")
        self._progress.start()

    def update(self, records: int) -> None:
        try:
            done = os.lseek(self._fd, 0, os.SEEK_CUR)  # the read position (ahead by a buffer at most)
        except OSError:
            return
        self._progress.update(self._task, completed=done, records=f"{records:,}")

    def close(self) -> None:
        self._progress.stop()


BIG_FILE = 16 << 20  # smaller inputs produce in a moment: no bar


def file_bar(stream: TextIO, source, topic: str) -> FileBar | None:
    """A bar when `stream` is a terminal and `source` a regular file of BIG_FILE bytes or more."""
    if not stream.isatty() or not available():
        return None
    try:
        fd = source.fileno()
        info = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        return None
    import stat

    if not stat.S_ISREG(info.st_mode) or info.st_size < BIG_FILE:
        return None
    return FileBar(stream, fd, info.st_size, topic)
