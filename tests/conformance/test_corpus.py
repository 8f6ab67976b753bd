"""Every public SDF file of the conformance corpus checks clean and its IR round-trips."""

import json
import os

import pytest
import yaml

from conftest import CORPUS, MANIFEST
from sscc.diagnostics import SourceCache, render_text
from sscc.driver import Options, front_end, lower_ir

HERE = os.path.dirname(__file__)

if not os.path.exists(MANIFEST):  # pragma: no cover - the corpus lives beside the checkout
    pytest.skip(f"conformance corpus not found at {MANIFEST}", allow_module_level=True)

with open(MANIFEST) as fh:
    ENTRIES = json.load(fh)
with open(os.path.join(HERE, "known_invalid.yaml")) as fh:
    KNOWN_INVALID = {e["file"]: e for e in (yaml.safe_load(fh) or [])}


def _errors(fe, sources):
    return [render_text(d, sources) for d in fe.diags.sorted() if d.is_error]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_checks_clean(entry):
    sources = SourceCache()
    fe = front_end(os.path.join(CORPUS, entry["file"]), Options(), sources)
    known = KNOWN_INVALID.get(entry["file"])
    if known:
        codes = sorted({d.code for d in fe.diags.errors()})
        assert codes == sorted(known["codes"]), "known-invalid file now reports different errors"
        return
    assert not fe.diags.has_errors, "\n\n".join(_errors(fe, sources))
    if entry["kind"] in ("dataflow", "package"):
        assert fe.kind == entry["kind"]
        assert fe.api_version == entry["apiVersion"]


DATAFLOWS = [e for e in ENTRIES if e["kind"] == "dataflow" and e["file"] not in KNOWN_INVALID]


@pytest.mark.parametrize("entry", DATAFLOWS, ids=[e["file"] for e in DATAFLOWS])
def test_ir_round_trips(entry):
    from sscc.ir.serialize import from_json, to_json

    fe = front_end(os.path.join(CORPUS, entry["file"]), Options(), SourceCache())
    graph = lower_ir(fe)
    text = to_json(graph)
    back = from_json(text)
    assert back == graph
    assert to_json(back) == text
