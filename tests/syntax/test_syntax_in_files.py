"""Embedded-language errors as `sscc check` reports them: code, line and column in the file.

E033: a type name outside the type-name grammar, wherever a type name is written (a `type:`
value, a `types:` key, a `type-name:`), reported once (no E040 "unknown type" as well).
"""

import textwrap

from sscc.diagnostics import SourceCache
from sscc.driver import Options, front_end

FILE = textwrap.dedent("""\
    apiVersion: 0.6.0
    meta: {name: t, version: 0.1.0, namespace: test}
    types:
      words:
        type: list<string>
      "bad name":
        type: string
      ok-type:
        type: object
        properties:
          inner:
            type: object
            type-name: inner__thing
            properties:
              a: {type: u32}
    topics:
      w: {schema: {value: {type: ok-type}}}
      v: {schema: {value: {type: "1abc"}}}
    services:
      s:
        sources: [{type: topic, id: w}]
        sinks: [{type: topic, id: v}]
    """)


def test_malformed_type_names_are_e033_at_their_character(tmp_path):
    path = tmp_path / "dataflow.yaml"
    path.write_text(FILE)
    fe = front_end(str(path), Options(), SourceCache())
    got = [(d.code, d.span.line, d.span.col, d.message) for d in fe.diags.sorted()]
    assert got == [
        ("E033", 5, 15, "unexpected character `<` in type name `list<string>`"),
        ("E033", 6, 7, "unexpected character ` ` in type name `bad name`"),
        ("E033", 13, 26, "`_` must join two words in type name `inner__thing`"),
        ("E033", 18, 31, "type name `1abc` starts with a digit"),
    ]


def test_valid_type_names_in_every_spelling_give_nothing(tmp_path):
    path = tmp_path / "dataflow.yaml"
    path.write_text(
        FILE.replace("list<string>", "CarLocation")
        .replace('"bad name"', "car_location")
        .replace("inner__thing", "inner_thing")
        .replace('"1abc"', "String")
        .replace("words:\n", "car-locations:\n")
    )
    fe = front_end(str(path), Options(), SourceCache())
    assert "E033" not in [d.code for d in fe.diags.items]
