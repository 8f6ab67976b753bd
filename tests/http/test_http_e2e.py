"""HTTP from operators, end to end: tests/http/probe.yaml compiled by sscc (real Rust -> wasm,
sscc's sdf-http crate), run under wasmtime against a real HTTP server on 127.0.0.1 that the test
starts (local_server.py). Successes and HTTP error statuses are outputs the operator built from
the response; every failed request is a dead letter with its reason, and the run goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "runtime"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runtime_build  # noqa: E402
from local_server import LocalServer, closed_port  # noqa: E402

PIPELINE = Path(ROOT) / "tests" / "http" / "probe.yaml"
PACKAGE = "http_probe"
TIMEOUT = 900  # a cold build waits for the shared build lock


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    reason = runtime_build.missing_toolchain()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("http") / "project"
    proc = subprocess.run(
        ["sscc", "compile", str(PIPELINE), "-o", str(out)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def server():
    with LocalServer() as s:
        yield s


def app(project: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(project))
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=TIMEOUT
    )


def run_calls(project: Path, store: Path, topic: str, urls: list[str], *flags: str) -> None:
    lines = "".join(json.dumps({"url": u}) + "\n" for u in urls)
    produced = app(project, "topic", "produce", topic, "--store", str(store), stdin=lines)
    assert produced.returncode == 0, produced.stderr
    ran = app(project, "run", "--store", str(store), "--until-idle", "--quiet", *flags)
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr


def consume(project: Path, store: Path, topic: str) -> list[dict]:
    proc = app(project, "topic", "consume", topic, "--store", str(store), "--from-beginning", "--until-idle")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_success_and_error_statuses_are_responses(project, server, tmp_path):
    urls = [f"{server.base}/ok/ford", f"{server.base}/missing", f"{server.base}/boom", f"{server.base}/redirect"]
    run_calls(project, tmp_path, "calls", urls)
    answers = consume(project, tmp_path, "answers")
    assert [a["status"] for a in answers] == [200, 404, 500, 200]
    assert json.loads(answers[0]["body"]) == {
        "method": "GET", "path": "/ok/ford", "authorization": None, "content_type": None, "body": ""
    }
    assert answers[1]["body"] == "no such maker"
    assert answers[2]["body"] == "the service broke"
    assert json.loads(answers[3]["body"])["path"] == "/ok/redirected"  # followed on the host
    assert consume(project, tmp_path, "probe.dead-letters") == []


def test_json_post_and_blocking_send(project, server, tmp_path):
    """0.4.3's json(..).bearer(..).post(..) and 0.4.0's blocking::send with a built request."""
    run_calls(project, tmp_path, "posts", [f"{server.base}/ok/post", f"{server.base}/boom"])
    run_calls(project, tmp_path, "sends", [f"{server.base}/ok/put"])
    posted = consume(project, tmp_path, "posted")
    seen = json.loads(posted[0]["body"])
    assert seen["method"] == "POST" and seen["authorization"] == "Bearer t0ken"
    assert seen["content_type"] == "application/json"
    assert json.loads(seen["body"]) == {"url": f"{server.base}/ok/post"}
    assert posted[1]["status"] == 500
    sent = json.loads(consume(project, tmp_path, "sent")[0]["body"])
    assert (sent["method"], sent["content_type"], sent["body"]) == ("PUT", "text/plain", "plain text")


def test_failures_are_dead_letters_and_the_run_goes_on(project, server, tmp_path):
    refused = f"http://127.0.0.1:{closed_port()}/x"
    urls = [
        f"{server.base}/slow?ms=2500",
        refused,
        f"{server.base}/big?bytes=5000",
        f"{server.base}/ok/after",
    ]
    run_calls(project, tmp_path, "calls", urls, "--http-timeout", "0.5", "--http-max-bytes", "1000")
    dead = consume(project, tmp_path, "probe.dead-letters")
    assert [d["offset"] for d in dead] == [0, 1, 2]
    assert all(d["kind"] == "operator" and d["operator"] == "probe" for d in dead)
    reasons = [d["reason"] for d in dead]
    assert "timed out after 0.5 s" in reasons[0] and "/slow" in reasons[0]
    assert reasons[1].endswith("connection refused")
    assert "larger than 1,000 bytes" in reasons[2]
    assert json.loads(dead[0]["value"]) == {"url": urls[0]}  # the record itself, to replay
    answers = consume(project, tmp_path, "answers")
    assert [a["url"] for a in answers] == [urls[3]]


def test_policy_allow_list_and_no_http(project, server, tmp_path):
    url = f"{server.base}/ok/policy"
    before = len(server.seen)
    run_calls(project, tmp_path / "other", "calls", [url], "--http-allow", "example.com", "--http-allow", f"127.0.0.1:{closed_port()}")
    run_calls(project, tmp_path / "none", "calls", [url], "--no-http")
    assert len(server.seen) == before  # neither request left the host
    other = consume(project, tmp_path / "other", "probe.dead-letters")
    assert len(other) == 1 and "not allowed by --http-allow" in other[0]["reason"]
    assert "127.0.0.1:" in other[0]["reason"]
    none = consume(project, tmp_path / "none", "probe.dead-letters")
    assert len(none) == 1 and "disabled" in none[0]["reason"] and "--no-http" in none[0]["reason"]
    run_calls(project, tmp_path / "allowed", "calls", [url], "--http-allow", f"127.0.0.1:{server.port}")
    assert [a["status"] for a in consume(project, tmp_path / "allowed", "answers")] == [200]


def test_time_in_the_request_does_not_count_against_the_guest_deadline(project, server, tmp_path):
    """A 300 ms guest budget and a 1.2 s request: the call completes (the host re-arms the
    epoch deadline with what the guest had left), where a wall-clock budget would trap it."""
    slow = tmp_path / "project"
    subprocess.run(["cp", "-r", str(project), str(slow)], check=True)
    description = slow / PACKAGE / "services.json"
    data = json.loads(description.read_text())
    for svc in data["services"]:
        svc["limits"] = {"timeout_ms": 300}
    description.write_text(json.dumps(data))
    run_calls(slow, tmp_path / "store", "calls", [f"{server.base}/slow?ms=1200"], "--http-timeout", "5")
    assert consume(slow, tmp_path / "store", "probe.dead-letters") == []
    assert [a["body"] for a in consume(slow, tmp_path / "store", "answers")] == ["slow"]


def test_sscc_run_passes_the_http_flags(project, server, tmp_path):
    """`sscc run FILE` hands --no-http / --http-allow to the project's run."""
    store = str(tmp_path)
    line = json.dumps({"url": f"{server.base}/ok/sscc-run"}) + "\n"
    subprocess.run(["sscc", "topic", "produce", "calls", "--store", store], input=line, text=True, check=True, capture_output=True)
    ran = subprocess.run(
        ["sscc", "run", str(PIPELINE), "--store", store, "--until-idle", "--quiet", "--no-http"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert ran.returncode == 0, ran.stderr
    dead = consume(project, tmp_path, "probe.dead-letters")
    assert len(dead) == 1 and "--no-http" in dead[0]["reason"]
    bad = subprocess.run(["sscc", "run", str(PIPELINE), "--store", store, "--http-allow", "host:port"], capture_output=True, text=True, timeout=TIMEOUT)
    assert bad.returncode == 2 and "bad port" in bad.stderr


CORPUS_PREVIEW = "stateful-services-examples__use-cases__http-callout__data-pipeline.yaml"


def test_corpus_preview_callout_runs_under_the_policy(tmp_path):
    """The 0.3.0 http-callout of the corpus (`adaptors: [http]`, `ssdk_http::blocking::send` to
    demo-data.infinyon.com) builds and runs; with only 127.0.0.1 allowed its request is refused
    by the policy, without touching the network, and the record is dead-lettered with that reason."""
    from conftest import CORPUS

    path = os.path.join(CORPUS, CORPUS_PREVIEW)
    if not os.path.exists(path):
        pytest.skip("the conformance corpus is not beside the repository")
    if runtime_build.missing_toolchain():
        pytest.skip(runtime_build.missing_toolchain())
    store = str(tmp_path)
    car = json.dumps({"maker": "Ford", "model": "Focus"}) + "\n"
    subprocess.run(["sscc", "topic", "produce", "cars", "--store", store], input=car, text=True, check=True, capture_output=True)
    ran = subprocess.run(
        ["sscc", "run", path, "--store", store, "--until-idle", "--quiet", "--http-allow", "127.0.0.1"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert ran.returncode == 0, ran.stderr
    out = subprocess.run(
        ["sscc", "topic", "consume", "lookup-car-maker.dead-letters", "--store", store, "--from-beginning", "--until-idle"],
        capture_output=True, text=True, check=True,
    )
    dead = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(dead) == 1
    assert dead[0]["reason"] == (
        "http request GET https://demo-data.infinyon.com/api/maker/Ford failed: "
        "host demo-data.infinyon.com:443 is not allowed by --http-allow (allowed: 127.0.0.1)"
    )


@pytest.mark.parametrize("fast", [True, False], ids=["fast-call", "public-api"])
def test_guest_deadline_rearm_on_both_call_paths(project, server, fast):
    """The same through wasm_host directly, on the fast ctypes path and wasmtime's public API:
    a 300 ms budget, a 900 ms request, no trap; and a request the policy refuses is an error
    entry of kind `operator` for that record only."""
    from sscc.runtime_stub.sscc_runtime import frames
    from sscc.runtime_stub.sscc_runtime.http_client import HttpClient, HttpPolicy
    from sscc.runtime_stub.sscc_runtime.wasm_host import Guest, Limits

    guest = Guest(project / PACKAGE / "wasm" / "probe.wasm", Limits(timeout_ms=300), fast=fast)
    guest.http = HttpClient(HttpPolicy(allow=(f"127.0.0.1:{server.port}",), timeout_s=5))
    records = [(None, json.dumps({"url": u}).encode(), 0) for u in (f"{server.base}/slow?ms=900", "http://example.com/")]
    data, _ = frames.build(records)
    out = guest.run("sscc_stage_0", data, base_offset=0)
    assert out.count == 1
    assert [json.loads(r.value)["body"] for r in frames.iter_records(out.data)] == ["slow"]
    (error,) = out.errors
    assert (error.index, error.kind) == (1, "operator")
    assert "example.com:80 is not allowed by --http-allow" in error.message
