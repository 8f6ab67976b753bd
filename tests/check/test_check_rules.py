"""Behaviour of the checker beyond one-code-per-case: no cascades, packages, keys, versions, order."""

import textwrap

from check_helpers import check_text, codes
from sscc import ast as A
from sscc.check.typesys import Env, RT, hashable, resolve, same
from sscc.diagnostics import Span

HEAD = "apiVersion: 0.6.0\nmeta: {name: t, version: 0.1.0, namespace: test}\n"


def flow(body: str, **kw):
    return check_text(HEAD + textwrap.dedent(body), **kw)


# ---------------------------------------------------------------------------- type equality

SP = Span("t", 1, 1)


def T(kind, **kw):
    return A.Type(kind, SP, **kw)


def env_with(**defs):
    env = Env("t")
    for name, t in defs.items():
        env.define(name, t)
    return env


def test_aliases_of_primitives_equal_the_primitive():
    env = env_with(sentence=T("prim", name="string"), count=T("named", name="total"), total=T("prim", name="u32"))
    assert same(resolve(T("named", name="sentence"), env), resolve(T("prim", name="string"), env))
    assert same(resolve(T("named", name="count"), env), resolve(T("prim", name="u32"), env))
    assert not same(resolve(T("named", name="count"), env), resolve(T("prim", name="i32"), env))


def test_bytes_is_a_list_of_u8():
    env = env_with(raw=T("list", item=T("prim", name="u8")))
    assert same(resolve(T("named", name="raw"), env), resolve(T("prim", name="bytes"), env))


def test_records_are_nominal_but_match_an_inline_twin():
    fields = [A.Field("word", T("prim", name="string"), SP)]
    env = env_with(a=T("object", fields=fields), b=T("object", fields=list(fields)))
    a, b = resolve(T("named", name="a"), env), resolve(T("named", name="b"), env)
    assert not same(a, b)
    assert same(a, resolve(T("object", fields=list(fields)), env))
    assert not same(a, resolve(T("object", fields=[A.Field("word", T("prim", name="u32"), SP)]), env))


def test_inline_type_name_is_a_name():
    inner = T("object", fields=[A.Field("x", T("prim", name="i32"), SP)], type_name="point")
    env = env_with(shape=T("object", fields=[A.Field("at", inner, SP)]), point=inner)
    assert resolve(inner, env).kind == "nom"
    assert same(resolve(inner, env), resolve(T("named", name="point"), env))


def test_unknown_matches_everything_and_hashable_follows_aliases():
    env = env_with(word=T("prim", name="string"))
    unknown = resolve(T("named", name="nowhere"), env)
    assert unknown.kind == "?" and same(unknown, resolve(T("prim", name="bool"), env))
    assert hashable(resolve(T("named", name="word"), env))
    assert not hashable(RT("list", item=resolve(T("prim", name="u8"), env)))


# ---------------------------------------------------------------------------- no cascades


def test_unknown_topic_type_gives_one_error_not_a_cascade():
    _c, diags = flow("""
        topics:
          words: {schema: {value: {type: wrod}}}
          out: {schema: {value: {type: u32}}}
        services:
          s:
            sources: [{type: topic, id: words}]
            transforms:
              - operator: map
                run: |
                  fn f(w: String) -> Result<u32> { Ok(1) }
            sinks: [{type: topic, id: out}]
        """)
    assert codes(diags) == ["E040"]


def test_every_error_of_a_file_is_reported():
    _c, diags = flow("""
        topics:
          words: {schema: {value: {type: string}}}
        services:
          a:
            sources: [{type: topic, id: word}]
            sinks: [{type: topic, id: word}]
          b:
            sources: [{type: topic, id: words}]
            transforms:
              - operator: filter
                run: |
                  fn f(w: u32) -> Result<u32> { Ok(w) }
        """)
    assert codes(diags) == ["E046", "E046", "E054", "E056"]


# ---------------------------------------------------------------------------- packages

DATAFLOW_WITH_IMPORT = """
    imports:
      - pkg: example/text@0.1.0
        types: [{name: word}]
        functions: [{name: sentence-to-words, alias: split}]
    topics:
      sentences: {schema: {value: {type: string}}}
      words: {schema: {value: {type: word}}}
    services:
      s:
        sources: [{type: topic, id: sentences}]
        transforms:
          - operator: flat-map
            uses: split
        sinks: [{type: topic, id: words}]
    """
PACKAGE = HEAD.replace("name: t,", "name: text,").replace("namespace: test", "namespace: example") + textwrap.dedent("""
    types:
      word: {type: string}
    functions:
      sentence-to-words:
        operator: flat-map
        inputs: [{name: sentence, type: string}]
        output: {type: word}
    """)


def test_missing_package_checks_quietly_and_is_recorded():
    checked, diags = flow(DATAFLOW_WITH_IMPORT)
    assert codes(diags) == []
    assert checked.unresolved_packages == ["example/text@0.1.0"]
    step = checked.pipeline.services["s"].transforms[0]
    assert step.function.resolved is False
    assert checked.functions["split"].resolved is False


def test_resolved_package_supplies_types_and_signatures():
    checked, diags = flow(DATAFLOW_WITH_IMPORT, packages={"example/text@0.1.0": PACKAGE})
    assert codes(diags) == []
    assert checked.unresolved_packages == []
    assert checked.functions["split"].declared_operator == "flat-map"
    assert "word" in checked.types
    io = checked.step_io["services/s/transforms/0"]
    assert io.in_type.describe() == "string" and io.out_type.describe() == "word"


def test_resolved_package_signature_is_type_checked():
    text = DATAFLOW_WITH_IMPORT.replace(
        "sentences: {schema: {value: {type: string}}}", "sentences: {schema: {value: {type: u64}}}"
    )
    _c, diags = flow(text, packages={"example/text@0.1.0": PACKAGE})
    assert codes(diags) == ["E054"]


def test_missing_package_with_declared_signature_is_checked_as_declared():
    text = DATAFLOW_WITH_IMPORT.replace(
        "            uses: split", "            uses: split\n            inputs: [{name: s, type: u64}]"
    )
    _c, diags = flow(text)
    assert codes(diags) == ["E054"]


# ---------------------------------------------------------------------------- keys


def test_keyed_output_sets_the_key_that_later_steps_read():
    checked, diags = flow("""
        types:
          user: {type: object, properties: {name: {type: string}, id: {type: u64}}}
        topics:
          users: {schema: {value: {type: user}}}
          names: {schema: {key: {type: u64}, value: {type: string}}}
        services:
          s:
            sources: [{type: topic, id: users}]
            transforms:
              - operator: map
                run: |
                  fn keyed(u: User) -> Result<(Option<u64>, User)> { Ok((Some(u.id), u)) }
              - operator: flat-map
                run: |
                  fn names(id: Option<u64>, u: User) -> Result<Vec<String>> { Ok(vec![u.name]) }
            sinks: [{type: topic, id: names}]
        """)
    assert codes(diags) == []
    first, second = checked.step_io["services/s/transforms/0"], checked.step_io["services/s/transforms/1"]
    assert first.key_in is None and first.key_out.describe() == "u64" and first.out_type.describe() == "user"
    assert second.key_in.describe() == "u64" and second.out_type.describe() == "string"


def test_sink_key_must_match_the_topic_key():
    _c, diags = flow("""
        topics:
          words: {schema: {value: {type: string}}}
          keyed: {schema: {key: {type: u32}, value: {type: string}}}
        services:
          s:
            sources: [{type: topic, id: words}]
            transforms:
              - operator: map
                run: |
                  fn k(w: String) -> Result<(Option<String>, String)> { Ok((Some(w.clone()), w)) }
            sinks: [{type: topic, id: keyed}]
        """)
    assert codes(diags) == ["E067"]


# ---------------------------------------------------------------------------- versions

FLUSH_WITH_STATE = """
    topics:
      words: {schema: {value: {type: string}}}
      counts: {schema: {value: {type: u32}}}
    services:
      s:
        sources: [{type: topic, id: words}]
        states:
          count-per-word: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
        window:
          tumbling: {duration: 5s}
          assign-timestamp:
            run: |
              fn ts(_w: String, t: i64) -> Result<i64> { Ok(t) }
          partition:
            assign-key:
              run: |
                fn k(w: String) -> Result<String> { Ok(w) }
            update-state:
              run: |
                fn u(_w: String) -> Result<()> { count_per_word().increment(1); Ok(()) }
          flush:
            run: |
              fn agg(counts: CountPerWord) -> Result<u32> { Ok(counts.len() as u32) }
        sinks: [{type: topic, id: counts}]
    """


def test_flush_taking_the_state_is_the_0_1_0_form_only():
    _c, diags = flow(FLUSH_WITH_STATE, upgraded_from="0.1.0")
    assert codes(diags) == []
    _c, diags = flow(FLUSH_WITH_STATE)
    assert codes(diags) == ["E062"]
    assert "count_per_word()" in diags.items[0].hint


def test_update_state_as_last_partition_transform_is_the_0_4_shape():
    body = """
        topics:
          words: {schema: {value: {type: string}}}
        services:
          s:
            sources: [{type: topic, id: words}]
            states:
              c: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
            partition:
              assign-key:
                run: |
                  fn k(w: String) -> Result<String> { Ok(w) }
              transforms:
                - operator: update-state
                  run: |
                    fn u(_w: String) -> Result<()> { c().increment(1); Ok(()) }
                %s
        """
    _c, diags = flow(body % "")
    assert codes(diags) == []
    later = "- operator: map\n                  run: |\n                    fn m(w: String) -> Result<String> { Ok(w) }"
    _c, diags = flow(body % later)
    assert codes(diags) == ["E052"]


def test_reference_is_in_scope_under_both_names():
    _c, diags = flow("""
        topics:
          a: {schema: {value: {type: string}}}
          b: {schema: {value: {type: string}}}
        services:
          owner:
            sources: [{type: topic, id: a}]
            states:
              seen: {type: keyed-state, properties: {key: {type: string}, value: {type: arrow-row, properties: {n: {type: u32}}}}}
            partition:
              assign-key:
                run: |
                  fn k(w: String) -> Result<String> { Ok(w) }
              update-state:
                run: |
                  fn u(_w: String) -> Result<()> { let mut r = seen(); r.n += 1; r.update()?; Ok(()) }
          reader:
            sources: [{type: topic, id: b}]
            states:
              tracker: {from: owner.seen}
            transforms:
              - operator: filter
                run: |
                  fn f(w: String) -> Result<bool> {
                    let t = seen();
                    let df = tracker().sql(&format!("select * from `seen` where _key = '{}'", w))?;
                    Ok(df.rows()?.next())
                  }
            sinks: []
        """)
    assert codes(diags) == []


# ---------------------------------------------------------------------------- services and packages


def test_service_order_puts_producers_first():
    checked, diags = flow("""
        topics:
          a: {schema: {value: {type: string}}}
          b: {schema: {value: {type: string}}}
          c: {schema: {value: {type: string}}}
        services:
          last:
            sources: [{type: topic, id: b}]
            sinks: [{type: topic, id: c}]
          first:
            sources: [{type: topic, id: a}]
            sinks: [{type: topic, id: b}]
          alone:
            sources: [{type: topic, id: c}]
            sinks: []
        """)
    assert codes(diags) == []
    assert checked.service_order == ["first", "last", "alone"]


def test_a_self_loop_is_a_cycle():
    _c, diags = flow("""
        topics:
          a: {schema: {value: {type: string}}}
        services:
          echo:
            sources: [{type: topic, id: a}]
            sinks: [{type: topic, id: a}]
        """)
    assert codes(diags) == ["E077"]
    assert "echo -> topic a -> echo" in diags.items[0].message


def test_types_fragment_checks_its_references():
    checked, diags = check_text("types:\n  a: {type: list, items: {type: b}}\n  b: {type: strin}\n", path="types.yaml")
    assert codes(diags) == ["E040"]
    assert set(checked.types) == {"a", "b"}


def test_package_function_signatures_are_checked():
    _c, diags = check_text(
        HEAD + textwrap.dedent("""
        functions:
          keep:
            operator: filter
            inputs: [{name: w, type: string}]
            output: {type: string}
          split:
            operator: flat-map
            inputs: [{name: s, type: string}]
            output: {type: string}
        """),
        path="sdf-package.yaml",
    )
    assert codes(diags) == ["E056"]


# ---------------------------------------------------------------------------- inline code

STATES = """
    topics:
      a: {schema: {value: {type: string}}}
      b: {schema: {value: {type: string}}}
    services:
      owner:
        sources: [{type: topic, id: a}]
        states:
          counter: {type: keyed-state, properties: {key: {type: string}, value: {type: u32}}}
          rows: {type: keyed-state, properties: {key: {type: string}, value: {type: arrow-row, properties: {n: {type: u32}}}}}
        partition:
          assign-key:
            run: |
              fn k(w: String) -> Result<String> { Ok(w) }
          update-state:
            run: |
              fn u(_w: String) -> Result<()> {
                %s
                Ok(())
              }
      reader:
        sources: [{type: topic, id: b}]
        states:
          counter: {from: owner.counter}
          rows: {from: owner.rows}
        transforms:
          - operator: map
            run: |
              fn m(w: String) -> Result<String> {
                %s
                Ok(w)
              }
        sinks: []
    """


def inline(owner_code: str, reader_code: str = "", extra: str = "") -> list:
    def block(code):
        return code.replace("\n", "\n" + " " * 16)

    _c, diags = flow(STATES % (block(owner_code), block(reader_code)) + extra)
    return codes(diags)


def test_state_apis_by_kind():
    assert inline("counter().increment(1); let mut r = rows(); r.n += 1; r.update()?;") == []
    assert inline('let r = rows(); let total = r.n; let df = sql("select * from rows")?;') == []
    assert inline("rows().increment(1);") == ["E076"]
    assert inline("counter().update();") == ["E076"]
    assert inline('let df = sql("select * from counter")?;') == ["E076"]


def test_writes_through_references():
    assert inline("", "let df = sql(&format!(\"select n from rows where _key = '{}'\", w))?;") == []
    assert inline("", "counter().increment(1);") == ["E073"]
    assert inline("", "let mut r = rows(); r.n = 0; r.update()?;") == ["E073", "E073"]


def test_strings_comments_closures_and_helpers_are_not_accessors():
    code = (
        "// counters() in a comment\n"
        'let s = "also counters() in a string";\n'
        "let f = || 1; let x = f();\n"
        "fn helper() -> u32 { 1 }\n"
        "let y = helper(); let z = key(); let v = Vec::<u32>::new(); println!();\n"
        "let g = move || 2; let h = g(); let k = [1].iter().map(|f| f()).count();\n"
        "fn apply(cb: fn() -> u32) -> u32 { cb() }"
    )
    assert inline(code) == []
    assert inline("use rand::*; let r = random(); let c = counterr();") == ["E074"]


def test_a_state_of_another_service_is_named_in_the_hint():
    third = """
      third:
        sources: [{type: topic, id: b}]
        transforms:
          - operator: map
            run: |
              fn t(w: String) -> Result<String> { let c = counter(); Ok(w) }
        sinks: []
    """
    _c, diags = flow(STATES % ("", "") + third)
    assert codes(diags) == ["E074"]
    assert "from: owner.counter" in diags.items[0].hint


def test_sql_over_an_expression_result_binds_no_state():
    assert inline("", 'let top = rows().sql("select * from rows")?; let n = top.rows()?;') == []


def test_types_in_scope_include_what_imports_reach():
    package = PACKAGE.replace(
        "  word: {type: string}", "  word: {type: string}\n  words: {type: list, items: {type: word}}\n  unused: {type: u8}"
    )
    text = DATAFLOW_WITH_IMPORT.replace("types: [{name: word}]", "types: [{name: words}]").replace(
        "{type: word}", "{type: words}"
    )
    checked, diags = flow(text, packages={"example/text@0.1.0": package})
    assert set(checked.types) == {"words", "word"}
    assert codes(diags) == ["E067"]  # the flat-map gives `word`, the topic holds `words`


def test_structural_errors_the_schema_reported_are_not_repeated():
    from sscc.check import check
    from sscc.diagnostics import Diagnostics
    from check_helpers import build

    text = HEAD + textwrap.dedent("""
        topics:
          a: {schema: {value: {type: string}}}
        services:
          s:
            sources: [{type: topic, id: a}]
            window:
              tumbling: {duration: 5s}
              flush:
                run: |
                  fn f() -> Result<String> { Ok(String::new()) }
            sinks: [{type: topic, id: a}]
        """)
    alone = Diagnostics()
    _k, pipe = build("dataflow.yaml", alone, text=text)
    check(pipe, {}, alone)
    assert codes(alone) == ["E064", "E077"]
    after_schema = Diagnostics()
    _k, pipe = build("dataflow.yaml", after_schema, text=text)
    window_line = pipe.services["s"].window.span.line
    after_schema.error("E010", Span("dataflow.yaml", window_line, 5), "missing required key `assign-timestamp` in window")
    check(pipe, {}, after_schema)
    assert codes(after_schema) == ["E010", "E077"]
