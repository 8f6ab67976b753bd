"""What kind of file is this, and which format version does it claim?

Kinds, detected by content first (a package file may be named anything):
  dataflow   has `services:` or `topics:` (dataflow.yaml, data-pipeline.yaml)
  package    has `functions:`, or is named *-package.yaml (sdf-package.yaml, ssdk-package.yaml)
  types      only `types:` and no apiVersion (a types fragment a package includes)
  hub-meta   InfinyOn Hub package metadata (.hub/package-meta.yaml: `package_format_version`)
"""

from __future__ import annotations

import os

from ..diagnostics import Diagnostics
from .yaml_loader import Document

DATAFLOW_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0")
PACKAGE_VERSIONS = ("0.4.0", "0.5.0", "0.6.0")
LATEST = "0.6.0"


def detect_kind(doc: Document) -> str:
    data = doc.data
    if "package_format_version" in data:
        return "hub-meta"
    if "services" in data or "topics" in data:
        return "dataflow"
    base = os.path.basename(doc.path)
    if "functions" in data or base.endswith("-package.yaml") or base.endswith("-package.yml"):
        return "package"
    if "apiVersion" not in data and set(data) <= {"types"}:
        return "types"
    return "dataflow"


def detect_version(doc: Document, kind: str, diags: Diagnostics) -> str | None:
    """The apiVersion as a normalized string, or None (with a diagnostic) when it is unusable."""
    if kind in ("types", "hub-meta"):
        return None
    data = doc.data
    if "apiVersion" not in data:
        alt = next((k for k in data if isinstance(k, str) and k.lower().replace("_", "").replace("-", "") == "apiversion"), None)
        hint = f"the key is spelled `apiVersion` (found `{alt}`)" if alt else f"add `apiVersion: {LATEST}` as the first line"
        diags.error("E004", doc.key_span((alt,)) if alt else doc.span(()), "missing `apiVersion`", hint)
        return None
    raw = data["apiVersion"]
    text = str(raw).strip()
    if isinstance(raw, float) or (isinstance(raw, str) and text.count(".") == 1):
        text = text + ".0"  # `apiVersion: 0.5` reads as a float
    supported = DATAFLOW_VERSIONS if kind == "dataflow" else PACKAGE_VERSIONS
    if text not in supported:
        diags.error(
            "E005",
            doc.span(("apiVersion",)),
            f"unsupported {kind} apiVersion `{raw}`",
            f"sscc reads {kind} files of apiVersion {', '.join(supported)}; the newest is {LATEST}",
        )
        return None
    return text


# The versions read through sscc.load.upgrade (kept here so that reading a current file does
# not import the upgrade rules).
LEGACY = {"dataflow": ("0.1.0", "0.2.0", "0.3.0", "0.4.0"), "package": ("0.4.0",)}


def needs_upgrade(kind: str, api_version: str) -> bool:
    """Whether a file of this kind and apiVersion is read through `upgrade`."""
    return api_version in LEGACY.get(kind, ())
