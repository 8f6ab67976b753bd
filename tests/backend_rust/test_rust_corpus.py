"""Real corpus pipelines built and run: a dependency plus std::sync::OnceLock, and chained keys."""

import json

import pytest

from conftest import CORPUS
from rust_backend_helpers import Service, needs_toolchain


def corpus(name):
    path = f"{CORPUS}/{name}"
    try:
        open(path).close()
    except OSError:
        pytest.skip("the conformance corpus is not beside this checkout")
    return path


def test_regex_filter_with_oncelock_runs():
    needs_toolchain()
    svc = Service(corpus("stateful-dataflows-examples__primitives__regex__dataflow.yaml"))
    (out,), errors = svc.run([(None, b"born 1999"), (None, b"born 1980"), (b"k", b"2011")])
    assert errors == []
    assert out == [(None, b"born 1999"), (b"k", b"2011")]


def test_key_value_chain_runs():
    needs_toolchain()
    svc = Service(corpus("stateful-dataflows-examples__primitives__key-value__chained__dataflow.yaml"))
    users = [(b"1x", {"name": "Ann", "age": 12}), (None, {"name": "Bob", "age": 40}), (b"9", {"name": "Cy", "age": 30})]
    (out,), errors = svc.run([(k, json.dumps(v).encode()) for k, v in users])
    assert errors == []
    assert [(k, json.loads(v)) for k, v in out] == [
        (b"child", {"location": "New York", "name": "Ann", "age": 12, "id": "1x"}),
        (b"adult", {"location": "", "name": "Bob", "age": 40, "id": None}),
        (b"adult", {"location": "USA", "name": "Cy", "age": 30, "id": "9"}),
    ]
