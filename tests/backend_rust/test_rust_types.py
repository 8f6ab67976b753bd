"""Pipeline types in Rust: the declarations, and JSON through real wasm as SDF-FORMAT.md §2.3 says."""

import json

import pytest

from rust_backend_helpers import PIPELINES, Service, ir_of, needs_toolchain

from sscc.backend.rust import generate_crate
from sscc.backend.rust.types import TypeWriter, field_name
from sscc.backend.stages import plan
from sscc.ir.types import Enum, Field, ListOf, Null, Obj, Opt, Prim, Ref


def lib_rs(path):
    _, ir = ir_of(path)
    return generate_crate(ir, plan(ir)[0], str(path)).files["src/lib.rs"]


def test_declarations_follow_sdf_naming():
    src = lib_rs(PIPELINES / "types.yaml")
    assert "pub struct Widget {" in src
    assert "#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]\npub enum Color {" in src
    assert "    Red,\n    Custom(String),\n    Rgb(RgbValue)," in src  # unit variant, named inline payload
    assert "#[serde(untagged)]\npub enum Shape {" in src
    assert "pub struct ShapeCircle {" in src  # inline object without a type-name: <Outer><Variant>
    assert '    #[serde(rename = "type")]\n    pub type_: String,' in src
    assert '    #[serde(rename(serialize = "fullName"))]\n    pub full_name: String,' in src
    assert '    #[serde(rename(deserialize = "oldValue"))]\n    pub legacy: u32,' in src
    assert "    pub widget_name: String," in src
    assert "    pub note: Option<String>," in src
    assert "    pub maybe: Option<i64>," in src
    assert "    pub dims: WidgetDims," in src


def test_default_is_derived_only_where_every_field_has_one():
    w = TypeWriter()
    w.rust(Obj((Field("a", Prim("u32")), Field("b", ListOf(Prim("string"))), Field("c", Opt(Prim("bool"))))), "Plain")
    w.rust(Obj((Field("e", Enum((Field("x", Null()),))),)), "HasEnum")
    assert "#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]\npub struct Plain {" in w.decls[0]
    assert "Default" not in w.decls[-1]


def test_names():
    assert field_name("image-url") == "image_url"
    assert field_name("match") == "match_"
    assert field_name("fullName") == "full_name"
    w = TypeWriter()
    assert w.rust(Ref("car-location")) == "CarLocation"
    assert w.rust(Prim("s32")) == "i32"
    assert w.rust(Prim("float64")) == "f64"
    assert w.rust(Prim("bytes")) == "Vec<u8>"
    assert w.rust(ListOf(Prim("u8"))) == "Vec<u8>"


def test_generation_is_deterministic():
    _, ir = ir_of(PIPELINES / "types.yaml")
    a = generate_crate(ir, plan(ir)[0], str(PIPELINES / "types.yaml")).files
    _, ir2 = ir_of(PIPELINES / "types.yaml")
    b = generate_crate(ir2, plan(ir2)[0], str(PIPELINES / "types.yaml")).files
    assert a == b
    assert {"Cargo.toml", "src/lib.rs", "guest/Cargo.toml", "guest/src/lib.rs"} <= set(a)


@pytest.fixture(scope="module")
def touch():
    needs_toolchain()
    return Service(PIPELINES / "types.yaml")


def widget(drop=(), **over):
    w = {
        "widget_name": "w",
        "type": "gear",
        "full_name": "Full",
        "oldValue": 7,
        "color": "Red",
        "shape": {"radius": 1.5},
        "sizes": [1, 2],
        "maybe": None,
        "dims": {"w": 3, "h": 4},
    }
    w.update(over)
    for name in drop:
        del w[name]
    return json.dumps(w).encode()


def test_json_follows_serde_rules(touch):
    inputs = [
        widget(),
        widget(color={"Custom": "teal"}, shape="lbl", maybe=5, note="n"),
        widget(color={"Rgb": {"r": 1, "g": 2, "b": 3}}),
        widget(color="Blue"),  # no such variant: a decode error
        widget(drop=["full_name"], fullName="x"),  # deserialize keeps the field name `full_name`: missing -> error
    ]
    (out,), errors = touch.run([(None, v) for v in inputs])
    got = [json.loads(v) for _, v in out]
    assert got[0] == {
        "widget_name": "w",
        "type": "gear",
        "fullName": "Full",  # serialize rename
        "legacy": 7,  # deserialize rename only: written under the Rust name
        "color": "Red",  # unit variant, externally tagged
        "shape": {"radius": 1.5},  # untagged
        "note": None,  # optional field absent on input
        "sizes": [1, 2],
        "maybe": None,
        "dims": {"w": 3, "h": 4},
    }
    assert (got[1]["color"], got[1]["shape"], got[1]["maybe"], got[1]["note"]) == ({"Custom": "teal"}, "lbl", 5, "custom teal")
    assert got[2]["color"] == {"Rgb": {"r": 1, "g": 2, "b": 3}}
    assert len(got) == 3
    assert [(e.index, e.kind) for _, e in errors] == [(3, "decode"), (4, "decode")]
    assert "Blue" in errors[0][1].message
