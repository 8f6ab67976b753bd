"""Inline code that would read the build machine while it compiles (issue 13, "the build is a
sandbox"): `include_str!("/etc/hostname")` puts a file of whoever compiles the pipeline into its
output, `env!("HOME")` a variable of theirs. Inline code has no files of its own to include, and
its run-time environment comes from `sscc run -e`, so these are refused at the line (E084):

    fn host(_v: String) -> Result<String> {
        Ok(include_str!("/etc/hostname").to_string())    // E084
    }

This check reads the code as written; the build itself also runs in a sandbox (backend/rust/
sandbox.py) that sees no file outside the crate and the toolchain and no variable of the host,
which covers what no scan can (macros that build these calls from tokens, dependencies).
"""

from __future__ import annotations

import re

from .context import Ctx, code_span
from .inline_code import lex

BUILD_TIME = re.compile(r"\b(include_str|include_bytes|include|env|option_env)\s*!")
PATH_ATTRIBUTE = re.compile(r"#\s*!?\s*\[\s*path\b")
WHAT = {
    "include_str": "reads a file of the machine that builds the pipeline",
    "include_bytes": "reads a file of the machine that builds the pipeline",
    "include": "reads a file of the machine that builds the pipeline",
    "env": "reads an environment variable of the machine that builds the pipeline",
    "option_env": "reads an environment variable of the machine that builds the pipeline",
}
HINT = (
    "inline code cannot read files or variables at build time; read settings at run time with "
    "`std::env::var` (given with `sscc run -e KEY=VALUE`), or carry data in the records"
)


def check_build_reach(ctx: Ctx) -> None:
    """E084: `include_str!`, `include_bytes!`, `include!`, `env!`, `option_env!`, `#[path]`."""
    codes = [step.function.inline for step, _ in ctx.steps()]
    codes += [fn.inline for fn in ctx.pipe.functions.values()]
    for code in codes:
        if code is None or code.lang != "rust":
            continue
        lexed = lex(code.text)  # comments and literals blanked: a string saying include_str! is fine
        for m in BUILD_TIME.finditer(lexed.masked):
            line, col = lexed.pos(m.start())
            macro = m.group(1)
            ctx.error("E084", code_span(code, line, col, len(macro) + 1), f"`{macro}!` {WHAT[macro]}", HINT)
        for m in PATH_ATTRIBUTE.finditer(lexed.masked):
            line, col = lexed.pos(m.start())
            ctx.error(
                "E084",
                code_span(code, line, col, m.end() - m.start()),
                "`#[path]` loads a module from a file of the machine that builds the pipeline",
                HINT,
            )
