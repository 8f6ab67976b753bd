"""Broken snippets: each gives one diagnostic with the right code, position and fix."""

import pytest
from schema_helpers import META, run

TOPICS = """\
topics:
  words:
    schema:
      value:
        type: string
"""


def service(body: str, version: str = "0.6.0") -> str:
    """A file whose one service is `body` (indented under `services: s:`); the body starts at line 13."""
    lines = "\n".join("    " + line if line else line for line in body.splitlines())
    return f"apiVersion: {version}\n{META}{TOPICS}services:\n  s:\n{lines}\n"


SOURCE = "sources:\n  - type: topic\n    id: words\n"

# (id, text, kind, version, code, line, col, words in the message, words in the hint)
CASES = [
    # E010 missing required key -------------------------------------------------------------
    ("no-apiVersion", META + "services: {}\n", "dataflow", "0.6.0",
     "E010", 1, 1, "missing required key `apiVersion` at the top level", "apiVersion: 0.6.0"),
    ("no-meta-name", "apiVersion: 0.6.0\nmeta:\n  version: 0.1.0\n  namespace: n\nservices: {}\n", "dataflow", "0.6.0",
     "E010", 2, 1, "missing required key `name` in meta", "add `name:`"),
    ("source-without-id", service("sources:\n  - type: topic\n"), "dataflow", "0.6.0",
     "E010", 14, 9, "missing required key `id` in source", "add `id:`"),
    ("window-without-assign-timestamp",
     service(SOURCE + "window:\n  tumbling:\n    duration: 10s\n  flush:\n    run: x\n"), "dataflow", "0.6.0",
     "E010", 16, 5, "missing required key `assign-timestamp` in window", "add `assign-timestamp:`"),
    ("window-without-kind", service(SOURCE + "window:\n  assign-timestamp:\n    run: x\n"), "dataflow", "0.6.0",
     "E010", 16, 5, "missing one of the keys `tumbling` or `sliding` in window", "tumbling: {duration: 10s}"),
    ("step-without-code", service(SOURCE + "transforms:\n  - operator: map\n"), "dataflow", "0.6.0",
     "E010", 17, 9, "missing one of the keys `run` or `uses` in transform step", "`run:` with inline code"),
    ("object-without-properties", "apiVersion: 0.6.0\n" + META + "types:\n  car:\n    type: object\nservices: {}\n",
     "dataflow", "0.6.0", "E010", 7, 3, "missing required key `properties` in type definition", "add `properties:`"),
    # E011 wrong value type -----------------------------------------------------------------
    ("duration-number",
     service(SOURCE + "window:\n  tumbling:\n    duration: 10\n  assign-timestamp:\n    run: x\n"), "dataflow", "0.6.0",
     "E011", 18, 19, "`duration` must be a string like `10s`, found a number", "`10s`"),
    ("version-float", "apiVersion: 0.6.0\nmeta:\n  name: d\n  version: 0.1\n  namespace: n\nservices: {}\n",
     "dataflow", "0.6.0", "E011", 4, 12, "`version` must be a version like `0.1.0`, found a number",
     'quote it: `version: "0.1"`'),
    ("states-list-after-0.4", service(SOURCE + "states:\n  - name: count\n", "0.5.0"), "dataflow", "0.5.0",
     "E011", 16, 5, "`states` must be a mapping, found a list", "the list form (`- name: ...`) is apiVersion 0.4.0"),
    ("type-shorthand", "apiVersion: 0.6.0\n" + META + "types:\n  word: string\nservices: {}\n", "dataflow", "0.6.0",
     "E011", 7, 9, "`word` must be a mapping, found a string", "`{type: string}`"),
    ("empty-value", "apiVersion: 0.6.0\n" + META + "topics:\n  words:\n    schema:\nservices: {}\n",
     "dataflow", "0.6.0", "E011", 8, 5, "`schema` must be a mapping, found nothing", "indent its keys under it"),
    # E012 value not allowed ----------------------------------------------------------------
    ("operator-snake", service(SOURCE + "transforms:\n  - operator: flat_map\n    run: x\n"), "dataflow", "0.6.0",
     "E012", 17, 19, "`operator` must be one of `map`, `filter`, `filter-map`, `flat-map`, found `flat_map`",
     "did you mean `flat-map`?"),
    ("operator-run-together", service(SOURCE + "transforms:\n  - operator: filtermap\n    run: x\n"), "dataflow",
     "0.6.0", "E012", 17, 19, "found `filtermap`", "did you mean `filter-map`?"),
    ("operator-slot", service(SOURCE + "transforms:\n  - operator: assign-key\n    run: x\n"), "dataflow", "0.6.0",
     "E012", 17, 19, "found `assign-key`", "write it as the `assign-key:` key of `partition:`"),
    ("converter", "apiVersion: 0.6.0\n" + META + "config:\n  converter: jsn\nservices: {}\n", "dataflow", "0.6.0",
     "E012", 7, 14, "`converter` must be one of `json`, `raw`, found `jsn`", "did you mean `json`?"),
    ("position", "apiVersion: 0.6.0\n" + META
     + "config:\n  consumer:\n    default_starting_offset:\n      position: Begining\n      value: 0\nservices: {}\n",
     "dataflow", "0.6.0", "E012", 9, 17, "found `Begining`", "did you mean `Beginning`?"),
    ("schedule-source-before-0.6", service("sources:\n  - type: schedule\n    id: tick\n", "0.5.0"), "dataflow",
     "0.5.0", "E012", 14, 15, "`type` must be `topic`, found `schedule`", "needs `apiVersion: 0.6.0`"),
    ("column-type", "apiVersion: 0.6.0\n" + META
     + "types:\n  row:\n    type: arrow-row\n    properties:\n      count:\n        type: i23\nservices: {}\n",
     "dataflow", "0.6.0", "E012", 11, 15, "`type` must be a primitive column type", "did you mean `i32`?"),
    ("state-not-keyed", service(SOURCE + "states:\n  count:\n    type: u32\n"), "dataflow", "0.6.0",
     "E012", 18, 15, "`type` must be `keyed-state`, found `u32`", "`type: keyed-state`"),
    ("package-flush", "apiVersion: 0.6.0\n" + META + "functions:\n  total:\n    operator: flush\n", "package", "0.6.0",
     "E012", 8, 15, "found `flush`", "`operator: aggregate`"),
    # E014 empty list -----------------------------------------------------------------------
    ("no-sources", service("sources: []\n"), "dataflow", "0.6.0", "E014", 13, 5, "`sources` is empty",
     "add at least one item"),
    # E015 keys that exclude each other -----------------------------------------------------
    ("window-and-partition",
     service(SOURCE + "partition:\n  assign-key:\n    run: x\nwindow:\n  tumbling: {duration: 5s}\n"
             "  assign-timestamp: {run: x}\n"), "dataflow", "0.6.0",
     "E015", 19, 5, "`partition` and `window` cannot be used together in service", "keep one of"),
    ("alias-twice", service(SOURCE + "partition:\n  assign-key:\n    run: x\n  assign_key:\n    run: x\n"),
     "dataflow", "0.6.0", "E015", 19, 7, "`assign_key` is another spelling of `assign-key`", "keep only `assign-key`"),
    ("tumbling-and-sliding",
     service(SOURCE + "window:\n  tumbling: {duration: 5s}\n  sliding: {duration: 5s, slide: 1s}\n"
             "  assign-timestamp: {run: x}\n"), "dataflow", "0.6.0",
     "E015", 18, 7, "`tumbling` and `sliding` cannot be used together in window", "keep one of"),
    # E016 text of the wrong form -----------------------------------------------------------
    ("pkg", "apiVersion: 0.6.0\n" + META + "imports:\n  - pkg: example-types@0.1.0\nservices: {}\n", "dataflow",
     "0.6.0", "E016", 7, 10, "`pkg` must be a package like `namespace/name@0.1.0`", "example/my-package@0.1.0"),
    ("state-ref", service(SOURCE + "states:\n  count:\n    from: counter\n"), "dataflow", "0.6.0",
     "E016", 18, 15, "`from` must be a reference like `service.state`, found `counter`", None),
    # E017 number out of range --------------------------------------------------------------
    ("max-bytes", "apiVersion: 0.6.0\n" + META + "config:\n  consumer:\n    max_bytes: -1\nservices: {}\n",
     "dataflow", "0.6.0", "E017", 8, 16, "`max_bytes` must be at least 0, found -1", None),
    ("negative-beginning", "apiVersion: 0.6.0\n" + META
     + "config:\n  consumer:\n    default_starting_offset: {position: Beginning, value: -2}\nservices: {}\n",
     "dataflow", "0.6.0", "E017", 8, 59, "`value` must be at least 0, found -2", None),
    # W001 unknown key ----------------------------------------------------------------------
    ("typo", "apiVersion: 0.6.0\n" + META + TOPICS + "    conumser:\n      max_bytes: 10\nservices: {}\n",
     "dataflow", "0.6.0", "W001", 11, 5, "unknown key `conumser` in topic", "did you mean `consumer`?"),
    ("language", "apiVersion: 0.5.0\n" + META + "functions:\n  f:\n    operator: map\n    language: rust\n",
     "package", "0.5.0", "W001", 9, 5, "unknown key `language` in package function", "did you mean `lang`?"),
    ("too-high", "apiVersion: 0.6.0\n" + META + TOPICS + "    converter: raw\nservices: {}\n", "dataflow", "0.6.0",
     "W001", 11, 5, "unknown key `converter` in topic", "`converter` is a key of `schema.key` or `schema.value`"),
    ("nothing-close", "apiVersion: 0.6.0\n" + META + "dev:\n  states: []\nservices: {}\n", "dataflow", "0.6.0",
     "W001", 7, 3, "unknown key `states` in dev", "known keys here: `converter`, `imports`, `topics`"),
    # W010 key of a later apiVersion --------------------------------------------------------
    ("with-before-0.6", service(SOURCE + "transforms:\n  - operator: map\n    uses: f\n    with: {a: b}\n", "0.5.0"),
     "dataflow", "0.5.0", "W010", 19, 9, "`with` needs apiVersion 0.6.0 or later; this file is 0.5.0",
     "`apiVersion: 0.6.0`"),
    ("schedule-before-0.6", "apiVersion: 0.5.0\n" + META + "schedule:\n  tick: {cron: '* * * * *'}\nservices: {}\n",
     "dataflow", "0.5.0", "W010", 6, 1, "`schedule` needs apiVersion 0.6.0", None),
    # W011 key the type tag does not read ---------------------------------------------------
    ("tag-typo", "apiVersion: 0.6.0\n" + META + "types:\n  car:\n    type: objct\n    properties: {}\nservices: {}\n",
     "dataflow", "0.6.0", "W011", 9, 5, "`properties` has no effect with `type: objct`", "did you mean `type: object`?"),
    ("tag-mismatch", "apiVersion: 0.6.0\n" + META + "types:\n  w:\n    type: string\n    items: {type: u8}\n"
     "services: {}\n", "dataflow", "0.6.0", "W011", 9, 5, "`items` has no effect with `type: string`",
     "`items` is read only when `type` is `list`"),
]  # fmt: skip


@pytest.mark.parametrize(
    "text,kind,version,code,line,col,message,hint", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_snippet_gives_one_precise_diagnostic(text, kind, version, code, line, col, message, hint):
    ok, diags = run(text, kind, version)
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [(code, line, col)], [str(d) for d in diags]
    assert message in diags[0].message
    if hint is not None:
        assert hint in diags[0].hint
    assert ok == code.startswith("W")


def test_an_unknown_key_is_one_warning_and_no_error():
    ok, diags = run("apiVersion: 0.6.0\n" + META + "servics: {}\nservices: {}\n")
    assert ok
    assert [(d.code, d.message, d.hint) for d in diags] == [
        ("W001", "unknown key `servics` at the top level", "did you mean `services`?")
    ]


def test_free_form_maps_are_not_checked_for_unknown_keys():
    text = service(
        SOURCE + "transforms:\n  - operator: map\n    uses: f\n    with: {anything: goes}\n"
        "states:\n  any-name:\n    type: keyed-state\n    properties:\n      key: {type: string}\n"
        "      value: {type: arrow-row, properties: {some-column: {type: u32}}, ttl: 1m}\n"
    )
    assert run(text) == (True, [])


def test_all_errors_of_a_file_are_reported():
    text = service("sources:\n  - type: topik\n    id: words\nsinks:\n  - type: topic\n", "0.5.0")
    ok, diags = run(text, version="0.5.0")
    assert not ok
    assert [(d.code, d.span.line) for d in diags] == [("E012", 14), ("E010", 17)]


@pytest.mark.parametrize(
    "alias,canonical",
    [("steps", "transforms"), ("item", "items"), ("type_name", "type-name"), ("grace_period", "grace-period"),
     ("assign_key", "assign-key"), ("update_state", "update-state"), ("assign_timestamp", "assign-timestamp"),
     ("remote_cluster_profile", "remote-cluster-profile")],
)  # fmt: skip
def test_aliases_are_accepted(alias, canonical):
    text = f"""\
        apiVersion: 0.6.0
        {META.replace(chr(10), chr(10) + '        ')}
        types:
          words:
            type: list
            {alias if alias == 'item' else 'items'}:
              type: i32
              {alias if alias == 'type_name' else 'type-name'}: word
        topics:
          t:
            {alias if alias == 'remote_cluster_profile' else 'name'}: x
            schema: {{value: {{type: f64}}}}
        services:
          s:
            sources:
              - type: topic
                id: t
                {alias if alias == 'steps' else 'transforms'}:
                  - {{operator: map, run: x}}
            window:
              tumbling: {{duration: 5s}}
              watermark: {{{alias if alias == 'grace_period' else 'idleness'}: 1s}}
              {alias if alias == 'assign_timestamp' else 'assign-timestamp'}: {{run: x}}
              partition:
                {alias if alias == 'assign_key' else 'assign-key'}: {{run: x}}
                {alias if alias == 'update_state' else 'update-state'}: {{run: x}}
    """
    assert run(text) == (True, [])
