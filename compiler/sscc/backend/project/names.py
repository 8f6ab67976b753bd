"""Names in the emitted project: the Python package, the distribution version, module files.

Everything here is a pure function of the pipeline, so two compiles name things identically.
"""

from __future__ import annotations

import keyword
import re
import sys

# Importing the generated package must never shadow something the project itself imports.
_TAKEN = set(sys.stdlib_module_names) | {"wasmtime", "sscc", "sscc_runtime", "setuptools", "pip"}
# PEP 440 public versions (what pip accepts in pyproject.toml), the common subset.
_PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


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
    """meta.version when pip accepts it, else None (the caller falls back and warns)."""
    version = meta_version.strip()
    return version if _PEP440.match(version) else None


def module_file(service: str) -> str:
    """`wasm/<service>.wasm`; service names are kebab-case, anything else is replaced."""
    return "wasm/" + (re.sub(r"[^0-9a-zA-Z_.-]+", "_", service).strip(".") or "service") + ".wasm"
