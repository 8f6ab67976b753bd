"""Type and converter edges through the real CLI (tests/corpus_run/pipelines/edges.yaml).

- JSON: u64/i64 at their limits and beyond 2^53, f32 written in its shortest form, floats with
  17 significant digits parsed exactly (serde_json's float_roundtrip), keyword and kebab field
  names, serialize/deserialize renames, optional fields absent or null, enums in every variant,
  bytes, empty lists; an identity map must give back the same document.
- raw numbers and bools are decimal text on the wire (docs/runtime.md, "Raw numbers"): what
  `sscc topic produce` reads from a typed line is what the pipeline decodes, and what it writes is
  what `sscc topic consume` prints; exact-width big-endian bytes are accepted on decode.
- raw strings pass byte for byte: unicode, spaces, empty, 200 KB lines; CRLF line ends are
  stripped by produce; a key separator appearing twice splits at the first.
"""

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from sweep_lib import TopicInput, load_ir, needs_toolchain, run_file
from sdf_values import samples

PIPELINE = Path(__file__).parent / "pipelines" / "edges.yaml"


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def lines_of(values):
    return [json.dumps(v, ensure_ascii=False).encode() for v in values]


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    needs_toolchain()
    store = str(tmp_path_factory.mktemp("edges"))
    ir = load_ir(str(PIPELINE))
    types = {td.name: td.type for td in ir.types}
    records = samples(types["record"], types)
    rng = random.Random(7)
    for i in range(40):  # 17 significant digits: exact only with a correctly rounding parser
        r = dict(records[i % len(records)])
        r["score"] = float(f"{rng.uniform(-1, 1):.16e}") * 10 ** rng.randint(-300, 300)
        records.append(r)
    rec_lines = lines_of(records) + [b"{}", b'{"big": -1}', b"[]"]
    counts = [b"41", b"0", b"18446744073709551615", b" 3 ", b"abc", struct.pack(">Q", 5), b"-1"]
    count_keys = [b"7", b"4294967295", None, b"0", b"1", b"2", b"3"]
    floats = [b"1.5", b"-0", b"1e300", b"0.1", b"5e-324", b"inf", b"x"]
    flags = [b"true", b"false", b" true ", b"\x01", b"\x00", b"yes"]
    texts = [b"", b"  padded  ", "ünïcödé ✓ 🦀".encode(), b"x" * 200_000, b'{"json": "as text"}', b"a=b=c"]
    inputs = {
        "records": TopicInput("", rec_lines, [b"k%d" % (i % 4) if i % 3 else None for i in range(len(rec_lines))],
                              [True] * len(records) + [False] * 3),
        "counts": TopicInput("", counts, count_keys, [True] * 4 + [False, True, False]),
        "floats": TopicInput("", floats, [None] * len(floats), [True] * 6 + [False]),
        "flags": TopicInput("", flags, [None] * len(flags), [True] * 5 + [False]),
        "lines": TopicInput("", texts, [None] * len(texts), [True] * len(texts)),
    }
    res = run_file(str(PIPELINE), store, inputs)
    return res, records


def test_no_invariant_is_broken(edges):
    res, _ = edges
    assert [f"{f.check}: {f.detail}" for f in res.findings] == []


def test_json_identity_gives_back_the_document(edges):
    res, records = edges
    out = res.outputs["records-out"]
    assert len(out) == len(records)
    for r, given in zip(out, records):
        got = json.loads(r.value)
        want = {k: v for k, v in given.items() if k != "inName"}
        want["outName"] = given["inName"]
        want.setdefault("maybe", None)  # an absent optional field is written as null (serde)
        assert f32(got.pop("ratio")) == f32(want.pop("ratio"))
        assert got == want
    assert [r.key for r in out] == res.inputs["records"].keys[: len(records)]
    dead = {d["offset"]: d["kind"] for d in res.dead["identity"]}
    assert dead == {len(records): "decode", len(records) + 1: "decode", len(records) + 2: "decode"}


def test_json_u64_beyond_2_53_is_exact(edges):
    res, records = edges
    bigs = [json.loads(r.value)["big"] for r in res.outputs["records-out"]]
    assert 2**64 - 1 in bigs and 2**53 + 1 in bigs


def test_raw_numbers_are_text_both_ways(edges):
    res, _ = edges
    out = [(r.key, r.value) for r in res.outputs["counts-out"]]
    # keys +1 and values +1 (wrapping, a release build), as decimal text; 8 big-endian bytes read as 5
    assert out == [(b"8", b"42"), (b"0", b"1"), (None, b"0"), (b"1", b"4"), (b"3", b"6")]
    dead = {d["offset"]: d["kind"] for d in res.dead["add-one"]}
    assert dead == {4: "decode", 6: "decode"}
    assert "expected a decimal number or 8 big-endian bytes" in res.dead["add-one"][0]["reason"]


def test_raw_floats_round_trip_as_text(edges):
    res, _ = edges
    got = [r.value for r in res.outputs["floats-out"]]
    assert got == [b"0.75", b"-0.0", b"5e299", b"0.05", b"0.0", b"inf"]
    assert [d["offset"] for d in res.dead["halve"]] == [6]


def test_raw_bools_text_and_last_bit(edges):
    res, _ = edges
    assert [r.value for r in res.outputs["flags-out"]] == [b"true", b"true", b"true"]
    assert [d["offset"] for d in res.dead["keep-true"]] == [5]


def test_raw_strings_pass_byte_for_byte(edges):
    res, _ = edges
    assert [r.value for r in res.outputs["lines-out"]] == res.inputs["lines"].lines


def test_consume_prints_what_produce_read(tmp_path):
    needs_toolchain()
    store = str(tmp_path)

    def sscc(*args, stdin=b""):
        p = subprocess.run([sys.executable, "-m", "sscc", *args], input=stdin, capture_output=True, timeout=600)
        assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
        return p.stdout

    sscc("topic", "produce", "counts", "--store", store, "--key-separator", ":", stdin=b"7:41\r\n10:9:x\n99\n")
    sscc("topic", "produce", "lines", "--store", store, "--key-separator", "=", stdin=b"k=a=b\r\nplain  \r\n")
    sscc("run", str(PIPELINE), "--store", store, "--until-idle", "--quiet")
    counts = sscc("topic", "consume", "counts-out", "--store", store, "--from-beginning", "--until-idle", "--keys")
    assert counts == b"8=42\n=100\n"  # "10:9:x" splits at the first ':' -> value "9:x", a decode dead letter
    lines = sscc("topic", "consume", "lines-out", "--store", store, "--from-beginning", "--until-idle", "--keys")
    assert lines == b"k=a=b\n=plain  \n"
