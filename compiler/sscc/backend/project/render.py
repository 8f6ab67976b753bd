"""Jinja rendering of templates/project/*.j2; Python output is formatted with black.

Templates are found with importlib.resources (`sscc.templates`), so an installed sscc finds
them as well as a checkout does. Filters: `py` (a Python literal), `toml` (a TOML string).
"""

from __future__ import annotations

import functools
import importlib.resources
import json

import black
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
        text = black.format_str(text, mode=black.Mode())
    return text
