"""Runs one corpus pipeline through the real CLI on generated input and checks SDF invariants.

Shared by scripts/corpus_sweep.py (every built corpus file) and tests/corpus_run/ (a few files).
Inputs come from the IR types of the pipeline's source topics (sdf_values.samples) plus malformed
lines; the checks hold for any SDF pipeline:

- no traceback, every command exits 0;
- a well-typed input is never a `decode` dead letter, a malformed JSON line always is one;
- every dead letter names a reason, kind, service and an offset of the source topic;
- every sink record decodes as the sink topic's declared type with its converter;
- a service whose operators never return a key writes only keys it was given;
- a service of maps only writes exactly one record per input that is not dead-lettered;
- not every well-typed input fails in an operator (a pipeline that cannot work here at all).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "runtime_stub"))

import sdf_values  # noqa: E402
from sdf_values import STRINGS, conforms, resolve, samples  # noqa: E402
from sscc_runtime import frames  # noqa: E402
from sscc_runtime.store import Store  # noqa: E402

SEP = "\t"  # JSON never holds a raw tab, and the generated raw strings hold none
MALFORMED = ["not json", "{", "[1, 2", "", "   ", "\"unterminated"]
LONG = "x" * 200_000


@dataclass
class Finding:
    file: str
    check: str
    detail: str


@dataclass
class TopicInput:
    topic: str
    lines: list[bytes]
    keys: list  # per line: bytes or None
    valid: list  # per line: True (well-typed), False (malformed), None (unknown)


@dataclass
class Result:
    file: str
    findings: list[Finding] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # topic -> TopicInput
    outputs: dict = field(default_factory=dict)  # topic -> [Record]
    dead: dict = field(default_factory=dict)  # service -> [dict]
    skipped: str = ""

    def add(self, check: str, detail: str) -> None:
        self.findings.append(Finding(self.file, check, detail))


def needs_toolchain() -> None:
    """Skip a test when no Rust toolchain can build the operators (it names what to install)."""
    import pytest
    from sscc.backend.rust import toolchain

    found = toolchain.find()
    if isinstance(found, str):
        pytest.skip(found)


def load_ir(path: str):
    from sscc import driver

    options = driver.Options(mode="compile")
    fe = driver.front_end(path, options)
    return driver.optimized_ir(fe, options)


def _raw_ok(b: bytes, t, types) -> str | None:
    t = resolve(t, types)
    if t.kind == "prim" and t.name in ("string", "String", "str"):
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            return "raw string output is not UTF-8"
    return None


def code_literals(ir) -> list[str]:
    """String literals of the pipeline's inline code: values its filters and matches look for."""
    out = []
    for c in ir.code:
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', c.text):
            if lit and "\\" not in lit and "{" not in lit and lit not in out:
                out.append(lit)
    return out[:12]


def make_input(topic_node, types, extra_strings=()) -> TopicInput:
    t = resolve(topic_node.value, types)
    sdf_values.EXTRA[:] = list(extra_strings)
    lines: list[bytes] = []
    valid: list = []
    if topic_node.value_converter == "raw":
        if t.kind == "prim" and t.name in ("string", "String", "str"):
            for s in STRINGS + sdf_values.EXTRA + ["trailing space   ", "tab\u00a0nbsp", LONG]:
                lines.append(s.encode())
                valid.append(True)
            lines.append(b"\xff\xfe not utf-8")
            valid.append(False)
        else:
            for v in samples(t, types):
                lines.append(json.dumps(v).encode())
                valid.append(None)  # text numbers on a raw topic: see docs/runtime.md
    else:
        for v in samples(topic_node.value, types):
            lines.append(json.dumps(v, ensure_ascii=False).encode())
            valid.append(True)
        if lines:
            lines.append(lines[0] + b"   \r")  # trailing whitespace and CRLF
            valid.append(True)
        takes_string = t.kind == "prim" and t.name in ("string", "String", "str")
        for m in MALFORMED:
            lines.append(m.encode())
            valid.append(False if not takes_string else None)
        lines.append(b"\xff\xfe")
        valid.append(False)
    keys: list = []
    for i in range(len(lines)):
        if topic_node.key is None or i % 3 == 2:
            keys.append(None)
        else:
            keys.append(("k%d-ü" % (i % 5)).encode())
    return TopicInput(topic_node.name, lines, keys, valid)


def _cli(args: list[str], stdin: bytes | None = None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sscc", *args], input=stdin, capture_output=True, env=env, timeout=900
    )


def run_file(path: str, store: str | None = None, inputs: dict | None = None) -> Result:
    """Produce generated (or given) input into every source topic, run, read every topic back."""
    from sscc.ir.nodes import Encode, FnNode, Fused, Sink, Source, Topic

    res = Result(os.path.basename(path))
    ir = load_ir(path)
    types = {td.name: td.type for td in ir.types}
    topics = {n.topic: n for n in ir.nodes if isinstance(n, Topic)}
    written = {n.topic for n in ir.nodes if isinstance(n, Sink)}
    read = {n.topic for n in ir.nodes if isinstance(n, Source) and n.endpoint == "topic"}
    own_store = store is None
    tmp = tempfile.mkdtemp(prefix="sweep-") if own_store else store
    res.store = tmp
    for topic_id in sorted(read - written):
        node = topics[topic_id]
        ti = (inputs or {}).get(topic_id) or make_input(node, types, code_literals(ir))
        res.inputs[topic_id] = ti
        body = b"".join(((k + SEP.encode()) if k is not None else b"") + v + b"\n" for k, v in zip(ti.keys, ti.lines))
        args = ["topic", "produce", node.name, "--store", tmp, "--quiet"]
        if node.key is not None or any(k is not None for k in ti.keys):
            args += ["--key-separator", SEP]
        p = _cli(args, body)
        if p.returncode != 0 or b"Traceback" in p.stderr:
            res.add("produce", p.stderr.decode(errors="replace")[-400:])
            return res
    p = _cli(["run", path, "--store", tmp, "--until-idle", "--quiet"])
    if p.returncode != 0 or b"Traceback" in p.stderr:
        res.add("run", p.stderr.decode(errors="replace")[-600:])
        return res
    with Store(os.path.join(tmp, "store.db")) as st:
        have = st.topics()
        for topic_id in sorted(written):
            name = topics[topic_id].name
            res.outputs[topic_id] = _read_all(st, name) if name in have else []
        for svc in ir.services:
            # the store names a service namespace.pipeline.service (sscc_runtime/names.py)
            dl = next((t for t in have if t == f"{svc}.dead-letters" or t.endswith(f".{svc}.dead-letters")), None)
            res.dead[svc] = [json.loads(r.value) for r in _read_all(st, dl)] if dl else []
    _check(res, ir, types, topics, read, written)
    return res


def _read_all(st: Store, topic: str) -> list:
    out = []
    for p in range(st.partitions(topic)):
        first, end = st.bounds(topic, p)
        pos = first
        while pos < end:
            b = st.read(topic, p, pos, 4096)
            if not b.count:
                break
            out.extend(frames.iter_records(b.data))
            pos = b.base_offset + b.count
    return out


def _fn_nodes(ir, svc):
    from sscc.ir.nodes import FnNode, Fused

    out = []
    for n in ir.nodes:
        if n.service != svc:
            continue
        if isinstance(n, Fused):
            out += [m for m in n.nodes if isinstance(m, FnNode)]
        elif isinstance(n, FnNode):
            out.append(n)
    return out


def _returns_key(ir, fn) -> bool:
    code = ir.code_by_id(fn.code) if fn.code and hasattr(ir, "code_by_id") else None
    text = getattr(code, "text", "") or ""
    return bool(re.search(r"->\s*Result\s*<\s*(Option\s*<\s*|Vec\s*<\s*)?\(\s*Option", text))


def _check(res: Result, ir, types, topics, read, written) -> None:
    from sscc.ir.nodes import Map, Sink, Source

    for svc in ir.services:
        srcs = [n.topic for n in ir.nodes if isinstance(n, Source) and n.service == svc]
        sinks = [n.topic for n in ir.nodes if isinstance(n, Sink) and n.service == svc]
        dead = res.dead.get(svc, [])
        for d in dead:
            for k in ("reason", "kind", "service", "offset", "topic"):
                if k not in d:
                    res.add("dead-letter-shape", f"{svc}: {k} missing in {str(d)[:120]}")
        fns = _fn_nodes(ir, svc)
        for t in srcs:
            ti = res.inputs.get(t)
            if ti is None:
                continue
            by_offset = {d["offset"]: d for d in dead if d.get("topic") == topics[t].name}
            for off, ok in enumerate(ti.valid):
                d = by_offset.get(off)
                if ok is True and d is not None and d.get("kind") == "decode":
                    res.add("valid-input-dead", f"{svc}: line {off} {ti.lines[off][:80]!r}: {d['reason'][:160]}")
                if ok is False and (d is None or d.get("kind") != "decode"):
                    res.add("malformed-not-dead", f"{svc}: line {off} {ti.lines[off][:60]!r} -> {d and d.get('kind')}")
            live = [off for off, ok in enumerate(ti.valid) if ok is True]
            failed = [by_offset[o] for o in live if o in by_offset and by_offset[o].get("kind") in ("operator", "trap")]
            if live and len(failed) == len(live):
                res.add("every-input-failed", f"{svc}: all {len(live)} well-typed inputs failed, e.g. {failed[0]['reason'][:200]}")
            only_maps = all(isinstance(f, Map) for f in fns) and len(srcs) == 1
            in_keys = set(ti.keys)
            changes_key = any(_returns_key(ir, f) for f in fns)
            for s in sinks:
                outs = res.outputs.get(s, [])
                if only_maps and not changes_key and len(fns) > 0:
                    want = [k for off, k in enumerate(ti.keys) if off not in by_offset]
                    got = [r.key for r in outs]
                    if len(sinks) == 1 and got != want:
                        res.add("map-accounting", f"{svc}->{s}: {len(got)} outputs for {len(want)} live inputs")
                if not changes_key:
                    bad = [r.key for r in outs if r.key not in in_keys]
                    if bad:
                        res.add("key-invented", f"{svc}->{s}: keys {bad[:3]} never given")
    for t in written:
        node = topics[t]
        for r in res.outputs.get(t, [])[:2000]:
            if node.value_converter == "json":
                try:
                    v = json.loads(r.value)
                except ValueError as e:
                    res.add("sink-not-json", f"{t}: {r.value[:80]!r}: {e}")
                    continue
                why = conforms(v, node.value, types)
                if why:
                    res.add("sink-type", f"{t}: {why}")
            else:
                why = _raw_ok(r.value, node.value, types)
                if why:
                    res.add("sink-type", f"{t}: {why}")
