"""Topics and their consumer/producer settings, and the file-wide `config:` (SDF-FORMAT.md §3)."""

from __future__ import annotations

from .build import enum, obj, string
from .typedefs import typed

CONVERTER = enum(["json", "raw"], "How records are encoded: `json` or `raw`.")
ISOLATION = enum(["ReadUncommitted", "ReadCommitted"], "Isolation level.")


def consumer() -> dict:
    offset = obj(
        "starting offset",
        {
            "position": enum(["Beginning", "End", "Offset"], "Where a new consumer starts."),
            "value": {"type": "integer", "description": "Offset from the position (0 = first/last record)."},
        },
        required=["position", "value"],
        all_of=[
            {
                "if": {"properties": {"position": {"enum": ["Beginning", "End"]}}, "required": ["position"]},
                "then": {"properties": {"value": {"minimum": 0}}},
            }
        ],
        description="Where a consumer starts reading: {position: Beginning|End|Offset, value: <int>}.",
    )
    return obj(
        "consumer",
        {
            "default_starting_offset": offset,
            "max_bytes": {
                "type": "integer",
                "minimum": 0,
                "maximum": 2**31 - 1,
                "description": "Maximum bytes per fetch.",
            },
            "isolation": ISOLATION,
        },
        description="Consumer settings (snake_case keys).",
    )


def producer() -> dict:
    count = {"type": "integer", "minimum": 0}
    return obj(
        "producer",
        {
            "batch_size": {**count, "description": "Maximum batch size in bytes."},
            "linger_ms": {**count, "description": "How long to wait to fill a batch, in ms."},
            "timeout_ms": {**count, "description": "Produce request timeout, in ms."},
            "compression": enum(["gzip", "snappy", "lz4", "zstd"], "Batch compression."),
            "isolation": ISOLATION,
        },
        description="Producer settings (snake_case keys).",
    )


def topic() -> dict:
    record = typed(
        title="record schema",
        converter={**CONVERTER, "description": "Encoding of this part; defaults to `config.converter`."},
    )
    return obj(
        "topic",
        {
            "name": string("Name of the topic in the cluster; defaults to the topic id."),
            "schema": obj(
                "topic schema",
                {"key": record, "value": record},
                required=["value"],
                description="Types of the record key (optional) and value: a type name or an inline definition.",
            ),
            "consumer": consumer(),
            "producer": producer(),
            "remote-cluster-profile": string("Fluvio profile of a remote cluster holding the topic."),
        },
        aliases={"remote_cluster_profile": "remote-cluster-profile"},
        required=["schema"],
        description="A topic read or written by services.",
    )


def config() -> dict:
    return obj(
        "config",
        {"converter": CONVERTER, "consumer": consumer(), "producer": producer()},
        description="Defaults for every topic: converter, consumer, producer.",
    )
