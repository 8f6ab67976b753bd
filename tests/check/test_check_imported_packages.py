"""Imported packages are checked too: their mistakes are reported at the package file's
position, once, and do not come back as errors in the dataflow that uses them."""

import textwrap

from sscc.diagnostics import SourceCache
from sscc.driver import Options, front_end

PACKAGE = textwrap.dedent("""\
    apiVersion: 0.6.0
    meta: {name: text, version: 0.1.0, namespace: example}
    functions:
      word-length:
        operator: map
        inputs:
          - name: word
            type: strng
        output:
          type: u32
    """)

DATAFLOW = textwrap.dedent("""\
    apiVersion: 0.6.0
    meta: {name: t, version: 0.1.0, namespace: test}
    imports:
      - pkg: example/text@0.1.0
        functions:
          - name: word-length
    topics:
      words: {schema: {value: {type: string}}}
      lengths: {schema: {value: {type: u32}}}
    services:
      measure:
        sources: [{type: topic, id: words}]
        transforms:
          - operator: map
            uses: word-length
        sinks: [{type: topic, id: lengths}]
    dev:
      imports:
        - pkg: example/text@0.1.0
          path: ./text
    """)


def _write(tmp_path, package: str):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "sdf-package.yaml").write_text(package)
    (tmp_path / "dataflow.yaml").write_text(DATAFLOW)
    return str(tmp_path / "dataflow.yaml"), str(tmp_path / "text" / "sdf-package.yaml")


def test_a_mistake_in_an_imported_package_is_reported_in_the_package_once(tmp_path):
    dataflow, package = _write(tmp_path, PACKAGE)
    fe = front_end(dataflow, Options(), SourceCache())
    got = [(d.span.path, d.code, d.span.line, d.span.col) for d in fe.diags.sorted()]
    assert got == [(package, "E040", 8, 15)]  # `strng`, once; nothing in the dataflow


def test_a_clean_package_is_used_to_check_the_dataflow(tmp_path):
    dataflow, _package = _write(tmp_path, PACKAGE.replace("strng", "string").replace("u32", "string"))
    fe = front_end(dataflow, Options(), SourceCache())
    got = [(d.code, d.span.line, d.span.col) for d in fe.diags.sorted()]
    assert got == [("E067", 16, 31)]  # at the sink's `id:`: the package's map gives a string, the topic holds u32
    assert fe.packages and "example/text@0.1.0" in fe.packages
