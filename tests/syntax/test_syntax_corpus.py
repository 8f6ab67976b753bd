"""Every embedded-language string of the real corpus parses: inline Rust (dataflows and packages),
durations, cron schedules and type names."""

import functools
import glob
import os

import pytest
import yaml

from sscc.diagnostics import Span
from sscc.syntax import (
    operator_function,
    parse_cron,
    parse_duration,
    parse_functions,
    parse_type_name,
    rust_to_sdf,
    unwrap_result,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "..", "shared", "conformance", "corpus")  # as tests/conftest.py has it
FILES = sorted(glob.glob(os.path.join(CORPUS, "*.yaml")))
DURATION_KEYS = {"duration", "slide", "offset", "idleness", "grace-period", "grace_period", "ttl"}
SPAN = Span("corpus", 1, 1)


def strings(node, path=()):
    """(path, value) of every string value in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings(value, path + (i,))
    elif isinstance(node, str):
        yield path, node


@functools.cache
def load(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def test_corpus_is_there():
    assert len(FILES) == 188


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_inline_rust(path):
    for where, code in strings(load(path)):
        if where[-1] != "run":
            continue
        fn = operator_function(parse_functions(code), code)
        assert fn is not None, where
        for param in fn.params:
            assert rust_to_sdf(param.type, SPAN) is not None, (where, param)
        ok, _, was_result = unwrap_result(fn.ret)
        assert was_result and rust_to_sdf(ok, SPAN) is not None, (where, fn.ret)


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_durations_cron_and_type_names(path):
    data = load(path)
    for where, text in strings(data):
        key = where[-1]
        if key in DURATION_KEYS:
            parse_duration(text)
        elif key == "cron":
            parse_cron(text)
        elif key in ("type", "type-name", "type_name"):
            parse_type_name(text)
    for name in data.get("types") or {}:
        parse_type_name(name)


def test_the_corpus_has_what_these_tests_look_for():
    found = {"run": 0, "duration": 0}
    for path in FILES:
        for where, _ in strings(load(path)):
            if where[-1] in found:
                found[where[-1]] += 1
    assert found["run"] >= 400 and found["duration"] >= 20, found
