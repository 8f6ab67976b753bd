"""examples/car-makers: an operator calling a local maker registry over HTTP (sdf-http's `get`):
found makers enriched, a 404 turned into `unknown`, a 500 the operator's Err (a dead letter).
The registry is the example's own registry.py, started here on a free loopback port."""

import importlib.util
import json
import subprocess
import sys
import time

from example_cli import Example, assert_outputs, call, collect_outputs, require_toolchain, sscc

EXAMPLE = Example("car-makers")
PLACEHOLDER = "REGISTRY_URL"


def _registry_module():
    spec = importlib.util.spec_from_file_location("car_registry", EXAMPLE.dir / "registry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference(lines: list[str]) -> tuple[list[dict], list[int]]:
    """(car-makers, offsets of dead-lettered cars) from the registry's table."""
    makers = _registry_module().MAKERS
    out, dead = [], []
    for offset, line in enumerate(lines):
        car = json.loads(line)
        if car["maker"] == "Glitch":  # the registry answers 500
            dead.append(offset)
            continue
        country, continent = makers.get(car["maker"], ("unknown", "unknown"))
        out.append({"model": car["model"], "maker": car["maker"], "country": country, "continent": continent})
    return out, dead


def test_expected_files_match_the_plain_python_reference():
    cars = [json.loads(line) for line in EXAMPLE.expected_topics()["car-makers"]]
    dead = [d["offset"] for d in EXAMPLE.expected_dead_letters("lookup-maker")]
    assert reference(EXAMPLE.input_lines("cars")) == (cars, dead)


def test_lookups_against_the_local_registry(tmp_path):
    require_toolchain()
    port_file = tmp_path / "port"
    registry = subprocess.Popen(
        [sys.executable, str(EXAMPLE.dir / "registry.py"), "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            if port_file.exists() or registry.poll() is not None:
                break
            time.sleep(0.05)
        assert port_file.exists(), registry.stderr.read() if registry.poll() is not None else "no port"
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        cars = tmp_path / "cars.txt"
        cars.write_text(EXAMPLE.inputs()["cars"].read_text().replace(PLACEHOLDER, url))
        store = tmp_path / "store"
        call(["sscc", "topic", "produce", "cars", "--store", str(store), "--file", str(cars)])
        # only the registry may be called: the policy is part of what the example shows
        sscc("run", str(EXAMPLE.file), "--store", str(store), "--until-idle", "--http-allow", "127.0.0.1")
        outputs = collect_outputs(EXAMPLE, store, ["sscc", "topic"])
    finally:
        registry.terminate()
        registry.wait(timeout=10)
    assert_outputs(EXAMPLE, outputs)
