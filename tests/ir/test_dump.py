"""Dumps: the text plan reads like Topology.describe(); DOT and Mermaid are well formed."""

import re
import shutil
import subprocess

import corpus
import ir_fixtures as F
import pytest
from sscc import ast as A
from sscc.ir.dump import FORMATS, dump
from sscc.ir.lower import lower
from sscc.ir.serialize import to_json
from sscc.passes import optimize

TWO_SERVICES = """\
Pipeline tests/demo@0.1.0  (dataflow.yaml, apiVersion 0.5.0)

Topics
  sentence: value string [json]  from outside to split-words
  words: value string [json]  from split-words to count-words  internal: in-process candidate, kept durable

Service split-words
  Source sources/0 (topic sentence)
    --> fused:sources/0/decode : bytes
  Fused[decode -> split -> encode] fused:sources/0/decode [rust] at L:C
    --> sinks/0 : bytes
  Sink sinks/0 (topic words)
    --> topic words : bytes

Service count-words
  state count-per-word: value state, key string, value u32
  Source sources/0 (topic words)
    --> sources/0/decode : bytes
  Decode sources/0/decode (json: string)
    --> partition/assign-key : string
  AssignKey partition/assign-key key-by-word [rust] at L:C
    --> partition/update-state : string, key ?
  UpdateState partition/update-state count-word [rust] writes count-per-word at L:C

Passes: dead_code, internal_topics, fuse
Decisions
  [internal_topics] topics/words: in-process candidate, kept durable -- written by split-words and read by count-words, all in this pipeline
  [fuse] split-words fused:sources/0/decode: Fused[decode -> split -> encode] -- 3 stateless rust operators, each with one producer and one consumer: one call per batch"""


def text(ir):
    return re.sub(r" at \d+:\d+", " at L:C", dump(ir, "text"))


def test_text_dump_of_two_services_through_a_topic():
    assert text(optimize(lower(F.two_services()))) == TWO_SERVICES


def test_text_dump_shows_window_close_fan_in_and_notes():
    win = text(lower(F.windowed()))
    assert "  Window window (tumbling 20s)\n" in win
    assert "    ~~> window/flush : on window close\n" in win
    assert "  Flush window/flush top-words [rust] reads counts at L:C\n" in win
    assert win.endswith("Passes: none (unoptimized)")
    merged = text(lower(F.merge()))
    assert "    <-- sources/0/transforms/0\n    <-- sources/1/transforms/0\n" in merged
    s = F.svc("s", ["in"], ["out"], transforms=[("filter", "never", "rust", "Ok(false)")])
    noted = text(optimize(lower(F.pipeline([s], [F.topic("in"), F.topic("out")]))))
    assert re.search(r"Notes\n  \[dead_code\] dataflow\.yaml:\d+:5: always-false-filter: filter `never` always returns false; never run: sink to `out`", noted)


def test_window_parameters_are_shown():
    checked = F.pipeline(
        [F.svc("w", ["in"], ["out"], window={"kind": "sliding", "duration_ms": 90_000, "slide_ms": 1500, "assign-timestamp": ("assign-timestamp", "ts", "rust"), "flush": ("flush", "f", "rust")})],
        [F.topic("in"), F.topic("out")],
    )
    win = checked.pipeline.services["w"].window
    win.offset_ms = 0
    win.watermark = A.Watermark("5s", "1m", 5000, 60_000)
    assert "  Window window (sliding 90s slide 1500ms offset 0ms idleness 5s grace 1m)\n" in text(lower(checked))


def test_json_dump_is_the_serialized_ir_and_unknown_formats_are_refused():
    ir = lower(F.split())
    assert dump(ir, "json") == to_json(ir)
    assert set(FORMATS) == {"text", "json", "dot", "mermaid"}
    with pytest.raises(ValueError, match="unknown dump format `svg`"):
        dump(ir, "svg")


# ---------------------------------------------------------------------------- diagram sanity

MERMAID = {
    "topic": re.compile(r'^  (n\d+)\[\("[^"<>]*(?:<br/>[^"<>]*)*"\)\]$'),
    "subgraph": re.compile(r'^  subgraph s\d+\["[^"<>]*"\]$'),
    "node": re.compile(r'^    (n\d+)\["[^"<>]*(?:<br/>[^"<>]*)*"\]$'),
    "end": re.compile(r"^  end$"),
    "edge": re.compile(r'^  (n\d+) (?:-->|-\.->)\|"[^"<>]*"\| (n\d+)$'),
}


def check_mermaid(src: str) -> None:
    lines = src.split("\n")
    assert lines[0] == "flowchart LR"
    defined, used, depth = [], [], 0
    for ln in lines[1:]:
        kind, m = next(((k, p.match(ln)) for k, p in MERMAID.items() if p.match(ln)), (None, None))
        assert kind, f"not a Mermaid line we emit: {ln!r}"
        depth += {"subgraph": 1, "end": -1}.get(kind, 0)
        assert depth in (0, 1), "subgraphs are not nested and every one is closed"
        if kind in ("topic", "node"):
            defined.append(m.group(1))
        elif kind == "edge":
            used += [m.group(1), m.group(2)]
    assert depth == 0
    assert len(defined) == len(set(defined)) and set(used) <= set(defined)


def _dot_tokens(src: str) -> list[str]:
    """DOT tokens with quoted strings kept whole; fails on an unterminated string."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|->|[{}\[\];=,]|[A-Za-z_][\w]*|\S', src)
    assert all(len(t) > 1 and t.endswith('"') for t in tokens if t.startswith('"')), "unterminated string"
    return tokens


def check_dot(src: str) -> None:
    tokens = _dot_tokens(src)
    assert tokens[:3] == ["digraph", tokens[1], "{"] and tokens[1].startswith('"') and tokens[-1] == "}"
    depth = 0
    for t in tokens:
        depth += {"{": 1, "}": -1}.get(t, 0)
        assert depth >= 0
    assert depth == 0
    defined = set(re.findall(r"^\s+(n\d+) \[", src, re.M))
    for a, b in re.findall(r"^\s+(n\d+) -> (n\d+) \[", src, re.M):
        assert a in defined and b in defined


def test_the_structural_checks_reject_broken_diagrams():
    with pytest.raises(AssertionError):
        check_mermaid('flowchart LR\n    n0["a"b"]')
    with pytest.raises(AssertionError):
        check_mermaid('flowchart LR\n  subgraph s0["x"]\n    n0["a"]\n  n0 -->|"t"| n1\n  end')
    with pytest.raises(AssertionError):
        check_dot('digraph "x" {\n  n0 [label="a"];\n')
    with pytest.raises(AssertionError):
        check_dot('digraph "x" {\n  n0 [label="a];\n}')


def run_dot(src: str) -> None:
    done = subprocess.run(["dot", "-Tsvg"], input=src, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr


def odd_names():
    """Names with every character the diagram syntaxes care about."""
    s = F.svc('we"ird <svc> #1', ["in put"], ['out\\"'], transforms=[("map", "m", "rust")])
    return lower(F.pipeline([s], [F.topic("in put"), F.topic('out\\"')]))


FIXTURES = [F.split_sentence, F.merge, F.split, F.two_services, F.windowed]


@pytest.mark.parametrize("make", FIXTURES + [odd_names], ids=lambda f: f.__name__)
def test_diagrams_of_fixtures_are_well_formed(make):
    ir = make() if make is odd_names else lower(make())
    for g in (ir, optimize(ir)):
        check_mermaid(dump(g, "mermaid"))
        check_dot(dump(g, "dot"))


def test_diagram_labels_are_escaped():
    ir = odd_names()
    mer, dot = dump(ir, "mermaid"), dump(ir, "dot")
    assert 'subgraph s0["we#quot;ird #lt;svc#gt; #35;1"]' in mer
    assert 'label="we\\"ird <svc> #1";' in dot
    assert 'label="topic out\\\\\\""' in dot


def test_a_close_edge_is_dashed():
    ir = lower(F.windowed())
    assert re.search(r'^  n\d+ -\.->\|"on window close"\| n\d+$', dump(ir, "mermaid"), re.M)
    assert re.search(r'n\d+ -> n\d+ \[label="on window close", style=dashed\];', dump(ir, "dot"))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize("make", FIXTURES + [odd_names], ids=lambda f: f.__name__)
def test_graphviz_accepts_the_dot_of_fixtures(make):
    ir = make() if make is odd_names else lower(make())
    run_dot(dump(optimize(ir), "dot"))


@pytest.mark.parametrize("name", corpus.dataflow_files())
def test_corpus_diagrams_are_well_formed(name):
    ir = optimize(corpus.lowered(name))
    check_mermaid(dump(ir, "mermaid"))
    dot = dump(ir, "dot")
    check_dot(dot)
    if shutil.which("dot"):
        run_dot(dot)
    assert dump(ir, "text").startswith("Pipeline ")
