"""The run's clock: wall time, or a fixed instant for tests and reproducible batch runs.

`SSCC_NOW_MS` (milliseconds since the Unix epoch), when set, is what "now" is for schedule
sources (schedules.py) and for an operator's `SystemTime::now()` / `Utc::now()` (wasi.py).
Windows and state ttl keep the wall clock (windowing.py, loop.py).
"""

from __future__ import annotations

import os
import time

ENV = "SSCC_NOW_MS"


def fixed_ms() -> int | None:
    text = os.environ.get(ENV)
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{ENV}={text!r} is not a time in milliseconds since the Unix epoch") from None


def now_ms() -> int:
    fixed = fixed_ms()
    return time.time_ns() // 1_000_000 if fixed is None else fixed


def now_ns() -> int:
    fixed = fixed_ms()
    return time.time_ns() if fixed is None else fixed * 1_000_000
