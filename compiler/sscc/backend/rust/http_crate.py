"""`sdf-http` / `ssdk-http`: SDF's HTTP guest crate, provided offline by sscc (docs/http.md).

A pipeline names the crate by git tag, crates.io version or path; whichever, the generated crate
gets sscc's own `sdf-http` (runtime_stub/sdf-http, copied in as `sdf-http/`), whose requests run
on the host through the `sscc.http_request` import (docs/abi.md). The version the pipeline names
picks the API level: a cargo feature per version that added functions.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Optional

from ...ir.nodes import Dependency

CRATE_DIR = "sdf-http"  # where the crate's sources sit inside a generated crate
NAMES = ("sdf-http", "ssdk-http")  # `ssdk-http`: the preview name, called as `ssdk_http::`
NEEDS = ("http",)  # what it builds on, from the offline registry (Debian: librust-http-dev)
# (version that added functions, cargo feature); 0.2.0-0.4.0 have `blocking::send` only.
LEVELS = (((0, 4, 3), "v0_4_3"), ((0, 4, 2), "v0_4_2"), ((0, 4, 1), "v0_4_1"))
NEWEST = LEVELS[0][1]


def is_http(dep: Dependency) -> bool:
    return dep.name.replace("_", "-") in NAMES


def named_version(dep: Dependency) -> Optional[tuple[int, ...]]:
    """The version the pipeline asks for (`version:`, else the git `tag:`); None when it names none."""
    for text in (dep.version, dep.tag):
        m = re.match(r"^\s*[\^~=v]*\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", text or "")
        if m:
            parts = [int(p) for p in m.groups() if p is not None]
            # `0.4` means the newest 0.4.x, as cargo would resolve it
            return tuple(parts) if len(parts) == 3 else tuple(parts) + (999,) * (3 - len(parts))
    return None


def feature(dep: Dependency) -> Optional[str]:
    """The cargo feature of the API level the dependency names (None: `blocking::send` only)."""
    version = named_version(dep)
    if version is None:  # a path, or git without a tag: the newest API
        return NEWEST
    return next((name for since, name in LEVELS if version >= since), None)


def dep_line(dep: Dependency) -> str:
    parts = [f'path = "{CRATE_DIR}"']
    if dep.name != "sdf-http":  # ssdk-http / sdf_http: the same crate under the pipeline's name
        parts.append('package = "sdf-http"')
    level = feature(dep)
    if level:
        parts.append(f'features = ["{level}"]')
    return f"{dep.name} = {{ {', '.join(parts)} }}"


def sources() -> dict[str, str]:
    """The crate's files, keyed by their path inside a generated crate."""
    root = Path(str(resources.files("sscc.runtime_stub"))) / "sdf-http"
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] != "target" and p.name != "Cargo.lock":
            out[f"{CRATE_DIR}/{rel.as_posix()}"] = p.read_text()
    return out
