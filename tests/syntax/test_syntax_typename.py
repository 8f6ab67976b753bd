"""Type names as written in YAML -> kebab case; bad characters -> precise errors."""

import pytest

from sscc.syntax import SyntaxProblem, parse_type_name


@pytest.mark.parametrize(
    "text, name",
    [
        ("car-location", "car-location"), ("car_location", "car-location"), ("CarLocation", "car-location"),
        ("MyType0", "my-type0"), ("issuing-card-2fa", "issuing-card-2fa"), ("u32", "u32"), ("s32", "i32"),
        ("float64", "f64"), ("String", "string"), ("str", "string"), ("bytes", "bytes"), ("key-value", "key-value"),
        ("URLValue", "url-value"), ("HTTPServer", "http-server"), ("Type0Name", "type0-name"),
    ],
)  # fmt: skip
def test_names(text, name):
    assert parse_type_name(text) == name


def problem(text):
    with pytest.raises(SyntaxProblem) as info:
        parse_type_name(text)
    return info.value


@pytest.mark.parametrize(
    "text, col, message, hint",
    [
        ("list<string>", 5, "unexpected character `<` in type name `list<string>`", "`type: list` with `items:`"),
        ("car location", 4, "unexpected character ` ` in type name `car location`", "`car-location`"),
        ("car.location", 4, "unexpected character `.` in type name `car.location`", "letters and digits"),
        ("2fa", 1, "type name `2fa` starts with a digit", "starting with a letter"),
        ("car--location", 5, "`-` must join two words in type name `car--location`", "joined by"),
        ("_car", 1, "`_` must join two words in type name `_car`", "joined by"),
        ("car-", 4, "type name `car-` ends with `-`", "joined by"),
        ("car ", 4, "type name `car ` has a space around it", "remove"),
    ],
)
def test_errors(text, col, message, hint):
    p = problem(text)
    assert (p.line, p.col, p.end_col, p.message) == (1, col, col + 1, message)
    assert hint in p.hint


def test_empty():
    assert problem("").message == "empty type name"


@pytest.mark.parametrize(
    "name, kebab, snake, pascal",
    [
        ("URLValue", "url-value", "url_value", "UrlValue"), ("sdkHTTP", "sdk-http", "sdk_http", "SdkHttp"),
        ("MyType0", "my-type0", "my_type0", "MyType0"), ("image-url", "image-url", "image_url", "ImageUrl"),
        ("ABC", "abc", "abc", "Abc"), ("My-Type", "my-type", "my_type", "MyType"),
    ],
)  # fmt: skip
def test_names_split_into_words_as_heck_does(name, kebab, snake, pascal):
    """serde field names and Rust type names follow heck's rules, which SDF's generator uses."""
    from sscc import ast

    assert (ast.kebab(name), ast.snake(name), ast.pascal(name)) == (kebab, snake, pascal)
