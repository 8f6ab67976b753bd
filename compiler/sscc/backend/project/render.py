"""Jinja rendering of templates/project/*.j2; Python output is formatted with black.

Templates are found with importlib.resources (`sscc.templates`), so an installed sscc finds
them as well as a checkout does. Filters: `py` (a Python literal), `toml` (a TOML string).

Importing black costs ~0.3 s, most of an unchanged recompile, so its output is cached by the
hash of the installed black (its path, size and mtime) and the unformatted text ($SSCC_CACHE_DIR/black/, default
~/.cache/sscc/black/); black is imported only on a miss. The output is the same either way.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import json
import os
import tempfile
from pathlib import Path

import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    root = importlib.resources.files("sscc.templates") / "project"
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["py"] = repr  # str/int/bool reprs are valid Python literals
    env.filters["toml"] = lambda s: json.dumps(str(s), ensure_ascii=False)  # a TOML basic string is JSON-compatible
    return env


def render(template: str, context: dict) -> str:
    text = _environment().get_template(template).render(**context)
    if template.endswith(".py.j2"):
        text = formatted(text)
    return text


def formatted(text: str) -> str:
    """`black.format_str(text)` with the default mode, through the cache."""
    key = hashlib.sha256(f"{_black_identity()}\0{text}".encode()).hexdigest()
    path = _black_cache() / key[:2] / key
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    import black

    out = black.format_str(text, mode=black.Mode())
    try:  # write-then-rename: a concurrent reader sees the whole file or none
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(out)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs speed
    return out


@functools.cache
def _black_identity() -> str:
    """Which black is installed, without importing it (or parsing its metadata, ~30 ms)."""
    spec = importlib.util.find_spec("black")
    if spec is None or spec.origin is None:
        return "black-missing"  # a miss then imports black, which reports the problem
    st = os.stat(spec.origin)
    return f"{spec.origin}:{st.st_size}:{st.st_mtime_ns}"


def _black_cache() -> Path:
    base = os.environ.get("SSCC_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "sscc") / "black"
