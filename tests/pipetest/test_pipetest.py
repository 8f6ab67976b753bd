"""`sscc test` (docs/testing.md) through the real command line: real compiles, real wasm, real
embedded stores. The pipeline under test is examples/order-totals copied into tmp_path, whose
behaviour (price = qty * price, qty 0 filtered, qty > 1000 an operator error, bad JSON a decode
error) the expectations below are derived from by hand."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))

import runtime_build  # noqa: E402

EXAMPLES = Path(ROOT) / "examples"
TIMEOUT = 900


@pytest.fixture(autouse=True)
def toolchain():
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)


def sscc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["sscc", *args], capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def order_totals(tmp_path: Path, test_yaml: str, name: str = "orders.test.yaml") -> Path:
    shutil.copy(EXAMPLES / "order-totals" / "dataflow.yaml", tmp_path / "dataflow.yaml")
    path = tmp_path / name
    path.write_text(test_yaml)
    return path


def order(i: int, qty: int, price: float, item: str = "widget") -> str:
    return json.dumps({"id": i, "item": item, "qty": qty, "price": price})


# ---------------------------------------------------------------------------- the examples


def test_every_example_has_a_test_file_and_every_case_passes():
    """What CI runs: `sscc test examples/` over one test file per example."""
    dirs = sorted(p for p in EXAMPLES.iterdir() if (p / "dataflow.yaml").exists())
    missing = [p.name for p in dirs if not (p / "dataflow.test.yaml").exists()]
    assert not missing, f"examples without dataflow.test.yaml: {missing}"
    proc = sscc("test", str(EXAMPLES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = sum(len(re.findall(r"^  - name:", (p / "dataflow.test.yaml").read_text(), re.M)) for p in dirs)
    assert f"{cases} passed, 0 failed, 0 errors" in proc.stdout
    assert proc.stdout.count("  PASS  ") == cases


# ---------------------------------------------------------------------------- pass and fail


PASSING = f"""\
pipeline: dataflow.yaml
cases:
  - name: priced
    input:
      orders:
        - {order(1, 2, 2.5)}
        - {order(2, 0, 10.0)}
    expect:
      totals:
        - {{"id": 1, "item": "widget", "total": 5.0}}
"""


def test_a_passing_file_exits_0(tmp_path):
    proc = sscc("test", str(order_totals(tmp_path, PASSING)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  priced" in proc.stdout
    assert "1 passed, 0 failed, 0 errors" in proc.stdout


def test_a_wrong_expectation_fails_with_a_diff_per_topic(tmp_path):
    text = f"""\
pipeline: dataflow.yaml
cases:
  - name: right
    input:
      orders: [{order(1, 2, 2.5)}]
    expect:
      totals: [{{"id": 1, "item": "widget", "total": 5.0}}]
  - name: wrong total and a missing dead letter
    input:
      orders:
        - {order(1, 2, 2.5)}
        - {order(7, 3, 1.5, "gear")}
    expect:
      totals:
        - {{"id": 1, "item": "widget", "total": 5.0}}
        - {{"id": 7, "item": "gear", "total": 9.5}}
      pricing.dead-letters:
        - {{"kind": "decode", "offset": 0}}
"""
    proc = sscc("test", str(order_totals(tmp_path, text)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "PASS  right" in out and "FAIL  wrong total and a missing dead letter" in out
    assert "topic `totals`: expected 2 records, received 2 records" in out
    assert '-{"id": 7, "item": "gear", "total": 9.5}' in out
    assert '+{"id": 7, "item": "gear", "total": 4.5}' in out  # 3 * 1.5
    assert ' {"id": 1, "item": "widget", "total": 5.0}' in out  # context line, unchanged
    assert "topic `pricing.dead-letters`: expected 1 record, received 0 records" in out
    assert "1 passed, 1 failed, 0 errors" in out


def test_text_expectations_compare_bytes_and_json_ones_values(tmp_path):
    """A string expectation is the value's text: `{"id":1,...}` written as a string with other
    spacing is not the record; the same value as a mapping is (JSON equality, 5 == 5.0)."""
    text = f"""\
pipeline: dataflow.yaml
cases:
  - name: as JSON
    input: {{orders: [{order(1, 2, 2.5)}]}}
    expect:
      totals: [{{"total": 5, "item": "widget", "id": 1}}]
  - name: as text
    input: {{orders: [{order(1, 2, 2.5)}]}}
    expect:
      totals: ['{{"id": 1, "item": "widget", "total": 5.0}}']
"""
    proc = sscc("test", str(order_totals(tmp_path, text)))
    assert proc.returncode == 1
    assert "PASS  as JSON" in proc.stdout and "FAIL  as text" in proc.stdout
    assert '+{"id":1,"item":"widget","total":5.0}' in proc.stdout  # the bytes the pipeline wrote


def test_keys_and_timestamps_are_compared_when_written(tmp_path):
    """examples/key-value keeps the record's key; `{key, value}` expectations compare it."""
    shutil.copy(EXAMPLES / "key-value" / "dataflow.yaml", tmp_path / "dataflow.yaml")
    (tmp_path / "kv.test.yaml").write_text(
        """\
pipeline: dataflow.yaml
cases:
  - name: right key
    input:
      users: [{key: u-1, value: {"name": "Ann", "age": 34}}]
    expect:
      users-by-group: [{key: adult, value: {"id": "u-1", "name": "Ann", "age": 34}}]
  - name: wrong key
    input:
      users: [{key: u-1, value: {"name": "Ann", "age": 34}}]
    expect:
      users-by-group: [{key: child, value: {"id": "u-1", "name": "Ann", "age": 34}}]
  - name: value only
    input:
      users: [{key: u-1, value: {"name": "Ann", "age": 34}, timestamp: 7}]
    expect:
      users-by-group: [{value: {"id": "u-1", "name": "Ann", "age": 34}, timestamp: 7}]
"""
    )
    proc = sscc("test", str(tmp_path / "kv.test.yaml"))
    assert proc.returncode == 1
    assert "PASS  right key" in proc.stdout and "FAIL  wrong key" in proc.stdout and "PASS  value only" in proc.stdout
    assert "+key adult:" in proc.stdout


def test_a_pipeline_that_does_not_compile_is_an_error_of_its_cases(tmp_path):
    path = order_totals(tmp_path, PASSING)
    (tmp_path / "dataflow.yaml").write_text((tmp_path / "dataflow.yaml").read_text().replace("id: totals", "id: totalz"))
    proc = sscc("test", str(path))
    assert proc.returncode == 1
    assert "error[E046]" in proc.stderr  # the pipeline's own diagnostic
    assert "ERROR priced" in proc.stdout and "0 passed, 0 failed, 1 errors" in proc.stdout


# ---------------------------------------------------------------------------- broken test files


@pytest.mark.parametrize(
    "body, where, code, message",
    [
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    inputs: {orders: []}\n    expect: {}\n", "4:5", "E240", "unknown key `inputs` in `cases[0]`"),
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    expect: {totals: {}}\n", "4:22", "E240", "`cases[0].expect.totals` must be a list, found a mapping"),
        ("pipeline: dataflow.yaml\ncases: []\n", "2:8", "E240", "`cases` must not be empty"),
        ("pipeline: nothere.yaml\ncases:\n  - {name: a, expect: {}}\n", "1:11", "E241", "pipeline file `nothere.yaml` not found"),
        ("pipeline: dataflow.yaml\ncases:\n  - {name: a, expect: {}}\n  - {name: a, expect: {}}\n", "4:12", "E243", "two cases are named `a`"),
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    input: {orders: [{value: 1, timestamp: soon}]}\n    expect: {}\n", "4:44", "E244", "timestamp must be an integer"),
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    input: {ordres: [1]}\n    expect: {}\n", "4:13", "E242", "produces to `ordres`"),
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    expect: {total: []}\n", "4:14", "E242", "expects records in `total`"),
        ("pipeline: dataflow.yaml\ncases:\n  - name: a\n    env: {1X: y}\n    expect: {}\n", "4:11", "E240", "`1X` is not an environment variable name"),
        ("pipeline: dataflow.yaml\npipeline: x.yaml\ncases:\n  - {name: a, expect: {}}\n", "2:1", "E002", "duplicate key `pipeline`"),
    ],
)
def test_a_broken_test_file_exits_2_with_a_positioned_diagnostic(tmp_path, body, where, code, message):
    path = order_totals(tmp_path, body, "broken.test.yaml")
    proc = sscc("test", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{path}:{where}: error[{code}]: " in proc.stderr, proc.stderr
    assert message in proc.stderr
    line, col = map(int, where.split(":"))
    lines = proc.stderr.splitlines()
    head = next(i for i, text in enumerate(lines) if f"{path}:{where}: error[{code}]" in text)
    if code != "E002":
        assert lines[head + 2] == f"{line} | {body.splitlines()[line - 1]}"
        assert lines[head + 3].index("^") == len(f"{line} | ") + col - 1  # the caret under the column
    assert "PASS" not in proc.stdout and "no case was run" in proc.stderr


def test_hints_name_what_was_meant(tmp_path):
    path = order_totals(tmp_path, "pipeline: dataflow.yaml\ncases:\n  - name: a\n    expect: {total: []}\n", "t.test.yaml")
    assert "hint: did you mean `totals`?" in sscc("test", str(path)).stderr


def test_no_test_file_is_a_usage_error(tmp_path):
    proc = sscc("test", cwd=tmp_path)
    assert proc.returncode == 2 and "no test files (*.test.yaml)" in proc.stderr


def test_without_files_every_test_yaml_below_the_current_directory_runs(tmp_path):
    sub = tmp_path / "pipelines" / "orders"
    sub.mkdir(parents=True)
    order_totals(sub, PASSING, "dataflow.test.yaml")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "broken.test.yaml").write_text("not: [a test")
    proc = sscc("test", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pipelines/orders/dataflow.test.yaml" in proc.stdout


# ---------------------------------------------------------------------------- --update, --junit


def test_update_rewrites_failing_expectations_and_keeps_the_rest(tmp_path):
    text = f"""\
# my orders test
pipeline: dataflow.yaml
cases:
  - name: stale   # was right before the price change
    input:
      orders:
        - {order(1, 2, 2.5)}
        - {order(3, 100, 0.25, "bolt")}
        - {order(5, 5000, 1.0, "crate")}
    expect:
      totals:
        - {{"id": 1, "item": "widget", "total": 4.0}}
      pricing.dead-letters: []
  - name: fine
    input: {{orders: [{order(1, 2, 2.5)}]}}
    expect: {{totals: [{{"id": 1, "item": "widget", "total": 5.0}}]}}  # untouched
"""
    path = order_totals(tmp_path, text)
    proc = sscc("test", str(path), "--update")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "UPDATED stale" in proc.stdout
    new = path.read_text()
    assert new.startswith("# my orders test\n") and "# was right before the price change" in new
    assert 'expect: {totals: [{"id": 1, "item": "widget", "total": 5.0}]}  # untouched' in new
    import yaml

    stale = yaml.safe_load(new)["cases"][0]["expect"]
    assert stale["totals"] == [{"id": 1, "item": "widget", "total": 5.0}, {"id": 3, "item": "bolt", "total": 25.0}]
    (letter,) = stale["pricing.dead-letters"]
    assert letter == {"kind": "operator", "operator": "price", "reason": "qty 5000 too large", "topic": "orders", "offset": 2}
    again = sscc("test", str(path))
    assert again.returncode == 0 and "2 passed" in again.stdout


def test_junit_xml_counts_passes_failures_and_errors(tmp_path):
    text = PASSING + """\
  - name: wrong
    input: {orders: [{"id": 1, "item": "widget", "qty": 2, "price": 2.5}]}
    expect: {totals: []}
"""
    path = order_totals(tmp_path, text)
    report = tmp_path / "report.xml"
    proc = sscc("test", str(path), "--junit", str(report))
    assert proc.returncode == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    (suite,) = root
    cases = {c.get("name"): c for c in suite}
    assert set(cases) == {"priced", "wrong"}
    assert list(cases["priced"]) == []
    (failure,) = cases["wrong"]
    assert failure.tag == "failure" and "topic `totals` differs" in failure.get("message")
    assert '+{"id": 1, "item": "widget", "total": 5.0}' in failure.text


# ---------------------------------------------------------------------------- test function


def test_function_runs_one_operator_on_one_record(tmp_path):
    pipeline = str(EXAMPLES / "order-totals" / "dataflow.yaml")
    proc = sscc("test", "function", "price", "--value", order(1, 4, 1.25), pipeline)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"id": 1, "item": "widget", "total": 5.0}
    proc = sscc("test", "function", "in-stock", "--value", order(1, 0, 1.25), pipeline)
    assert proc.returncode == 0 and proc.stdout == "" and "filtered out" in proc.stderr
    proc = sscc("test", "function", "pricing/price", "--value", order(1, 4000, 1.0), pipeline)
    assert proc.returncode == 1 and "qty 4000 too large" in proc.stderr
    proc = sscc("test", "function", "prise", "--value", "{}", pipeline)
    assert proc.returncode == 1 and "did you mean `price`?" in proc.stderr


def test_function_takes_text_for_a_string_operator():
    pipeline = str(EXAMPLES / "split-sentence" / "dataflow.yaml")
    proc = sscc("test", "function", "sentence-to-words", "--value", "Hello big world", pipeline)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == ["Hello", "big", "world"]


def test_two_pipelines_of_one_name_in_one_run(tmp_path):
    """The second order-totals cannot be imported beside the first (one package name): its cases
    run the project in a subprocess, with the same results."""
    case = """\
pipeline: dataflow.yaml
cases:
  - name: one
    input:
      orders:
        - {"id": 1, "item": "w", "qty": 0, "price": 2.5}
        - {"id": 2, "item": "w", "qty": 2, "price": 2.5}
    expect:
      totals:
        - {"id": 2, "item": "w", "total": 5.0}
"""
    for name in ("a", "b"):  # two files, two projects, one package `order_totals`; one wasm build
        (tmp_path / name).mkdir()
        pipeline = (EXAMPLES / "order-totals" / "dataflow.yaml").read_text()
        (tmp_path / name / "dataflow.yaml").write_text(f"# copy {name}\n" + pipeline)
        (tmp_path / name / "t.test.yaml").write_text(case)
    proc = sscc("test", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed, 0 failed" in proc.stdout


def test_schema_of_test_files_for_editors_accepts_every_example():
    import jsonschema
    import yaml

    proc = sscc("schema", "--test")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in EXAMPLES.glob("*/dataflow.test.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"pipeline": "x.yaml", "cases": [{"name": "a", "inputs": {}, "expect": {}}]}, schema)
