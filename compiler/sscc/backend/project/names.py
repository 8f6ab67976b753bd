"""Names in the emitted project: the Python package, the distribution version, module files.

Everything here is a pure function of the pipeline, so two compiles name things identically.
"""

from __future__ import annotations

import keyword
import re
import sys

# Importing the generated package must never shadow something the project itself imports.
_TAKEN = set(sys.stdlib_module_names) | {"wasmtime", "sscc", "sscc_runtime", "setuptools", "pip"}
# A semver (what SDF's meta.version is) that has a PEP 440 spelling: 1.2.3, 1.2.3-beta.2, 1.2.3+build.5
_SEMVER = re.compile(r"(\d+(?:\.\d+)*)(?:-(alpha|a|beta|b|rc)(?:\.?(\d+))?)?(?:\+([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?")
_PRE = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "rc": "rc"}


def package_name(meta_name: str) -> str:
    """A Python identifier from `meta.name`: `split-sentence` -> `split_sentence`."""
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", meta_name.strip()).strip("_").lower() or "pipeline"
    if name[0].isdigit():
        name = f"p_{name}"
    if keyword.iskeyword(name) or name in _TAKEN:
        name = f"{name}_pipeline"
    return name


def distribution_name(meta_name: str) -> str:
    """The `[project] name` of pyproject.toml (PEP 508: letters, digits, `-`, `_`, `.`)."""
    return re.sub(r"[^0-9a-zA-Z._-]+", "-", meta_name.strip()).strip("-._") or "pipeline"


def python_version(meta_version: str) -> str | None:
    """meta.version in PEP 440 spelling (`1.0.0-beta.2` -> `1.0.0b2`), or None when it has none
    (the caller falls back and warns)."""
    m = _SEMVER.fullmatch(meta_version.strip())
    if not m:
        return None
    release, pre, number, local = m.groups()
    out = release + (f"{_PRE[pre]}{number or 0}" if pre else "")
    return out + (f"+{local}" if local else "")


def module_file(service: str) -> str:
    """`wasm/<service>.wasm`; service names are kebab-case, anything else is replaced."""
    return "wasm/" + (re.sub(r"[^0-9a-zA-Z_.-]+", "_", service).strip(".") or "service") + ".wasm"
