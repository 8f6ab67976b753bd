"""The generated Fast JSON decoder (types.py `_fast_decoder`, guest json.rs `Scan`) against
serde_json: the same documents go through a service whose type has the fast path and one whose
type has not (pipelines/fast_decode.yaml); every document must come out the same, or fail the
same way. The documents are the plain form the fast path takes and every variation it must hand
to serde_json: escapes, exponents, leading zeros, `-0`, out-of-range integers, whitespace,
missing, repeated and unknown members, nulls, wrong types, trailing bytes, invalid UTF-8."""

import json
import random

import pytest

from rust_backend_helpers import PIPELINES, Service, needs_toolchain

BASE = {"s": "s17", "b": True, "n8": 7, "n32": 4000000000, "i": -12, "x": 3.25, "os": "x", "oi": -5}


@pytest.fixture(scope="module")
def services():
    needs_toolchain()
    path = PIPELINES / "fast_decode.yaml"
    return Service(path, name="fast"), Service(path, name="serde")


def outcome(service, docs):
    """Per document: ("ok", decoded value re-encoded as a dict) or ("error", kind)."""
    (out,), errors = service.run([(None, d) for d in docs])
    failed = {e.index: e.kind for _, e in errors}
    values = iter(json.loads(v) for _, v in out)
    result = []
    for i in range(len(docs)):
        if i in failed:
            result.append(("error", failed[i]))
        else:
            value = next(values)
            value.pop("extra", None)
            result.append(("ok", value))
    return result


def same_everywhere(services, docs):
    fast, serde = services
    got, want = outcome(fast, docs), outcome(serde, docs)
    for doc, g, w in zip(docs, got, want):
        assert g == w, doc
    return got


def member(name, text):
    body = dict(BASE)
    body.pop(name)
    return ("{" + ",".join(f'"{k}":{json.dumps(v)}' for k, v in body.items()) + f',"{name}":{text}' + "}").encode()


EDGE_NUMBERS = [
    "0", "-0", "1", "-1", "01", "-01", "1.0", "1.", ".5", "1e3", "1E3", "1e-3", "-1.5e2", "255", "256", "-128",
    "4294967295", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616", "12345678901234567890123",
    "0.1", "0.30000000000000004", "9007199254740993", "9007199254740992", "900719925474099.3", "1.7976931348623157e308",
    "1e400", "-0.0", "0.0000000000000000000001", "0.00000000000000000000001", "3.14159265358979323846",
    "123456789012345678.5", "+1", "- 1", "1_000", "0x10", "true", "null", '"5"', "[]", "{}",
]  # fmt: skip

EDGE_STRINGS = [
    '""', '"plain"', '"caf\u00e9"', '"\\u0063af\\u00e9"', '"tab\\t"', '"quote\\""', '"back\\\\slash"', '"\\ud83d\\ude00"',
    '"\u65e5\u672c"', "null", "5", "true", '"unterminated', '"ctl\x01"',
]  # fmt: skip


def test_the_plain_form_and_its_variations_decode_as_serde_json_decodes_them(services):
    docs = [json.dumps(BASE).encode(), json.dumps(BASE, separators=(",", ":")).encode()]
    docs += [member(name, n) for name in ("n8", "n32", "i", "x", "oi") for n in EDGE_NUMBERS]
    docs += [member(name, s) for name in ("s", "os") for s in EDGE_STRINGS]
    docs += [member("b", t) for t in ("true", "false", "tru", "True", "1", "null")]
    docs += [
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4}',  # options missing: None
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4,"os":null,"oi":null}',
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3}',  # x missing
        b'{"s":"a","s":"b","b":false,"n8":1,"n32":2,"i":3,"x":4}',  # repeated member
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4,"other":[1,{"y":2}]}',  # unknown member
        b'{"x":4,"i":3,"n32":2,"n8":1,"b":false,"s":"a"}',  # any order
        b' \t\r\n{ "s" : "a" , "b" : false , "n8" : 1 , "n32" : 2 , "i" : 3 , "x" : 4 } \n',
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4} x',  # trailing bytes
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4,}',  # trailing comma
        b'{"s":"a" "b":false}',
        b'{"\\u0073":"a","b":false,"n8":1,"n32":2,"i":3,"x":4}',  # escaped member name
        b'{"s":"\xff","b":false,"n8":1,"n32":2,"i":3,"x":4}',  # invalid UTF-8
        b"{}",
        b"[]",
        b"",
        b"null",
        b'{"s":"a","b":false,"n8":1,"n32":2,"i":3,"x":4',
    ]
    got = same_everywhere(services, docs)
    assert got[0] == ("ok", BASE) and got[1] == ("ok", BASE)
    # The differential check above would pass if both sides always failed: they do not.
    assert sum(1 for g in got if g[0] == "ok") > 60 and sum(1 for g in got if g[0] == "error") > 60


def test_random_documents_decode_as_serde_json_decodes_them(services):
    rng = random.Random(11)
    spaces = ["", "", "", " ", "\n", "\t ", "\r\n"]
    values = {
        "s": ['"w%d"' % i for i in range(5)] + EDGE_STRINGS,
        "b": ["true", "false", "null", "0"],
        "n8": EDGE_NUMBERS, "n32": EDGE_NUMBERS, "i": EDGE_NUMBERS, "x": EDGE_NUMBERS + ["2.5", "-7.125", "1e2"],
        "os": EDGE_STRINGS, "oi": EDGE_NUMBERS,
    }  # fmt: skip
    docs = []
    for _ in range(3000):
        names = list(BASE)
        rng.shuffle(names)
        if rng.random() < 0.2:
            names.remove(rng.choice(names))
        if rng.random() < 0.1:
            names.append(rng.choice(["s", "x", "zz"]))
        members = []
        for name in names:
            # mostly a plain valid value, so that many documents take the fast path
            text = json.dumps(BASE.get(name, 1)) if rng.random() < 0.85 else rng.choice(values.get(name, ["1"]))
            members.append(f'{rng.choice(spaces)}"{name}"{rng.choice(spaces)}:{rng.choice(spaces)}{text}')
        docs.append((rng.choice(spaces) + "{" + ",".join(members) + rng.choice(spaces) + "}" + rng.choice(spaces)).encode())
    got = same_everywhere(services, docs)
    assert sum(1 for g in got if g[0] == "ok") > 500
