"""Inline Rust: finding top-level functions, parsing their signatures, choosing the operator."""

import pytest

from sscc.syntax import SyntaxProblem, operator_function, parse_functions


def one(code):
    fns = parse_functions(code)
    assert len(fns) == 1, fns
    return fns[0]


def problem(code):
    with pytest.raises(SyntaxProblem) as info:
        parse_functions(code)
    return info.value


# ---------------------------------------------------------------------------- signatures


def test_typical_sdf_map():
    fn = one("fn get_car_maker(car: Car) -> Result<Maker, String> {\n    Ok(car.maker)\n}\n")
    assert fn.name == "get_car_maker"
    assert [(p.name, p.type.text) for p in fn.params] == [("car", "Car")]
    assert fn.ret.text == "Result<Maker, String>"
    assert fn.ret.name == "Result" and [a.name for a in fn.ret.args] == ["Maker", "String"]
    assert (fn.line, fn.col, fn.end_line, fn.end_col) == (1, 4, 3, 2)


def test_no_return_type_and_no_params():
    fn = one("fn flush() { }")
    assert fn.params == () and fn.ret is None


def test_key_value_output_and_key_input():
    fn = one("fn f(key: Option<String>, v: UserIn) -> Result<(Option<String>, UserOut)> { todo!() }")
    key = fn.params[0].type
    assert (key.kind, key.name, key.args[0].name) == ("path", "Option", "String")
    kv = fn.ret.args[0]
    assert kv.kind == "tuple" and kv.text == "(Option<String>, UserOut)"
    assert [a.text for a in kv.args] == ["Option<String>", "UserOut"]


@pytest.mark.parametrize(
    "written, kind, text",
    [
        ("&str", "ref", "&str"),
        ("&'a str", "ref", "&'a str"),
        ("&mut Vec<u8>", "ref", "&mut Vec<u8>"),
        ("&&str", "ref", "&&str"),
        ("()", "unit", "()"),
        ("(u8,)", "tuple", "(u8,)"),
        ("(u8)", "path", "u8"),
        ("(String , u32 , )", "tuple", "(String, u32)"),
        ("Option<(Option<String>, Foo)>", "path", "Option<(Option<String>, Foo)>"),
        ("Vec<Vec<u8>>", "path", "Vec<Vec<u8>>"),
        ("std::collections::HashMap<K,V>", "path", "std::collections::HashMap<K, V>"),
        ("::std::string::String", "path", "::std::string::String"),
        ("sdfg::Result<T>", "path", "sdfg::Result<T>"),
        ("Result<T, anyhow::Error>", "path", "Result<T, anyhow::Error>"),
        ("[u8; 4]", "array", "[u8; 4]"),
        ("[u8; N]", "array", "[u8; N]"),
        ("&[u8]", "ref", "&[u8]"),
        ("impl Iterator<Item = u32> + Send", "impl", "impl Iterator<Item = u32> + Send"),
        ("Box<dyn Fn(u32) -> u32 + 'static>", "path", "Box<dyn Fn(u32) -> u32 + 'static>"),
        ("fn(u32) -> u32", "fn", "fn(u32) -> u32"),
        ('unsafe extern "C" fn(x: u8)', "fn", 'unsafe extern "C" fn(x: u8)'),
        ("!", "never", "!"),
        ("Cow<'a, str>", "path", "Cow<'a, str>"),
    ],
)
def test_type_forms(written, kind, text):
    ty = one(f"fn f(x: {written}) {{}}").params[0].type
    assert (ty.kind, ty.text) == (kind, text)


def test_type_structure():
    fn = one("fn f(a: &'a mut [u8; 4], b: std::collections::HashMap<String, i64>, c: fn(u8) -> bool, d: dyn A + B) {}")
    a, b, c, d = (p.type for p in fn.params)
    assert a.mutable and a.args[0].kind == "array" and a.args[0].args[0].name == "u8"
    assert b.path == ("std", "collections", "HashMap") and b.name == "HashMap"
    assert [x.name for x in b.args] == ["String", "i64"]
    assert [x.text for x in c.args] == ["u8", "bool"]
    assert [x.name for x in d.args] == ["A", "B"]


def test_lifetimes_and_bindings_stay_out_of_args():
    ty = one("fn f(x: Foo<'a, Item = u32, 3, String>) {}").params[0].type
    assert [a.text for a in ty.args] == ["String"]
    assert ty.text == "Foo<'a, Item = u32, 3, String>"


def test_equal_types_compare_equal_wherever_written():
    a, b = one("fn f(x: Vec<u8>,\n     y:   Vec< u8 >) {}").params
    assert a.type == b.type and (a.type.line, a.type.col) != (b.type.line, b.type.col)


@pytest.mark.parametrize(
    "pattern, name",
    [("x", "x"), ("_x", "_x"), ("_", "_"), ("mut x", "mut x"), ("ref mut x", "ref mut x"), ("&x", "&x"),
     ("(a, b)", "(a, b)"), ("(a,)", "(a,)"), ("Wrapper(x)", "Wrapper(x)"), ("Point { x, y: py, .. }", "Point { x, y: py, .. }")],
)  # fmt: skip
def test_parameter_patterns(pattern, name):
    assert one(f"fn f({pattern}: T) {{}}").params[0].name == name


def test_generics_where_clause_and_trailing_commas():
    fn = one("fn f<'a, T: Clone + ?Sized, const N: usize,>(x: T, y: [u8; N],) -> T\nwhere\n    T: Copy,\n{ x }")
    assert fn.generics == ("'a", "T: Clone + ?Sized", "const N: usize")
    assert [p.name for p in fn.params] == ["x", "y"]
    assert fn.ret.text == "T"


def test_qualifiers_attributes_and_doc_comments():
    code = (
        "//! module doc, not the function's\n"
        "#![allow(unused)]\n"
        "/// Masks the SSN.\n"
        "/// Keeps the last four digits.\n"
        "#[inline]\n"
        '#[cfg(feature = "x")]\n'
        'pub(crate) const unsafe extern "C" fn mask(x: String) -> String { x }\n'
    )
    fn = one(code)
    assert fn.qualifiers == ("pub(crate)", "const", "unsafe", 'extern "C"')
    assert fn.attrs == ("inline", 'cfg(feature = "x")')
    assert fn.doc == "Masks the SSN.\nKeeps the last four digits."
    assert (fn.line, fn.col) == (7, 39)


def test_block_doc_comment_and_async():
    fn = one("/** Counts words. */\npub async fn count(w: String) {}")
    assert fn.doc == "Counts words." and fn.qualifiers == ("pub", "async")


def test_comments_inside_the_signature():
    fn = one("fn f(\n    x: u32, // the value\n    /* the key */ k: String,\n) {}")
    assert [(p.name, p.line, p.col) for p in fn.params] == [("x", 2, 5), ("k", 3, 19)]


# ---------------------------------------------------------------------------- bodies and other items


def test_bodies_with_braces_in_literals_and_comments():
    code = r"""fn f(s: String) -> Result<String> {
    let a = "}}}{";
    let b = '{';
    let c = '\'';
    let d = b'}';
    let e = r#"}" not the end "#;
    let f = br##"}"#}"##;
    let g = "\"}";
    let i = r"\";
    let j = '\\';
    let k = '\u{7D}';
    let l = c"}";
    let h: &'static str = "x";          // '}' in a comment
    /* } /* nested { */ still comment } */
    fn nested() -> u32 { 1 }
    Ok(s)
}
fn after() {}
"""
    fns = parse_functions(code)
    assert [f.name for f in fns] == ["f", "after"]
    assert (fns[0].end_line, fns[0].end_col) == (17, 2)


def test_lifetime_is_not_a_char_literal():
    fns = parse_functions("fn f<'a>(x: &'a str) -> &'a str { let y: &'a str = x; y }\nfn g() {}")
    assert [f.name for f in fns] == ["f", "g"]


def test_other_items_are_skipped():
    code = """
use std::collections::HashMap;
use serde::{Deserialize, Serialize};
extern crate alloc;
const LIMIT: usize = { 3 };
static NAMES: [&str; 2] = ["a", "}"];
type Map = HashMap<String, u32>;
#[derive(Debug)]
struct Point { x: i32, y: i32 }
struct Unit;
struct Pair(u8, u8);
enum Color { Red, Green { g: u8 } }
impl Point { fn method(&self) -> i32 { self.x } }
trait Named { fn name(&self) -> String; }
mod inner { pub fn hidden() {} }
macro_rules! square { ($x:expr) => { $x * $x }; }
thread_local!(static X: u32 = 1);
extern "C" { fn abs(x: i32) -> i32; }
fn operator(p: Point) -> Result<i32> { Ok(p.method()) }
"""
    fn = one(code)
    assert fn.name == "operator" and fn.attrs == () and fn.line == 19


def test_fns_inside_impl_are_not_top_level():
    fns = parse_functions("impl Foo { pub fn a() {} }\nfn b() {}\nunsafe impl Send for Foo {}")
    assert [f.name for f in fns] == ["b"]


# ---------------------------------------------------------------------------- errors


def test_no_function_at_all():
    p = problem("\n  let x = 5;\n")
    assert (p.line, p.col) == (2, 3)
    assert "no `fn`" in p.message and "fn my_map" in p.hint


def test_empty_block():
    p = problem("")
    assert (p.line, p.col) == (1, 1)


def test_unclosed_body():
    p = problem("fn f(x: u32) -> u32 {\n    if x > 1 {\n        x\n}\n")
    assert (p.line, p.col, p.end_col) == (1, 21, 22)
    assert "never closed" in p.message and "`}`" in p.hint


def test_mismatched_delimiter():
    p = problem("fn f() {\n    let v = vec![1, 2);\n}")
    assert (p.line, p.col) == (2, 22) and "mismatched" in p.message and "line 2, column 17" in p.hint


def test_stray_closing_brace():
    p = problem("fn f() {}\n}")
    assert (p.line, p.col) == (2, 1) and "unexpected closing delimiter" in p.message


def test_unterminated_string():
    p = problem('fn f() {\n    let s = "oops;\n}\n')
    assert (p.line, p.col) == (2, 13) and "unterminated string" in p.message


def test_unterminated_comment():
    p = problem("fn f() {}\n/* never closed")
    assert (p.line, p.col, p.end_col) == (2, 1, 3)


def test_bad_token_in_signature():
    p = problem("fn map_it(x: u32 y: u32) -> u32 { x }")
    assert (p.line, p.col, p.end_col) == (1, 18, 19)
    assert p.message == "unexpected token `y` in the signature of `map_it`"
    assert "`,`" in p.hint


def test_bad_character_in_signature_on_a_later_line():
    p = problem("use x;\n\n  fn f(a: u32,\n       b: $u32) {}")
    assert (p.line, p.col) == (4, 11) and "`$`" in p.message


def test_incomplete_signature_points_at_the_body():
    p = problem("fn f(x: u32) -> {\n}")
    assert (p.line, p.col) == (1, 17)
    assert p.message == "the signature of `f` is incomplete" and p.hint == "expected a type"


def test_missing_parameter_type():
    p = problem("fn f(x) {}")
    assert (p.line, p.col) == (1, 7) and "`:`" in p.hint


def test_function_without_body():
    p = problem("fn f(x: u32) -> u32;")
    assert (p.line, p.col, p.end_col) == (1, 4, 5) and "has no body" in p.message


def test_missing_function_name():
    p = problem("fn (x: u32) {}")
    assert (p.line, p.col) == (1, 4) and "function name" in p.message


def test_problem_span_in_the_file():
    p = problem("fn f(x: u32 y: u32) {}")
    span = p.span("p.yaml", line=12, col=9)  # the block's text starts at 12:9
    assert (span.path, span.line, span.col, span.end_col) == ("p.yaml", 12, 21, 22)


# ---------------------------------------------------------------------------- which function is the operator


def pick(code):
    fn = operator_function(parse_functions(code), code)
    return fn and fn.name


def test_single_function_is_the_operator():
    assert pick("fn only(x: u32) -> Result<u32> { Ok(x) }") == "only"


def test_helper_before_or_after_the_operator():
    helper = "fn helper(x: u32) -> u32 { x * 2 }\n"
    op = "fn op(x: u32) -> Result<u32> { Ok(helper(x)) }\n"
    assert pick(helper + op) == "op"
    assert pick(op + helper) == "op"


def test_helper_passed_as_a_value_counts_as_used():
    assert (
        pick(
            "fn double(x: u32) -> u32 { x * 2 }\nfn op(v: Vec<u32>) -> Vec<u32> { v.into_iter().map(double).collect() }"
        )
        == "op"
    )


def test_mentions_in_strings_and_comments_do_not_count():
    code = 'fn a() { let s = "b()"; /* b() */ }\nfn b() { a() }'
    assert pick(code) == "b"


def test_ambiguous_blocks_have_no_operator():
    assert pick("fn a() {}\nfn b() {}") is None
    assert pick("fn a() { b() }\nfn b() { a() }") is None
    assert operator_function([], "") is None


def test_recursion_does_not_hide_the_operator():
    assert (
        pick("fn fact(n: u64) -> u64 { if n == 0 { 1 } else { n * fact(n - 1) } }\nfn op(n: u64) -> u64 { fact(n) }")
        == "op"
    )
