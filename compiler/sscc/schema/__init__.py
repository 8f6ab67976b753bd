"""JSON Schemas of SDF dataflow and package files, and validation with positioned diagnostics.

    schema_for(kind, api_version) -> dict     the schema ("dataflow" | "package"); KeyError if unsupported
    schema_json(kind, api_version) -> str     the same, pretty-printed for editors
    validate(doc, kind, api_version, diags)   schema errors (E010-E017) and unknown-key warnings
                                              (W001, W010, W011); True when there is no error
    SUPPORTED                                 the versions each kind has a schema for

The schemas are draft 2020-12, built from shared parts (parts.py) with the version skew in one
table (features.py). See docs/errors.d/schema.md for every code.
"""

from __future__ import annotations

from ..diagnostics import Diagnostics
from ..load.yaml_loader import Document
from .unknown_keys import check_unknown_keys
from .validate import report, root_schema, schema_problems
from .versions import SUPPORTED, schema_for, schema_json

__all__ = ["SUPPORTED", "schema_for", "schema_json", "validate"]


def validate(doc: Document, kind: str, api_version: str, diags: Diagnostics) -> bool:
    """Check `doc` against the schema of `kind` and `api_version`; True if there is no schema error.

    Raises KeyError for an unsupported kind or version (the caller picks them from the file)."""
    problems = schema_problems(doc, kind, api_version)
    report(doc, problems, diags)
    check_unknown_keys(doc, root_schema(kind, api_version), api_version, diags)
    return not problems
