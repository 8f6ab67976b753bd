"""Rust types of signatures -> pipeline types, and unwrapping `Result`."""

import pytest

from sscc.diagnostics import Span
from sscc.syntax import parse_functions, rust_to_sdf, unwrap_result

SPAN = Span("p.yaml", 3, 5)


def rust(text):
    return parse_functions(f"fn f(x: {text}) {{}}")[0].params[0].type


def sdf(text):
    ty = rust_to_sdf(rust(text), SPAN)
    return ty and ty.describe()


@pytest.mark.parametrize(
    "written, described",
    [
        ("String", "string"), ("&str", "string"), ("&'a str", "string"), ("std::string::String", "string"),
        ("i32", "i32"), ("u8", "u8"), ("u64", "u64"), ("i64", "i64"), ("f32", "f32"), ("f64", "f64"), ("bool", "bool"),
        ("Vec<u8>", "bytes"), ("&[u8]", "bytes"), ("Vec<String>", "list<string>"), ("Vec<Vec<u8>>", "list<bytes>"),
        ("Option<i64>", "option<i64>"), ("Option<Vec<CarLocation>>", "option<list<car-location>>"),
        ("CarLocation", "car-location"), ("Vp", "vp"), ("VehicleDataType", "vehicle-data-type"), ("crate::Car", "car"),
        ("(Option<String>, UserOut)", "key-value<string, user-out>"), ("()", "_"),
    ],
)  # fmt: skip
def test_mapped(written, described):
    assert sdf(written) == described


@pytest.mark.parametrize(
    "written",
    ["usize", "char", "i128", "HashMap<String, u32>", "Box<Car>", "impl Iterator<Item = u8>", "[u8; 4]",
     "(String, u32)", "(Option<String>, u32, u8)", "Vec<usize>", "Option<char>", "fn(u8)", "Result<u8>", "!"],
)  # fmt: skip
def test_not_a_pipeline_type(written):
    assert sdf(written) is None


def test_every_part_gets_the_span():
    ty = rust_to_sdf(rust("(Option<String>, Vec<Car>)"), SPAN)
    assert ty.kind == "key-value" and ty.span == ty.key.span == ty.value.item.span == SPAN


@pytest.mark.parametrize(
    "written, ok, err",
    [("Result<u32>", "u32", None), ("Result<(), String>", "()", "String"), ("anyhow::Result<i64>", "i64", None),
     ("sdfg::Result<Vec<String>>", "Vec<String>", None), ("Result<Car, anyhow::Error>", "Car", "anyhow::Error")],
)  # fmt: skip
def test_unwrap_result(written, ok, err):
    inner, error, was_result = unwrap_result(rust(written))
    assert (inner.text, error and error.text, was_result) == (ok, err, True)


def test_unwrap_what_is_not_a_result():
    ty = rust("Option<u32>")
    assert unwrap_result(ty) == (ty, None, False)
