"""The body of a named function in inline code, read as text (no grammar: only braces and `def`).

Used by the checker's W045 (check/unused.py) and the IR pass dead_code (passes/dead_code.py),
which must agree on what an always-false filter is: its Rust body is literally `Ok(false)`
(comments and white space aside), or its Python body is literally `return False` (a docstring
aside). The function is named as the pipeline names it (`my-filter` matches `fn my_filter`).
"""

from __future__ import annotations

import ast as pyast
import re

from ..ast import kebab


def always_false(lang: str, text: str, function: str) -> bool:
    """True when `function` in inline code `text` of language `lang` can only return false."""
    if lang == "python":
        return python_returns_false(text, function)
    body = rust_body(text, function)
    return body is not None and re.sub(r"//[^\n]*|\s+", "", body) == "Ok(false)"


def rust_body(text: str, function: str) -> str | None:
    """The text between the braces of `fn <function>`, or None."""
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        if kebab(m.group(1)) != function:
            continue
        start = text.find("{", m.end())
        if start < 0:
            continue
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start + 1 : i]
    return None


def python_returns_false(text: str, function: str) -> bool:
    """True when `def <function>` in `text` is only `return False` (after a docstring)."""
    try:
        tree = pyast.parse(text)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, pyast.FunctionDef) and kebab(node.name) == function:
            body = [s for s in node.body if not (isinstance(s, pyast.Expr) and isinstance(s.value, pyast.Constant))]
            return (
                len(body) == 1 and isinstance(body[0], pyast.Return)
                and isinstance(body[0].value, pyast.Constant) and body[0].value.value is False
            )  # fmt: skip
    return False
