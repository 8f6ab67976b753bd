"""Building: the cache (a hit starts no cargo), and every way a build fails is a diagnostic."""

import os
import subprocess
import sys

import pytest

from rust_backend_helpers import PIPELINES, ir_of, needs_toolchain, render

from sscc.backend.rust import build_service, generate_crate
from sscc.backend.stages import plan
from sscc.diagnostics import Diagnostics


def build(path):
    fe, ir = ir_of(path)
    diags = Diagnostics()
    wasm = build_service(ir, plan(ir)[0], str(path), diags)
    return wasm, diags, fe


@pytest.fixture
def counting_cargo(monkeypatch):
    """Counts the real cargo builds this process starts (`cargo rustc`, run directly or inside the
    build sandbox's bubblewrap), spying on subprocess.run."""
    import subprocess

    runs = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        if "rustc" in cmd and any(str(part).endswith("cargo") for part in cmd):
            runs.append(cmd)
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return lambda: len(runs)


def test_a_cached_service_starts_no_cargo(counting_cargo):
    needs_toolchain()
    first, diags, fe = build(PIPELINES / "raw.yaml")  # built now or by an earlier run
    assert first is not None, render(fe, diags)
    before = counting_cargo()
    again, diags, _ = build(PIPELINES / "raw.yaml")
    assert again == first
    assert counting_cargo() == before


def test_rust_error_maps_to_the_pipeline_line(counting_cargo):
    needs_toolchain()
    path = PIPELINES / "rust_error.yaml"
    wasm, diags, fe = build(path)
    assert wasm is None
    (d,) = diags.errors()
    text = path.read_text().split("\n")
    line = next(i for i, t in enumerate(text, 1) if "undefined_factor" in t)
    col = text[line - 1].index("undefined_factor") + 1
    assert (d.code, d.span.line, d.span.col, d.span.end_col) == ("E201", line, col, col + len("undefined_factor"))
    assert "cannot find value `undefined_factor`" in d.message and "`double`" in d.message
    assert "undefined_factor" in render(fe, diags)  # the rendered source line is the YAML line
    assert counting_cargo() == 1  # a failed build is not cached: it ran cargo


def test_missing_and_incompatible_crates_are_E202_without_cargo(counting_cargo):
    needs_toolchain()
    path = PIPELINES / "deps.yaml"
    wasm, diags, fe = build(path)
    assert wasm is None
    got = [(d.code, d.span.line, d.message.split("`")[1]) for d in diags.errors()]
    text = path.read_text().split("\n")
    assert got == [
        ("E202", text.index("          - name: no-such-crate-sscc") + 1, "no-such-crate-sscc"),
        ("E202", text.index('            version: "2"'), "regex"),
    ]
    assert "apt-get install librust-no-such-crate-sscc-dev" in diags.errors()[0].hint
    assert counting_cargo() == 0


def test_semver_compatible_versions_are_relaxed_for_the_offline_registry():
    _, ir = ir_of(PIPELINES / "deps.yaml")
    toml = generate_crate(ir, plan(ir)[0], "deps.yaml").files["Cargo.toml"]
    assert 'regex = { version = "1" }' in toml  # asked 1.10.0; Debian ships 1.7
    assert 'sscc-guest = { path = "guest" }' in toml


def test_no_toolchain_is_E200_naming_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("SSCC_CARGO", str(tmp_path / "no-cargo"))
    monkeypatch.setenv("SSCC_RUSTC", str(tmp_path / "no-rustc"))
    wasm, diags, _ = build(PIPELINES / "raw.yaml")
    assert wasm is None
    (d,) = diags.errors()
    assert d.code == "E200"
    assert "apt-get install -y rustc cargo libstd-rust-dev-wasm32" in d.message
    assert "no-cargo does not exist" in d.message


def test_raw_converter_on_a_struct_is_E204(tmp_path):
    src = (
        (PIPELINES / "types.yaml")
        .read_text()
        .replace(
            "widgets-out: {schema: {value: {type: widget}}}", "widgets-out: {schema: {value: {type: widget, converter: raw}}}"
        )
    )
    path = tmp_path / "dataflow.yaml"
    path.write_text(src)
    wasm, diags, _ = build(path)
    assert wasm is None
    (d,) = diags.errors()
    assert d.code == "E204" and "raw converter cannot carry a value of type `Widget`" in d.message


def test_conformance_report_script_runs_on_one_file(tmp_path):
    needs_toolchain()
    out = tmp_path / "conformance.md"
    proc = subprocess.run(
        [sys.executable, "scripts/conformance_report.py", "--out", str(out), "--only", "primitives__map__dataflow"],
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    report = out.read_text()
    assert "| stateful-dataflows-examples__primitives__map__dataflow.yaml | 0.5.0 | built |  |" in report
    assert "- built: 2" in report  # HEAD and the e6d4bbe0 copy


def test_rust_error_in_a_quoted_block_points_at_the_block(tmp_path):
    needs_toolchain()
    src = (PIPELINES / "rust_error.yaml").read_text()
    start = src.index("        run: |\n          fn double")
    end = src.index("    sinks:")
    quoted = '        run: "fn double(n: u32) -> Result<u32> {\\n  Ok(n * undefined_factor)\\n}\\n"\n'
    path = tmp_path / "dataflow.yaml"
    path.write_text(src[:start] + quoted + src[end:])
    wasm, diags, _ = build(path)
    (d,) = diags.errors()
    line = path.read_text().split("\n").index(quoted.rstrip("\n")) + 1
    assert (d.code, d.span.line) == ("E201", line)
    assert "(line 2 of its code, column 10)" in d.message


def test_a_type_named_like_a_std_type_is_E204(tmp_path):
    src = (
        (PIPELINES / "types.yaml")
        .read_text()
        .replace("types:\n", "types:\n  vec:\n    type: object\n    properties:\n      a: {type: u32}\n", 1)
    )
    path = tmp_path / "dataflow.yaml"
    path.write_text(src)
    fe, ir = ir_of(path)
    diags = Diagnostics()
    assert build_service(ir, plan(ir)[0], str(path), diags) is None
    (d,) = diags.errors()
    assert d.code == "E204" and "the type `vec` would be the Rust type `Vec`" in d.message


def test_cargo_failing_before_rustc_is_E205(tmp_path):
    needs_toolchain()
    src = (PIPELINES / "deps.yaml").read_text()
    start = src.index("          - name: no-such-crate-sscc")
    src = src[:start] + src[src.index("          - name: regex") :]  # drop the missing crate
    src = src.replace('            version: "1.10.0"', '            version: "1.10.0"\n            features: [no-such-feature]')
    src = src.replace('            version: "2"', '            version: "1"')
    path = tmp_path / "dataflow.yaml"
    path.write_text(src)
    wasm, diags, _ = build(path)
    assert wasm is None
    (d,) = diags.errors()
    assert d.code == "E205" and "no-such-feature" in d.hint


def test_sdf_http_is_provided_but_needs_the_http_crate(tmp_path):
    """sscc provides sdf-http itself (docs/http.md), whatever its source; a registry without the
    `http` crate it builds on is E202 naming the package to install."""
    from sscc.backend.rust import _dependency_problem
    from sscc.ir.nodes import Dependency

    registry = tmp_path / "registry"
    (registry / "anyhow-1.0.68").mkdir(parents=True)
    git = Dependency("sdf-http", git="https://github.com/infinyon/sdf-http-guest", tag="v0.4.0")
    message, hint = _dependency_problem(git, str(registry))
    assert message == f"crate `sdf-http` (sscc provides it) needs `http` from the offline registry {registry}"
    assert hint == "try: apt-get install librust-http-dev"
    (registry / "http-0.2.7").mkdir()
    for dep in (git, Dependency("ssdk-http", git="https://github.com/infinyon/ssdk-guest-http"), Dependency("sdf-http", path="../x")):
        assert _dependency_problem(dep, str(registry)) is None


POLARS_READER = """\
apiVersion: 0.5.0
meta: {name: probe, version: 0.1.0, namespace: t}
config: {converter: raw}
topics:
  words: {schema: {value: {type: string}}}
  counts: {schema: {value: {type: string}}}
services:
  count:
    sources: [{type: topic, id: words}]
    states:
      count-per-word:
        type: keyed-state
        properties: {key: {type: string}, value: {type: arrow-row, properties: {count: {type: i32}}}}
    partition:
      assign-key:
        run: |
          fn key_by_word(w: String) -> Result<String> { Ok(w) }
      update-state:
        run: |
          fn bump(_w: String) -> Result<()> { let mut s = count_per_word(); s.count += 1; s.update()?; Ok(()) }
  lookup:
    sources: [{type: topic, id: words}]
    states:
      count-per-word: {from: count.count-per-word}
    transforms:
      - operator: map
        run: |
          fn query_word_count(word: String) -> Result<String> {
            use polars::prelude::{col, lit, IntoLazy};
            let df = count_per_word();
            Ok(word)
          }
    sinks: [{type: topic, id: counts}]
"""


def test_early_polars_state_code_is_E202_pointing_at_sql_without_cargo(tmp_path, counting_cargo):
    needs_toolchain()
    path = tmp_path / "dataflow.yaml"
    path.write_text(POLARS_READER)
    fe, ir = ir_of(path)
    lookup = next(p for p in plan(ir) if p.name == "lookup")
    diags = Diagnostics()
    assert build_service(ir, lookup, str(path), diags) is None
    (d,) = diags.errors()
    assert d.code == "E202" and "`query-word-count` uses SDF's early Polars state API" in d.message
    assert "sql(" in d.hint
    assert d.span.line == POLARS_READER.split("\n").index("      - operator: map") + 1
    assert counting_cargo() == 0


def test_an_unusable_cache_directory_is_E207(tmp_path):
    needs_toolchain()
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache directory should be")
    fe, ir = ir_of(PIPELINES / "raw.yaml")
    diags = Diagnostics()
    assert build_service(ir, plan(ir)[0], str(PIPELINES / "raw.yaml"), diags, cache_dir=str(not_a_dir)) is None
    (d,) = diags.errors()
    assert d.code == "E207" and str(not_a_dir) in d.hint


def test_wasm_import_reader():
    from sscc.backend.rust.wasm_imports import imports

    # (module (import "env" "f" (func)) (import "env" "m" (memory 1)))
    module = bytes.fromhex("0061736d01000000" "010401600000" "021302" "03656e76" "0166" "0000" "03656e76" "016d" "020001")
    assert imports(module) == ["env.f", "env.m"]
    assert imports(bytes.fromhex("0061736d01000000")) == []
    with pytest.raises(ValueError):
        imports(module[:-3])



def test_the_build_passes_the_wasm_target_features_to_rustc(tmp_path, monkeypatch):
    # build.TARGET_FEATURES: without bulk-memory every copy is a call to a byte loop (WC ran 18 %
    # slower; docs/benchmarks.md). Performance is the benchmarks' business; this checks that the
    # flags reach rustc, for the generated crate only (after `--`), on every toolchain version.
    import importlib

    build_mod = importlib.import_module("sscc.backend.rust.build")
    from sscc.backend.rust.toolchain import Toolchain

    seen = []

    def run(cmd, **kwargs):
        seen.append(cmd)
        raise OSError("not started by this test")

    monkeypatch.setattr(build_mod.subprocess, "run", run)
    _, ir = ir_of(PIPELINES / "raw.yaml")
    crate = generate_crate(ir, plan(ir)[0], str(PIPELINES / "raw.yaml"))
    for version in ("rustc 1.63.0", "rustc 1.75.0"):
        toolchain = Toolchain(cargo="cargo", rustc="rustc", registry="", version=version)
        result = build_mod._cargo_build(crate, toolchain, tmp_path, f"k{version}")
        assert result.wasm is None and "not started by this test" in result.output
    for cmd in seen:
        # the last `--`: the sandbox's bubblewrap has its own before the cargo command
        extra = cmd[len(cmd) - cmd[::-1].index("--") :]
        assert extra[:2] == ["-C", "target-feature=+bulk-memory,+nontrapping-fptoint"]
    assert ["--cfg", build_mod.ONCE_CELL_CFG] == seen[0][-2:] and build_mod.ONCE_CELL_CFG not in seen[1]


def test_errors_inside_macro_calls_in_user_code_are_E201_at_the_call(tmp_path):
    """rustc puts the primary span of an error in `anyhow!(...)`/`vec![...]` inside the macro's
    definition (anyhow's macros.rs, std's); the call in the user's code is what to point at."""
    needs_toolchain()
    path = PIPELINES / "macro_error.yaml"
    wasm, diags, fe = build(path)
    assert wasm is None
    text = path.read_text().split("\n")
    got = sorted((d.code, d.span.line, d.span.col) for d in diags.errors())
    anyhow_line = next(i for i, t in enumerate(text, 1) if "anyhow::anyhow!" in t)
    vec_line = next(i for i, t in enumerate(text, 1) if "vec![n]" in t)
    assert got == [
        ("E201", anyhow_line, text[anyhow_line - 1].index("anyhow::anyhow!") + 1),
        ("E201", vec_line, text[vec_line - 1].index("vec![n]") + 1),
    ], render(fe, diags)
    first = min(diags.errors(), key=lambda d: d.span.line)
    assert "mismatched types" in first.message and "`halve`" in first.message
    assert any("anyhow::Error" in n for n in first.notes)  # rustc's label, from the macro's span


def test_a_message_whose_primary_span_is_in_a_macro_definition_maps_to_its_call_site():
    """The same mapping on rustc's JSON (as rustc 1.63 writes it for the case above), so it is
    checked on every toolchain: also a span in std with the crate's span secondary only."""
    import json

    from sscc.backend.rust.build import _parse

    call = {"file_name": "src/lib.rs", "line_start": 23, "line_end": 23, "column_start": 16, "column_end": 51,
            "is_primary": False, "label": None, "expansion": None}
    in_macro = {"file_name": "/usr/share/cargo/registry/anyhow-1.0.69/src/macros.rs", "line_start": 207,
                "line_end": 207, "column_start": 9, "column_end": 71, "is_primary": True,
                "label": "expected struct `String`, found struct `anyhow::Error`",
                "expansion": {"span": call, "macro_decl_name": "anyhow::anyhow!"}}
    secondary = dict(call, column_start=12, column_end=15, label="arguments to this enum variant are incorrect")
    in_std = dict(in_macro, file_name="/usr/src/rustc-1.63.0/library/core/src/result.rs", expansion=None)
    lines = [
        {"reason": "compiler-message", "message": {"level": "error", "message": m, "spans": spans, "children": []}}
        for m, spans in (("mismatched types", [in_macro, secondary]), ("bound", [in_std, secondary]), ("gen", [in_std]))
    ]
    messages, _ = _parse("\n".join(json.dumps(x) for x in lines))
    got = [(m.file, m.line, m.col, m.end_col, m.label) for m in messages]
    assert got == [
        ("src/lib.rs", 23, 16, 51, in_macro["label"]),  # the macro call, with the primary span's label
        ("src/lib.rs", 23, 12, 15, in_macro["label"]),  # no expansion: the crate's secondary span
        (in_std["file_name"], 207, 9, 71, in_macro["label"]),  # nothing in the crate: stays (E203)
    ]
