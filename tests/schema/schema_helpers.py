"""Shared by the schema tests: validate a YAML snippet and look at what came out."""

import textwrap

from sscc.diagnostics import Diagnostics
from sscc.load.yaml_loader import load_text
from sscc.schema import validate

META = """\
meta:
  name: demo
  version: 0.1.0
  namespace: examples
"""


def run(text: str, kind: str = "dataflow", version: str = "0.6.0"):
    """(ok, diagnostics) of `text` (dedented); the apiVersion line is the caller's to write."""
    text = textwrap.dedent(text)
    diags = Diagnostics()
    doc = load_text(text, "p.yaml", diags)
    assert doc is not None and not diags.items, diags.items
    ok = validate(doc, kind, version, diags)
    return ok, diags.sorted()
