"""The front end is bounded: any file ends in a diagnostic, in bounded time and memory, and what
it prints never carries the file's control or escape characters to the terminal (issue 13).

The size cases run `sscc check` in a subprocess under a 1 GB address-space limit: before the
bounds, 100,000 nested `[` took libyaml minutes and gigabytes and 300 nested lists were a
RecursionError (exit 3)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscc.diagnostics import SourceCache, escaped, render_text
from sscc.driver import Options, front_end
from sscc.load.yaml_loader import MAX_DEPTH, MAX_FILE_BYTES

PIPELINE = """apiVersion: 0.5.0
meta: {name: small, version: 0.1.0, namespace: test}
config: {converter: raw}
types:
  word:
    type: string
topics:
  lines: {schema: {value: {type: string}}}
  words: {schema: {value: {type: word}}}
services:
  split:
    sources:
      - type: topic
        id: lines
    transforms:
      - operator: flat-map
        run: |
          fn split(line: String) -> Result<Vec<String>> {
            Ok(line.split(' ').map(String::from).collect())
          }
    sinks:
      - type: topic
        id: words
"""
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def check(tmp_path, content: bytes | str) -> subprocess.CompletedProcess:
    path = tmp_path / "dataflow.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    env = {k: v for k, v in os.environ.items() if k != "SSCC_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "sscc", "check", str(path)],
        capture_output=True, timeout=120, preexec_fn=_limit_memory, env=env,
    )  # fmt: skip


def first_error(proc) -> str:
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 1, out[-2000:]
    return out


def test_300_nested_lists_are_E006_at_the_level_too_deep(tmp_path):
    lines, indent = ["apiVersion: 0.5.0", "meta: {name: deep, version: 0.1.0, namespace: test}", "types:", "  deep:"], "    "
    for _ in range(300):
        lines += [indent + "type: list", indent + "items:"]
        indent += "  "
    lines += [indent + "type: u32"]
    out = first_error(check(tmp_path, "\n".join(lines) + "\n"))
    # the mapping opened at depth MAX_DEPTH + 1: root, types, deep and (MAX_DEPTH - 2) `items:`
    line = 4 + 2 * (MAX_DEPTH - 2) + 1
    assert f"dataflow.yaml:{line}:" in out and "error[E006]" in out and f"more than {MAX_DEPTH} levels" in out


def test_100000_nested_brackets_are_E006(tmp_path):
    out = first_error(check(tmp_path, "apiVersion: 0.5.0\nmeta: " + "[" * 100_000 + "]" * 100_000 + "\n"))
    assert f"dataflow.yaml:2:{6 + MAX_DEPTH}: error[E006]" in out  # root + 63 brackets fit
    snippet = next(ln for ln in out.splitlines() if ln.startswith("2 | "))
    assert len(snippet) < 200  # the 200,000-character line is cut around the caret


def test_a_file_over_the_size_limit_is_E006_and_one_under_it_is_read(tmp_path):
    body = PIPELINE + "# " + "x" * 1000 + "\n"
    big = body * (MAX_FILE_BYTES // len(body) + 1)
    assert "error[E006]" in first_error(check(tmp_path, big))
    assert "E006" not in first_error(check(tmp_path, PIPELINE.replace("apiVersion", "apiversion")))


def test_control_character_is_at_its_own_line_and_column_and_shown_escaped(tmp_path):
    text = PIPELINE.replace("id: words", "id: wo\x1b[2Jrds")
    out = first_error(check(tmp_path, text))
    line = text.split("\n").index("        id: wo\x1b[2Jrds") + 1
    assert f"dataflow.yaml:{line}:15: error[E001]: control character U+001B" in out
    assert "\x1b" not in out and "wo\\x1b[2Jrds" in out
    assert "tab" not in out.split("hint:")[1].split("\n")[0].replace("but tab", "")  # no tab hint


def test_a_byte_that_is_not_utf8_is_at_its_own_line_and_column(tmp_path):
    raw = PIPELINE.replace("name: small", "name: sm\udcffall").encode("utf-8", "surrogateescape")
    out = first_error(check(tmp_path, raw))
    col = PIPELINE.split("\n")[1].index("small") + 3  # the byte after `sm`
    assert f"dataflow.yaml:2:{col}: error[E001]: the file is not UTF-8: byte 0xff" in out
    assert "sm\\xffall" in out


def test_escape_sequences_in_keys_reach_the_terminal_escaped(tmp_path):
    proc = check(tmp_path, PIPELINE.replace("meta: {", 'meta: {"\\e]0;pwned\\a\\u202eevil": 1, '))
    out = (proc.stdout + proc.stderr).decode()
    assert "W001" in out or "E0" in out
    assert not UNSAFE.search(out), out
    assert "\\x1b]0;pwned\\x07" in out


def test_escaped_writes_every_unsafe_character_visibly():
    assert escaped("a\x00b\x1b[31m\x7f\x85\u202e\ufeffz\tq") == "a\\x00b\\x1b[31m\\x7f\\x85\\u{202e}\\u{feff}z\tq"


# ---------------------------------------------------------------------------- fuzz

NASTY = ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\t", "\r", "\r\n", "\udcff", "\udc80"]
FRAGMENTS = ["[", "]", "{", "}", ": ", "- ", "&a ", "*a", "!!python/object ", "---\n", "'", '"', "|\n", "#", "? ", ",", "\n  "]


@st.composite
def mutated(draw):
    text = PIPELINE
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "nest", "repeat", "indent", "delete"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(NASTY + FRAGMENTS)) * draw(st.integers(1, 3)) + text[at:]
        elif kind == "nest":  # deeper than the bound, in flow or block style
            n = draw(st.integers(MAX_DEPTH - 3, MAX_DEPTH + 40))
            nest = "[" * n + "]" * n if draw(st.booleans()) else "".join("\n" + "  " * i + "- " for i in range(n)) + "x\n"
            text = text[:at] + nest + text[at:]
        elif kind == "repeat":
            end = draw(st.integers(at, min(len(text), at + 80)))
            text = text[:end] + text[at:end] * draw(st.integers(2, 200)) + text[end:]
        elif kind == "indent":
            text = text[:at] + " " * draw(st.integers(1, 300)) + text[at:]
        else:
            end = draw(st.integers(at, min(len(text), at + 40)))
            text = text[:at] + text[end:]
    return text.encode("utf-8", "surrogateescape")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_fuzzed_pipeline_files_end_in_diagnostics_that_are_safe_to_print(raw):
    fd, path = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        sources = SourceCache()
        fe = front_end(path, Options(), sources)  # must not raise
        for d in fe.diags.sorted():
            text = render_text(d, sources)
            assert not UNSAFE.search(text), text
            assert d.span.line >= 0 and d.span.col >= 0
            for line in text.split("\n"):
                assert len(line) < 1000 + len(path) + 40 or line.startswith(("  hint", "  = note")), line[:200]
    finally:
        os.unlink(path)


def test_thousands_of_unknown_names_are_capped_and_linear(tmp_path):
    """6,000 unknown topics among 8,000 took minutes (a did-you-mean over every topic for each,
    and each error scanning those before it): now the first MAX_DIAGNOSTICS and one E007."""
    from sscc.diagnostics import MAX_DIAGNOSTICS

    lines = ["apiVersion: 0.5.0", "meta: {name: many, version: 0.1.0, namespace: test}", "topics:"]
    lines += [f"  topic-number-{i}: {{schema: {{value: {{type: string}}}}}}" for i in range(8000)]
    lines += ["services:"]
    for i in range(3000):
        lines += [f"  s{i}:", f"    sources: [{{type: topic, id: topic-numbr-{i}}}]", f"    sinks: [{{type: topic, id: topic-numbr-x{i}}}]"]
    out = first_error(check(tmp_path, "\n".join(lines) + "\n"))
    assert out.count("error[E046]") == MAX_DIAGNOSTICS
    assert f"error[E007]: more than {MAX_DIAGNOSTICS} diagnostics" in out
    assert "did you mean `topic-number-0`?" in out  # the first ones still get their suggestion


def test_a_did_you_mean_after_a_costly_file_still_works():
    """The suggestion budget is per checked file, not per process."""
    from sscc.diagnostics import _suggest_budget, did_you_mean, reset_suggestion_budget

    _suggest_budget[0] = 0
    reset_suggestion_budget()
    assert did_you_mean("topcs", ["topics", "types"]) == "did you mean `topics`?"


def test_a_two_megabyte_name_gets_no_quadratic_suggestion_and_is_printed_cut(tmp_path):
    name = "a" * 2_000_000
    text = (
        "apiVersion: 0.5.0\nmeta: {name: x, version: 0.1.0, namespace: test}\ntopics:\n"
        f"  ? {name}\n  : {{schema: {{value: {{type: string}}}}}}\n"
        f"services:\n  s:\n    sources: [{{type: topic, id: {name[:-1]}b}}]\n    sinks: [{{type: topic, id: x}}]\n"
    )
    out = first_error(check(tmp_path, text))
    assert out.count("error[E046]") == 2
    assert max(len(line) for line in out.splitlines()) < 9000
    assert "more characters)" in out


def test_a_signature_nested_20000_levels_is_E030_not_a_recursion_error(tmp_path):
    deep = "Vec<" * 20_000 + "u8" + ">" * 20_000
    text = PIPELINE.replace("fn split(line: String)", f"fn split(line: {deep})")
    out = first_error(check(tmp_path, text))
    assert "error[E030]" in out and "more than 32 levels deep" in out and "RecursionError" not in out
