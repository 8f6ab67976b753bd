"""One test (or a few) per upgrade rule, on small snippets."""

import textwrap

from hypothesis import given, settings, strategies as st

from sscc.diagnostics import Diagnostics
from sscc.load.emit_yaml import emit_yaml
from sscc.load.upgrade import needs_upgrade, upgrade
from sscc.load.yaml_loader import Document, load_text


def up(text, version="0.2.0", kind="dataflow"):
    """The upgraded document and the sorted (code, line) of its diagnostics."""
    diags = Diagnostics()
    doc = load_text(textwrap.dedent(text), "p.yaml", diags)
    assert doc is not None, diags.items
    result = upgrade(doc, kind, version, diags)
    return result, [(d.code, d.span.line) for d in diags.sorted()]


def service(text, version="0.2.0"):
    """Upgrade one service written under `services: {s: ...}`; (service data, document, codes)."""
    body = textwrap.indent(textwrap.dedent(text), "    ")
    doc, codes = up(f"apiVersion: {version}\nservices:\n  s:\n{body}", version)
    return doc.data["services"]["s"], doc, codes


def key_line(doc, *path):
    return doc.key_span(("services", "s") + path).line


def value_line(doc, *path):
    return doc.span(("services", "s") + path).line


# ---------------------------------------------------------------------------- versions


def test_which_versions_are_upgraded():
    assert [v for v in ("0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0") if needs_upgrade("dataflow", v)] == [
        "0.1.0",
        "0.2.0",
        "0.3.0",
        "0.4.0",
    ]
    assert [v for v in ("0.4.0", "0.5.0", "0.6.0") if needs_upgrade("package", v)] == ["0.4.0"]
    assert not needs_upgrade("types", "0.4.0")


def test_current_versions_are_the_identity():
    diags = Diagnostics()
    doc = load_text("apiVersion: 0.5.0\nservices: {s: {sources: [{type: topic, id: a}]}}\n", "p.yaml", diags)
    assert upgrade(doc, "dataflow", "0.5.0", diags) is doc


def test_api_version_becomes_060_at_the_written_position():
    doc, codes = up("meta: {name: x}\napiVersion: 0.3.0\n", "0.3.0")
    assert codes == []
    assert doc.data == {"meta": {"name": "x"}, "apiVersion": "0.6.0"}
    assert doc.span(("apiVersion",)).line == 2


def test_the_original_document_is_not_modified():
    diags = Diagnostics()
    text = "apiVersion: 0.1.0\nservices:\n  s:\n    source: {type: topic, id: a}\n"
    doc = load_text(text, "p.yaml", diags)
    before = (repr(doc.data), dict(doc.spans))
    upgrade(doc, "dataflow", "0.1.0", diags)
    assert (repr(doc.data), dict(doc.spans)) == before


# ---------------------------------------------------------------------------- endpoints


def test_singular_source_and_sink_become_lists():
    svc, doc, codes = service("""\
        source:
          type: topic
          id: a
        sink: {type: topic, id: b}
        """)
    assert codes == []
    assert svc == {"sources": [{"type": "topic", "id": "a"}], "sinks": [{"type": "topic", "id": "b"}]}
    assert key_line(doc, "sources") == 4
    assert value_line(doc, "sources", 0, "id") == 6
    assert key_line(doc, "sinks") == 7


def test_singular_and_plural_endpoint_together_is_an_error():
    svc, _, codes = service("""\
        source: {type: topic, id: a}
        sources: [{type: topic, id: b}]
        """)
    assert codes == [("E125", 4)]
    assert svc == {"sources": [{"type": "topic", "id": "b"}]}  # the one that could not be placed is left out


def test_endpoint_steps_become_transforms():
    svc, doc, codes = service(
        """\
        sinks:
          - type: topic
            id: b
            steps:
              - operator: filter
                run: "fn f(x: u8) -> Result<bool, String> { Ok(true) }"
        """,
        "0.3.0",
    )
    assert codes == []
    assert list(svc["sinks"][0]) == ["type", "id", "transforms"]
    assert key_line(doc, "sinks", 0, "transforms") == 7


def test_endpoint_with_steps_and_transforms_is_an_error():
    _, _, codes = service("sources: [{type: topic, id: a, steps: [], transforms: []}]\n", "0.4.0")
    assert codes == [("E125", 4)]


# ---------------------------------------------------------------------------- states


def test_preview_states_move_to_the_service_as_a_map():
    svc, doc, codes = service("""\
        source: {type: topic, id: a}
        transforms:
          states:
            - name: count
              type: keyed-state
              properties: {key: {type: string}, value: {type: u32}}
          steps:
            - operator: map
              run: x
        """)
    assert codes == []
    assert list(svc) == ["sources", "states", "transforms"]
    assert svc["states"] == {
        "count": {"type": "keyed-state", "properties": {"key": {"type": "string"}, "value": {"type": "u32"}}}
    }
    assert key_line(doc, "states") == 6
    assert key_line(doc, "states", "count") == 7
    assert value_line(doc, "states", "count", "type") == 8


def test_state_list_references_are_named_after_the_referenced_state():
    svc, doc, codes = service(
        """\
        states:
          - name: mine
            from: other.theirs
          - from: bank.balance
        """,
        "0.3.0",
    )
    assert codes == []
    assert svc["states"] == {"mine": {"from": "other.theirs"}, "balance": {"from": "bank.balance"}}
    assert key_line(doc, "states", "balance") == 7


def test_state_without_a_name_or_not_a_mapping_is_an_error():
    svc, _, codes = service(
        """\
        states:
          - type: keyed-state
          - just-a-name
          - name: ok
            type: keyed-state
        """,
        "0.3.0",
    )
    assert codes == [("E124", 5), ("E124", 6)]
    assert list(svc["states"]) == ["ok"]


def test_state_defined_twice_is_an_error():
    _, _, codes = service(
        """\
        states:
          - name: a
            type: keyed-state
          - name: a
            from: x.a
        """,
        "0.3.0",
    )
    assert codes == [("E125", 7)]


def test_service_states_and_preview_states_are_merged():
    svc, _, codes = service("""\
        states:
          - name: a
            from: x.a
        transforms:
          states:
            - name: b
              from: x.b
            - name: a
              from: y.a
        """)
    assert codes == [("E125", 11)]
    assert svc["states"] == {"a": {"from": "x.a"}, "b": {"from": "x.b"}}


def test_key_value_state_type_is_keyed_state():
    svc, doc, codes = service(
        """\
        transforms:
          states:
            count:
              type: key-value
              properties: {key: {type: string}, value: {type: u32}}
        """,
        "0.1.0",
    )
    assert codes == []
    assert svc["states"]["count"]["type"] == "keyed-state"
    assert value_line(doc, "states", "count", "type") == 7


def test_package_states_list_becomes_a_map():
    doc, codes = up(
        """\
        apiVersion: 0.4.0
        meta: {name: p, version: 0.1.0, namespace: n}
        states:
          - name: count
            type: keyed-state
        functions:
          f: {operator: map, states: [{name: count}]}
        """,
        "0.4.0",
        "package",
    )
    assert codes == []
    assert doc.data["apiVersion"] == "0.6.0"
    assert doc.data["states"] == {"count": {"type": "keyed-state"}}
    assert doc.data["functions"]["f"]["states"] == [{"name": "count"}]


# ---------------------------------------------------------------------------- preview steps


WINDOWED = """\
source: {type: topic, id: a}
transforms:
  window:
    tumbling: {duration: 20s}
  steps:
    - operator: flat-map
      run: split
    - operator: assign-timestamp
      run: ts
    - operator: map
      run: in-window
    - operator: group-by
      run: key
    - operator: filter
      run: in-partition
    - operator: process
      run: count
  flush:
    operator: aggregate
    run: top
sink: {type: topic, id: b}
"""


def test_preview_steps_with_a_window_fill_its_slots():
    svc, doc, codes = service(WINDOWED, "0.1.0")
    assert codes == []
    assert svc == {
        "sources": [{"type": "topic", "id": "a"}],
        "transforms": [{"operator": "flat-map", "run": "split"}],
        "window": {
            "tumbling": {"duration": "20s"},
            "assign-timestamp": {"run": "ts"},
            "transforms": [{"operator": "map", "run": "in-window"}],
            "partition": {
                "assign-key": {"run": "key"},
                "transforms": [{"operator": "filter", "run": "in-partition"}],
                "update-state": {"run": "count"},
            },
            "flush": {"run": "top"},
        },
        "sinks": [{"type": "topic", "id": "b"}],
    }
    assert key_line(doc, "transforms") == 8  # steps:
    assert key_line(doc, "window") == 6
    assert key_line(doc, "window", "assign-timestamp") == 11
    assert key_line(doc, "window", "transforms") == 13
    assert key_line(doc, "window", "partition") == 15
    assert key_line(doc, "window", "partition", "assign-key") == 15
    assert key_line(doc, "window", "partition", "transforms") == 17
    assert key_line(doc, "window", "partition", "update-state") == 19
    assert value_line(doc, "window", "partition", "update-state", "run") == 20
    assert key_line(doc, "window", "flush") == 21


def test_preview_steps_without_a_window_make_a_partition():
    svc, _, codes = service("""\
        transforms:
          steps:
            - operator: map
              run: parse
            - operator: assign-key
              run: key
            - operator: map
              run: call
        """)
    assert codes == []
    assert svc == {
        "transforms": [{"operator": "map", "run": "parse"}],
        "partition": {"assign-key": {"run": "key"}, "transforms": [{"operator": "map", "run": "call"}]},
    }


def test_preview_steps_without_window_operators_stay_a_list():
    svc, _, codes = service("transforms:\n  steps:\n    - operator: map\n      run: f\n")
    assert codes == []
    assert svc == {"transforms": [{"operator": "map", "run": "f"}]}
    svc, _, codes = service("transforms:\n  steps: []\n")
    assert (svc, codes) == ({"transforms": []}, [])


def test_steps_that_are_not_a_list_are_left_for_the_schema():
    svc, _, codes = service("transforms:\n  steps: oops\n")
    assert (svc, codes) == ({"transforms": "oops"}, [])


def test_a_step_after_update_state_is_an_error():
    _, _, codes = service("""\
        transforms:
          steps:
            - operator: assign-key
              run: k
            - operator: update-state
              run: u
            - operator: map
              run: m
        """)
    assert codes == [("E120", 10)]


def test_a_repeated_window_operator_is_an_error():
    svc, _, codes = service("""\
        transforms:
          steps:
            - operator: assign-key
              run: k1
            - operator: group-by
              run: k2
        """)
    assert codes == [("E121", 8)]
    assert svc["partition"] == {"assign-key": {"run": "k1"}}


def test_window_operators_out_of_order_are_errors():
    _, _, codes = service("""\
        transforms:
          window: {tumbling: {duration: 1s}}
          steps:
            - operator: update-state
              run: u
            - operator: assign-key
              run: k
            - operator: assign-timestamp
              run: t
        """)
    assert codes == [("E122", 7), ("E122", 11)]


def test_window_operators_without_a_window_are_errors():
    svc, _, codes = service("""\
        transforms:
          steps:
            - operator: assign-timestamp
              run: t
          flush:
            operator: aggregate
            run: f
        """)
    assert codes == [("E123", 6), ("E123", 8)]
    assert svc == {"transforms": []}


def test_unknown_key_in_a_preview_transforms_mapping_is_a_warning():
    diags = Diagnostics()
    doc = load_text("apiVersion: 0.2.0\nservices:\n  s:\n    transforms:\n      step: []\n", "p.yaml", diags)
    upgrade(doc, "dataflow", "0.2.0", diags)
    (warning,) = diags.items
    assert (warning.code, warning.severity, warning.span.line) == ("W020", "warning", 5)
    assert warning.hint == "did you mean `steps`?"


def test_a_preview_window_and_a_service_window_together_is_an_error():
    svc, _, codes = service("""\
        window: {tumbling: {duration: 1s}}
        transforms:
          window: {tumbling: {duration: 2s}}
        """)
    assert codes == [("E125", 6)]
    assert svc["window"] == {"tumbling": {"duration": "1s"}}


# ---------------------------------------------------------------------------- 0.4.0 partitions


def test_update_state_in_partition_transforms_becomes_the_slot():
    svc, doc, codes = service(
        """\
        window:
          tumbling: {duration: 1s}
          assign-timestamp: {run: t}
          partition:
            assign-key: {run: k}
            transforms:
              - operator: map
                run: m
              - operator: update-state
                run: u
        partition:
          assign-key: {run: k}
          transforms:
            - operator: update-state
              run: u
        """,
        "0.4.0",
    )
    assert codes == []
    assert svc["window"]["partition"] == {
        "assign-key": {"run": "k"},
        "transforms": [{"operator": "map", "run": "m"}],
        "update-state": {"run": "u"},
    }
    assert svc["partition"] == {"assign-key": {"run": "k"}, "update-state": {"run": "u"}}
    assert key_line(doc, "partition", "update-state") == 17
    assert key_line(doc, "window", "partition", "transforms") == 9


def test_a_step_after_update_state_in_partition_transforms_is_an_error():
    _, _, codes = service(
        """\
        partition:
          assign-key: {run: k}
          transforms:
            - operator: update-state
              run: u
            - operator: map
              run: m
        """,
        "0.4.0",
    )
    assert codes == [("E120", 9)]


def test_slots_lose_an_operator_that_names_them_only():
    svc, _, codes = service(
        """\
        window:
          tumbling: {duration: 1s}
          assign-timestamp: {operator: map, run: t}
          flush: {operator: aggregate, run: f}
        """,
        "0.4.0",
    )
    assert codes == []
    assert svc["window"]["flush"] == {"run": "f"}
    assert svc["window"]["assign-timestamp"] == {"operator": "map", "run": "t"}


# ---------------------------------------------------------------------------- functions


def test_http_adaptor_becomes_a_dependency_with_a_note():
    svc, doc, codes = service("""\
        transforms:
          steps:
            - operator: map
              adaptors:
                - http
              run: f
        """)
    assert codes == []
    assert svc["transforms"] == [
        {
            "operator": "map",
            "dependencies": [{"name": "ssdk-http", "git": "https://github.com/infinyon/ssdk-guest-http", "tag": "v0.3.0"}],
            "run": "f",
        }
    ]
    assert key_line(doc, "transforms", 0, "dependencies") == 7
    assert value_line(doc, "transforms", 0, "dependencies", 0, "name") == 8
    assert doc.notes == [
        "line 8: `adaptors: [http]` became a dependency on `ssdk-http` (https://github.com/infinyon/ssdk-guest-http, tag v0.3.0), "
        "the crate preview code calls as `ssdk_http::`"
    ]


def test_capabilities_and_existing_dependencies():
    svc, _, codes = service(
        """\
        transforms:
          steps:
            - operator: map
              dependencies: [{name: serde_json, version: "1"}]
              capabilities: [http]
              run: f
        """,
        "0.1.0",
    )
    assert codes == []
    assert [d["name"] for d in svc["transforms"][0]["dependencies"]] == ["serde_json", "ssdk-http"]
    assert "capabilities" not in svc["transforms"][0]


def test_unknown_adaptor_is_an_error():
    svc, _, codes = service("transforms:\n  steps:\n    - operator: map\n      adaptors: [http, smtp]\n      run: f\n")
    assert codes == [("E126", 7)]
    assert [d["name"] for d in svc["transforms"][0]["dependencies"]] == ["ssdk-http"]


FLUSH_010 = """\
transforms:
  window: {tumbling: {duration: 1s}}
  states:
    - name: count-per-word
      type: keyed-state
  flush:
    operator: aggregate
    run: |
      fn top(mut counts: CountPerWord) -> Result<Top, String> {
        counts.truncate(3);
        Ok(counts)
      }
"""


def test_010_flush_argument_reads_the_state_instead():
    svc, doc, codes = service(FLUSH_010, "0.1.0")
    assert codes == []
    run = svc["window"]["flush"]["run"]
    assert run.splitlines() == [
        "fn top() -> Result<Top, String> { let mut counts = count_per_word().clone();",
        "  counts.truncate(3);",
        "  Ok(counts)",
        "}",
    ]
    assert doc.notes == ["line 11: the 0.1.0 flush argument `counts` now reads the state with `count_per_word().clone()`"]


def test_020_flush_argument_is_left_for_the_checker():
    svc, _, codes = service(FLUSH_010, "0.2.0")
    assert codes == []
    assert svc["window"]["flush"]["run"].startswith("fn top(mut counts: CountPerWord)")


def test_010_flush_argument_naming_no_state_is_an_error():
    svc, _, codes = service(FLUSH_010.replace("CountPerWord", "Counts"), "0.1.0")
    assert codes == [("E127", 11)]


# ---------------------------------------------------------------------------- robustness


YAML_ISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(["http", "map", "assign-key", "process", "x.y", ""])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["source", "sources", "sink", "steps", "transforms", "states", "window", "flush", "partition", "operator"]
                + ["name", "from", "type", "adaptors", "run", "update-state", "assign-key", "dependencies", "tumbling"]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    services=st.dictionaries(st.sampled_from(["a", "b"]), YAML_ISH, max_size=2),
    version=st.sampled_from(["0.1.0", "0.3.0", "0.4.0"]),
)
def test_odd_input_never_raises_and_keeps_every_position(services, version):
    doc = Document("p.yaml", "", {"apiVersion": version, "services": services})
    result = upgrade(doc, "dataflow", version, Diagnostics())
    text = emit_yaml(result)
    assert load_text(text, "q.yaml", Diagnostics()).data == result.data

    def paths(node, path=()):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            yield from paths(v, path + (k,))

    assert set(paths(result.data)) == set(result.spans)
