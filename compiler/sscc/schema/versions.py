"""The schema of each (kind, apiVersion), assembled from parts.

Dataflows and packages of 0.4.0, 0.5.0 and 0.6.0 are described here; 0.1.0 - 0.3.0 dataflows
are upgraded by sscc.load before they reach a schema (DESIGN.md §2).
"""

from __future__ import annotations

import marshal
from functools import lru_cache

from . import files, services, topics, typedefs
from .build import list_of, map_of, obj
from .features import Version

SUPPORTED = {
    "dataflow": ["0.4.0", "0.5.0", "0.6.0"],
    "package": ["0.4.0", "0.5.0", "0.6.0"],
}

_ID = "urn:sscc:schema:{kind}:{version}"
_TITLES = {"dataflow": "SDF dataflow (dataflow.yaml)", "package": "SDF package (sdf-package.yaml)"}


def _api_version(version: str) -> dict:
    return {
        "const": version,
        "description": "Format version of this file.",
        "examples": [version],
        "x-type-hints": {"number": f"write the version in full: `apiVersion: {version}`"},
    }


def _dataflow(v: Version) -> dict:
    props = {
        "apiVersion": _api_version(v.name),
        "meta": files.meta(),
        "imports": list_of(files.IMPORT_REF, "Packages whose types, states and functions this dataflow uses."),
        "config": topics.config(),
        "types": typedefs.types_map(),
        "topics": map_of(files.TOPIC_REF, "Topics: id -> definition."),
        "services": map_of(services.service(v), "Services: name -> sources, transforms, sinks."),
        "dev": files.dev(),
    }
    if v.has("schedule"):
        props["schedule"] = files.schedule()
    if v.has("packages"):
        props["packages"] = list_of(
            obj("package", files.package_body(), required=["meta"]), "Inline package definitions."
        )
    later = v.later("schedule") | v.later("packages")
    return obj("dataflow", props, required=["apiVersion", "meta", "services"], later=later)


def _package(v: Version) -> dict:
    return obj("package", {"apiVersion": _api_version(v.name), **files.package_body()}, required=["apiVersion", "meta"])


def _defs(v: Version, *, package: bool) -> dict:
    """The `$defs` that references point to; a package file needs fewer of them."""
    out = {"type": typedefs.type_definition(v), "import": files.package_import(), "topic": topics.topic()}
    if package or v.has("packages"):
        out["package-function-body"] = services.function(v, uses=False)
    if not package:
        out |= {"function": services.function(v), "step": services.step(), "state": services.state()}
    return out


@lru_cache(maxsize=None)
def _build(kind: str, api_version: str) -> bytes:
    """The schema, built once and kept marshalled: every caller of schema_for gets its own deep
    copy (marshal copies plain JSON data fast, and `json` need not be imported to check a file)."""
    if api_version not in SUPPORTED.get(kind, ()):
        raise KeyError(f"no schema for {kind} apiVersion {api_version}")
    v = Version(api_version)
    root = _dataflow(v) if kind == "dataflow" else _package(v)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _ID.format(kind=kind, version=api_version),
        **root,
        "title": f"{_TITLES[kind]} apiVersion {api_version}",
        "$defs": _defs(v, package=kind == "package"),
    }
    return marshal.dumps(schema)


def schema_for(kind: str, api_version: str) -> dict:
    """The JSON Schema of one kind ("dataflow" | "package") and apiVersion; KeyError if unsupported."""
    return marshal.loads(_build(kind, api_version))


def schema_json(kind: str, api_version: str) -> str:
    """The schema pretty-printed for editors (yaml-language-server `$schema=`)."""
    import json

    return json.dumps(schema_for(kind, api_version), indent=2, ensure_ascii=False) + "\n"
