"""Stage planning (sscc.backend.stages): which nodes run as which export, and where the runtime runs them."""

import pytest
from sscc import driver
from sscc.backend.stages import plan

HEAD = """\
apiVersion: 0.5.0
meta: {name: p, version: 0.1.0, namespace: t}
config: {converter: raw}
topics:
  a: {schema: {value: {type: string}}}
  b: {schema: {value: {type: string}}}
  out: {schema: {value: {type: string}}}
  out2: {schema: {value: {type: string}}}
services:
"""


def fn(kind: str, name: str, body: str = "Ok(s)", ret: str = "String") -> str:
    """A transforms item as one flow mapping, so it can sit at any indentation."""
    return f'{{operator: {kind}, run: "fn {name}(s: String) -> Result<{ret}> {{ {body} }}"}}'


def plans(tmp_path, services: str, optimize: bool = True):
    path = tmp_path / "dataflow.yaml"
    path.write_text(HEAD + services)
    fe = driver.front_end(str(path), driver.Options(mode="compile"))
    assert fe.ok, [d.message for d in fe.diags.items]
    return plan(driver.optimized_ir(fe, driver.Options(optimize=optimize)))


def summary(p):
    return [(s.export, s.place, s.endpoint, s.name) for s in p.stages]


def test_one_source_one_sink_fuses_into_one_source_stage(tmp_path):
    (p,) = plans(tmp_path, f"""\
  s:
    sources: [{{type: topic, id: a}}]
    transforms: [{fn("map", "up", "Ok(s.to_uppercase())")}]
    sinks: [{{type: topic, id: out}}]
""")
    assert p.runnable
    assert summary(p) == [("sscc_stage_0", "source", 0, "decode -> up -> encode")]
    (stage,) = p.stages
    assert stage.reads_topic and stage.writes_topic
    assert [s.topic for s in p.sources] == ["a"] and [s.topic for s in p.sinks] == ["out"]


def test_without_optimization_every_node_is_its_own_stage_in_order(tmp_path):
    (p,) = plans(tmp_path, f"""\
  s:
    sources: [{{type: topic, id: a}}]
    transforms: [{fn("map", "up")}, {fn("filter", "keep", "Ok(true)", "bool")}]
    sinks: [{{type: topic, id: out}}]
""", optimize=False)
    assert [s.name for s in p.stages] == ["decode", "up", "keep", "encode"]
    assert [s.index for s in p.stages] == [0, 1, 2, 3]
    assert not p.stages[1].reads_topic and not p.stages[1].writes_topic
    assert p.stages[0].reads_topic and p.stages[-1].writes_topic


def test_merge_places_per_source_stages_then_service_stages(tmp_path):
    (p,) = plans(tmp_path, f"""\
  s:
    sources:
      - {{type: topic, id: a, transforms: [{fn("map", "from_a")}]}}
      - {{type: topic, id: b}}
    transforms: [{fn("map", "both")}]
    sinks: [{{type: topic, id: out}}]
""")
    places = {s.name: (s.place, s.endpoint) for s in p.stages}
    assert places == {"decode -> from-a": ("source", 0), "decode": ("source", 1), "both -> encode": ("service", -1)}
    assert [s.place for s in p.stages] == ["source", "source", "service"]  # run order


def test_split_places_per_sink_stages_after_the_fan_out(tmp_path):
    (p,) = plans(tmp_path, f"""\
  s:
    sources: [{{type: topic, id: a}}]
    sinks:
      - {{type: topic, id: out, transforms: [{fn("filter", "short", "Ok(s.len() < 5)", "bool")}]}}
      - {{type: topic, id: out2}}
""")
    places = {s.name: (s.place, s.endpoint) for s in p.stages}
    assert places == {"decode": ("source", 0), "short -> encode": ("sink", 0), "encode": ("sink", 1)}
    assert p.stages_at("sink", 1)[0].writes_topic


VALUE_STATE = """\
  s:
    sources: [{type: topic, id: a}]
    states:
      count:
        type: keyed-state
        properties: {key: {type: string}, value: {type: u32}}
    partition:
      assign-key:
        run: |
          fn key_of(s: String) -> Result<String> { Ok(s) }
      update-state:
        run: |
          fn bump(s: String) -> Result<()> { count().increment(1); Ok(()) }
"""


def test_value_state_partitions_join_the_chain_before_them(tmp_path):
    (p,) = plans(tmp_path, VALUE_STATE)
    assert p.runnable, p.unsupported
    assert [st.name for st in p.states] == ["count"]
    (stage,) = p.stages_at("source", 0)
    assert [m.op for m in stage.members] == ["decode", "assign-key", "update-state"]
    assert stage.name == "decode -> key-of -> bump" and stage.reads_topic
    # update-state emits nothing: the stage's "output" edge is the one into it, keyed by assign-key.
    assert (stage.output.src, stage.output.dst) == (stage.members[1].id, stage.members[2].id)
    assert stage.output.key is not None
    assert stage.input == p.stages[0].input and stage.input.src.endswith("sources/0")
    # For several state shards (docs/scale-out.md) the same steps are cut after assign-key: the
    # part before the repartition topic ends in the keyed edge, the keyed part starts from it.
    (before,), (keyed,) = p.stages_at("repartition", 0), p.stages_at("keyed")
    assert [m.op for m in before.members] == ["decode", "assign-key"] and before.reads_topic
    assert [m.op for m in keyed.members] == ["update-state"]
    assert before.output == keyed.input == stage.output and keyed.input.key is not None
    assert len({s.export for s in p.stages}) == 3 and keyed.node.id != before.node.id


def test_without_fusion_the_partition_steps_are_stages_of_their_own(tmp_path):
    (p,) = plans(tmp_path, VALUE_STATE, optimize=False)
    assert p.runnable, p.unsupported
    ordinary = p.stages_at("source", 0)
    assert [[m.op for m in s.members] for s in ordinary] == [["decode"], ["assign-key"], ["update-state"]]
    assert ordinary[-1].output == ordinary[-1].input
    split = [(s.place, [m.op for m in s.members]) for s in p.stages[3:]]
    assert split == [("repartition", ["decode"]), ("repartition", ["assign-key"]), ("keyed", ["update-state"])]


def test_arrow_row_states_are_planned_and_from_references_pair_with_their_owner(tmp_path):
    owner, reader = plans(tmp_path, """\
  s:
    sources: [{type: topic, id: a}]
    states:
      row-state:
        type: keyed-state
        properties: {key: {type: string}, value: {type: arrow-row, properties: {n: {type: u32}}}}
    partition:
      assign-key:
        run: |
          fn key_of(s: String) -> Result<String> { Ok(s) }
      update-state:
        run: |
          fn bump(s: String) -> Result<()> { let mut r = row_state(); r.n += 1; r.update()?; Ok(()) }
  r:
    sources: [{type: topic, id: a}]
    states:
      row-state: {from: s.row-state}
    transforms:
      - operator: map
        run: |
          fn look(s: String) -> Result<String> { let df = sql("select * from row_state")?; Ok(s) }
""")
    assert owner.runnable and reader.runnable, (owner.unsupported, reader.unsupported)
    assert [(st.name, st.kind) for st in owner.states] == [("row-state", "arrow-row")] and owner.refs == ()
    assert reader.states == ()
    assert [(ref.name, held.id) for ref, held in reader.refs] == [("row-state", "s.row-state")]


@pytest.mark.parametrize("optimize", [True, False])
def test_every_stage_input_matches_the_previous_output(tmp_path, optimize):
    words = fn("flat-map", "words", "Ok(s.split(' ').map(String::from).collect())", "Vec<String>")
    (p,) = plans(tmp_path, f"""\
  s:
    sources: [{{type: topic, id: a}}]
    transforms: [{words}, {fn("map", "shout")}]
    sinks: [{{type: topic, id: out}}]
""", optimize=optimize)
    assert len(p.stages) == (1 if optimize else 4)
    for before, after in zip(p.stages, p.stages[1:]):
        assert before.output.type == after.input.type
