"""The JSON Schema of a pipeline test file (`*.test.yaml`, docs/testing.md).

Records under `input` and `expect` are free-form (any YAML value is a record); spec.py gives
them their meaning. The schema only fixes the shape around them.
"""

from __future__ import annotations

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]*$"  # as `run -e` accepts (runtime envvars.py)

_RECORDS = {"type": "array", "description": "records, in order"}
_TOPICS = {
    "type": "object",
    "description": "topic id -> records",
    "propertyNames": {"minLength": 1},
    "additionalProperties": _RECORDS,
}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "sscc pipeline test file",
    "type": "object",
    "required": ["pipeline", "cases"],
    "additionalProperties": False,
    "properties": {
        "pipeline": {"type": "string", "minLength": 1, "description": "the pipeline file, relative to this file"},
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "expect"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "env": {
                        "type": "object",
                        "propertyNames": {"pattern": ENV_NAME},
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                    },
                    "input": {
                        "anyOf": [_TOPICS, {"type": "array", "minItems": 1, "items": _TOPICS}],
                        "description": "topic id -> records; or a list of such mappings, each produced and run until idle in turn",
                    },
                    "expect": _TOPICS,
                    "http": {"type": "boolean", "description": "false: operators' HTTP requests are refused (run --no-http)"},
                },
            },
        },
    },
}
