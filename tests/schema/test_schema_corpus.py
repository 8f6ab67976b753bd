"""Every 0.4.0-0.6.0 file of the real corpus validates, and the only warnings are genuine unknown keys."""

import json
import os
import time

import pytest
from conftest import CORPUS, MANIFEST

from sscc.diagnostics import Diagnostics
from sscc.load.yaml_loader import load_file
from sscc.schema import SUPPORTED, validate

if not os.path.exists(MANIFEST):  # pragma: no cover - the corpus lives beside the checkout
    pytest.skip(f"conformance corpus not found at {MANIFEST}", allow_module_level=True)
with open(MANIFEST) as fh:
    ENTRIES = [e for e in json.load(fh) if e["kind"] in SUPPORTED and e["apiVersion"] in SUPPORTED[e["kind"]]]

# (file, line, column, key): keys the reference parser ignores silently (SDF-FORMAT.md §10 item 2).
GENUINE_UNKNOWN_KEYS = {
    # `converter` belongs under `schema.value` (and `schema.key`); at topic level it does nothing
    ("stateful-dataflows-examples__primitives__merge__dataflow.yaml", 36, 5, "converter"),
    ("stateful-dataflows-examples@e6d4bbe0__primitives__merge__dataflow.yaml", 36, 5, "converter"),
    ("stateful-services-examples@64d30b4a__functions__merge__dataflow.yaml", 36, 5, "converter"),
    # ... and directly under `schema:` it does nothing either
    ("stateful-dataflow-demos@22d6523e__stripe-slack__dataflow.yaml", 33, 7, "converter"),
    # `default_starting_offset` belongs under `config.consumer`
    ("stateful-dataflows-examples@6316a8e6__dataflows-composed__key-processing__dataflow.yaml", 19, 3,
     "default_starting_offset"),
    # a parser test package with `dev.states`, which DevConfig does not have
    ("stateful-dataflow-demos@3b2e7e08__packages__slack__rust__unstable__sdf-parser-package-0.13.0__test__"
     "bank-update__sdf-package.yaml", 29, 3, "states"),
}  # fmt: skip


def _load(entry):
    diags = Diagnostics()
    doc = load_file(os.path.join(CORPUS, entry["file"]), diags)
    assert doc is not None, diags.items
    return doc


def test_the_corpus_has_files_of_every_supported_kind_and_version():
    found = {(e["kind"], e["apiVersion"]) for e in ENTRIES}
    assert found == {(k, v) for k, versions in SUPPORTED.items() for v in versions}
    assert len(ENTRIES) == 152


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"])
def test_corpus_file_validates_without_errors(entry):
    diags = Diagnostics()
    assert validate(_load(entry), entry["kind"], entry["apiVersion"], diags)
    assert diags.errors() == []


def test_corpus_warnings_are_exactly_the_genuine_unknown_keys():
    found = set()
    for entry in ENTRIES:
        diags = Diagnostics()
        validate(_load(entry), entry["kind"], entry["apiVersion"], diags)
        for d in diags.warnings():
            assert d.code == "W001", d
            key = d.message.split("`")[1]
            found.add((os.path.basename(d.span.path), d.span.line, d.span.col, key))
    assert found == GENUINE_UNKNOWN_KEYS


def test_misplaced_corpus_keys_are_pointed_to_their_place():
    hints = {}
    for entry in ENTRIES:
        if entry["file"] in {f for f, *_ in GENUINE_UNKNOWN_KEYS}:
            diags = Diagnostics()
            validate(_load(entry), entry["kind"], entry["apiVersion"], diags)
            hints[entry["file"]] = diags.warnings()[0].hint
    assert hints["stateful-dataflows-examples__primitives__merge__dataflow.yaml"] == (
        "`converter` is a key of `schema.key` or `schema.value`; move it there"
    )
    assert hints["stateful-dataflows-examples@6316a8e6__dataflows-composed__key-processing__dataflow.yaml"] == (
        "`default_starting_offset` is a key of `consumer`; move it there"
    )


def test_validating_the_whole_corpus_is_fast():
    docs = [(_load(e), e) for e in ENTRIES]
    for kind, versions in SUPPORTED.items():  # build the validators first: that cost is paid once per process
        for version in versions:
            validate(docs[0][0], kind, version, Diagnostics())
    start = time.perf_counter()
    for doc, entry in docs:
        validate(doc, entry["kind"], entry["apiVersion"], Diagnostics())
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f}s for {len(docs)} files (measured ~0.2 s on an idle machine)"
