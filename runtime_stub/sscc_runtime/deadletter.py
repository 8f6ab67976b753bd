"""Dead-letter records: a failed record plus why, where and by whom (docs/runtime.md).

Built only for records that failed, so plain `json` and per-record work are fine here.
"""

from __future__ import annotations

import base64
import json

from . import frames


def record(
    failed: frames.Record,
    *,
    service: str,
    stage: str,
    operator: str,
    kind: str,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    keep_bytes: int | None = None,
) -> tuple[bytes | None, bytes, int, int]:
    """(key, value, timestamp, origin) of the dead letter for `failed`; value is a JSON object.
    `keep_bytes`: a key or value longer than this keeps only its first bytes (`value_bytes` says
    how long it was), so the dead letter of a record refused for its size is not as large."""
    body = {
        "reason": reason,
        "kind": kind,
        "service": service,
        "stage": stage,
        "operator": operator or stage,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": failed.timestamp,
    }
    for name, raw in (("key", failed.key), ("value", failed.value)):
        if raw is None:
            body[name] = None
            continue
        if keep_bytes is not None and len(raw) > keep_bytes:
            body[f"{name}_bytes"] = len(raw)
            raw = raw[:keep_bytes]
        try:
            body[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            body[f"{name}_base64"] = base64.b64encode(raw).decode("ascii")
    value = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return failed.key, value, failed.timestamp, offset
