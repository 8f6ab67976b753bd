"""Property test: mutated corpus files never crash sscc; they give exit 0 or 1 with diagnostics.

Mutations work on the parsed data (drop a key, rename a key, replace a value with one of another
type, swap an operator, garble a name) and the result is written back as YAML.
"""

import json
import os
import random
import subprocess
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CORPUS, MANIFEST
from sscc.diagnostics import SourceCache, render_text
from sscc.driver import Options, front_end

if not os.path.exists(MANIFEST):  # pragma: no cover
    pytest.skip("conformance corpus not found", allow_module_level=True)

with open(MANIFEST) as fh:
    FILES = sorted(e["file"] for e in json.load(fh) if e["kind"] in ("dataflow", "package"))

OPERATORS = ["map", "filter", "filter-map", "flat-map", "assign-key", "update-state", "bogus", "flat_map"]
ODD_VALUES = [None, 0, -1, 3.5, True, "", "x", [], {}, [1, 2], {"type": "u32"}, "10 parsecs", "fn x( -> {"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _parent(data, path):
    node = data
    for p in path[:-1]:
        node = node[p]
    return node


def mutate(data, rnd: random.Random):
    paths = [p for p in _paths(data) if p]
    path = rnd.choice(paths)
    parent, last = _parent(data, path), path[-1]
    kind = rnd.choice(["drop", "rename", "retype", "operator", "garble"])
    if kind == "drop":
        del parent[last]
    elif kind == "rename" and isinstance(parent, dict):
        value = parent.pop(last)
        parent[str(last)[:-1] + rnd.choice("xs_-") if str(last) else "k"] = value
    elif kind == "operator":
        ops = [p for p in paths if p[-1] == "operator"]
        if ops:
            op = rnd.choice(ops)
            _parent(data, op)["operator"] = rnd.choice(OPERATORS)
    elif kind == "garble" and isinstance(parent[last], str):
        s = parent[last]
        i = rnd.randrange(len(s) + 1)
        parent[last] = s[:i] + rnd.choice(["q", "-", "_", "", "Z"]) + s[i + 1 :]
    else:
        parent[last] = rnd.choice(ODD_VALUES)
    return data


def _load(name):
    with open(os.path.join(CORPUS, name)) as fh:
        return yaml.safe_load(fh)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FILES), seed=st.integers(0, 2**32), rounds=st.integers(1, 4))
def test_mutated_files_never_crash(tmp_path_factory, name, seed, rounds):
    rnd = random.Random(seed)
    data = _load(name)
    for _ in range(rounds):
        if not data:
            break
        data = mutate(data, rnd)
    path = tmp_path_factory.mktemp("mut") / os.path.basename(name)
    path.write_text(yaml.safe_dump(data, sort_keys=False) if data is not None else "")
    sources = SourceCache()
    fe = front_end(str(path), Options(), sources)
    for d in fe.diags.sorted():
        text = render_text(d, sources)
        assert text.startswith(f"{path}:") and f"[{d.code}]" in text


def test_cli_exit_codes_on_mutations(tmp_path):
    """The real command line: never a traceback, exit 0 or 1, a rendered diagnostic for errors."""
    rnd = random.Random(7)
    for i in range(12):
        name = rnd.choice(FILES)
        data = mutate(_load(name), rnd)
        path = tmp_path / f"m{i}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        proc = subprocess.run([sys.executable, "-m", "sscc", "check", str(path)], capture_output=True, text=True)
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr
        if proc.returncode == 1:
            assert f"{path}:" in proc.stderr and "error[E" in proc.stderr
