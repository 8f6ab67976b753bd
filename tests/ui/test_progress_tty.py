"""rich progress only on a terminal: `topic produce` of a big file draws a bar under a pty, and
prints exactly its plain line into a pipe (no toolchain needed)."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

BIG = 16 << 20  # richprogress.BIG_FILE


def big_file(path: Path) -> int:
    line = b'{"id": 1, "item": "widget", "qty": 2, "price": 2.5}\n'
    count = BIG // len(line) + 1
    path.write_bytes(line * count)
    return count


def in_pty(argv: list[str]) -> tuple[int, bytes]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=300), out


def test_produce_of_a_big_file_shows_a_bar_on_a_terminal_only(tmp_path):
    lines = tmp_path / "orders.txt"
    count = big_file(lines)
    rc, shown = in_pty(["sscc", "topic", "produce", "orders", "--store", str(tmp_path / "a"), "--file", str(lines)])
    assert rc == 0, shown[-2000:]
    text = shown.decode("utf-8", "replace")
    assert "produce orders" in text and "MB" in text, "the bar"
    assert f"produced {count:,} records to orders" in text
    piped = subprocess.run(
        ["sscc", "topic", "produce", "orders", "--store", str(tmp_path / "b"), "--file", str(lines)],
        capture_output=True, timeout=300,
    )
    assert piped.returncode == 0
    assert piped.stderr == f"produced {count:,} records to orders\n".encode() and piped.stdout == b""


def test_produce_of_a_small_file_on_a_terminal_prints_only_its_line(tmp_path):
    lines = tmp_path / "few.txt"
    lines.write_text("a\nb\n")
    rc, shown = in_pty(["sscc", "topic", "produce", "few", "--store", str(tmp_path / "s"), "--file", str(lines)])
    assert rc == 0 and shown.replace(b"\r\n", b"\n") == b"produced 2 records to few\n"


def test_compile_shows_its_steps_on_a_terminal_and_the_same_lines_into_a_pipe(tmp_path):
    from ui_helpers import EXAMPLES, require_toolchain

    require_toolchain()
    pipeline = EXAMPLES / "order-totals" / "dataflow.yaml"
    rc, shown = in_pty(["sscc", "compile", str(pipeline), "-o", str(tmp_path / "tty")])
    text = shown.decode("utf-8", "replace")
    assert rc == 0, text[-2000:]
    assert "service pricing (1/1): Rust -> wasm" in text and "\x1b[?25l" in text, "the status line (cursor hidden while it shows)"
    assert f"{pipeline}: compiled to {tmp_path / 'tty'}" in text
    piped = subprocess.run(["sscc", "compile", str(pipeline), "-o", str(tmp_path / "pipe")], capture_output=True, text=True, timeout=600)
    assert piped.returncode == 0
    assert piped.stderr == (
        f"{pipeline}: compiled to {tmp_path / 'pipe'}; run it with: cd {tmp_path / 'pipe'} && python -m order_totals run\n"
    )


def test_run_on_a_terminal_redraws_its_progress_then_prints_the_plain_summary(tmp_path):
    import select
    import signal
    import time

    from ui_helpers import EXAMPLES, WAIT_S, require_toolchain

    require_toolchain()
    example = EXAMPLES / "word-join"
    store = tmp_path / "store"
    master, slave = pty.openpty()
    proc = subprocess.Popen(["sscc", "run", "dataflow.yaml", "--store", str(store)], cwd=example,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + WAIT_S
    try:
        # a refresh comes about once a second: the headline, and a row per service (three here)
        while b"word-count-source-b" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                out += os.read(master, 65536)
    finally:
        proc.send_signal(signal.SIGTERM)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
    assert proc.wait(timeout=60) == 0
    text = out.decode("utf-8", "replace")
    assert "word-count-source-b" in text and "rec/s" in text and "lag" in text, text[-3000:]
    last = text.replace("\r\n", "\n").rstrip("\n").rsplit("\n", 1)[-1]
    assert "word-join: stopped by SIGTERM after" in last, last
