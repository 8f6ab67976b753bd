"""`sscc run --ui` / `--metrics` against a running pipeline, with a plain HTTP client (httpx):
/metrics agrees with the run's own counters, the event stream delivers updates, the state
browser answers what `sscc state show` and `sscc sql` print. Real compile, real wasm, real
server on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess

import pytest

from ui_helpers import EXAMPLES, Running, metrics, poll, require_toolchain, sscc, summary, value

# Metrics and the API name a service as the store does: namespace.pipeline.service.
PRICING = "examples.order-totals.pricing"
ORDERS = (EXAMPLES / "order-totals" / "input" / "orders.txt").read_text().splitlines()


def expected_orders(lines: list[str]) -> dict:
    """What order-totals must count, by a plain-Python reading of the orders (its README)."""
    out, dead = 0, {"decode": 0, "price": 0}
    for line in lines:
        try:
            order = json.loads(line)
        except ValueError:
            dead["decode"] += 1
            continue
        if not 0 <= order["qty"] < 2**32:
            dead["decode"] += 1
        elif order["qty"] > 1000:
            dead["price"] += 1
        elif order["qty"] > 0:
            out += 1
    return {"in": len(lines), "out": out, "dead": sum(dead.values()), "dead_by": dead}


def scrape(url: str) -> dict:
    import httpx

    response = httpx.get(url + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return metrics(response.text)


def test_metrics_match_the_runs_counters(tmp_path):
    want = expected_orders(ORDERS * 2)
    with Running("order-totals", tmp_path / "store", "--ui", "127.0.0.1:0") as run:
        run.produce("orders", ORDERS)
        run.produce("orders", ORDERS)
        samples = poll(
            lambda: scrape(run.url),
            lambda s: value(s, "sscc_service_records_in_total", service=PRICING) == want["in"]
            and value(s, "sscc_lag_records", service=PRICING, topic="orders", partition="0") == 0,
            "every order read and committed in /metrics",
        )
        counted = summary(run.stop())
    svc = {"service": PRICING}
    assert value(samples, "sscc_service_records_out_total", **svc) == want["out"]
    assert value(samples, "sscc_service_records_dead_total", **svc) == want["dead"]
    # The run's own summary line says the same numbers.
    assert counted["in"] == want["in"] and counted["out"] == want["out"] and counted["dead"] == want["dead"]
    # Per operator stage: the fused chain is one stage, so it saw every record.
    stage = {"service": PRICING, "operator": "decode -> in-stock -> price -> encode", "stage": "sscc_stage_0"}
    assert value(samples, "sscc_records_in_total", **stage) == want["in"]
    assert value(samples, "sscc_records_out_total", **stage) == want["out"]
    assert value(samples, "sscc_records_dead_total", **stage) == want["dead"]
    for operator, n in want["dead_by"].items():
        labels = {"service": PRICING, "stage": stage["operator"], "operator": operator}
        assert value(samples, "sscc_dead_letters_total", **labels) == n, operator
    batches = value(samples, "sscc_service_batches_total", **svc)
    assert batches and batches >= 1
    assert value(samples, "sscc_batch_duration_seconds_count", **svc) == batches
    assert value(samples, "sscc_batch_duration_seconds_bucket", service=PRICING, le="+Inf") == batches


def test_event_stream_and_snapshot_follow_the_run(tmp_path):
    import httpx

    with Running("order-totals", tmp_path / "store", "--ui", "0") as run:
        assert run.url.startswith("http://127.0.0.1:")  # PORT alone: the default host
        seen = []
        with httpx.stream("GET", run.url + "/api/events", timeout=60) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[len("data: "):])
                seen.append(event["counters"]["services"][PRICING]["in"])
                if len(seen) == 1:
                    assert seen[0] == 0
                    run.produce("orders", ORDERS)
                if seen[-1] == len(ORDERS):
                    break
        # the same event as one JSON answer: dead letters with their reasons, lag per partition
        event = httpx.get(run.url + "/api/snapshot", timeout=30).json()
        reasons = {d["offset"]: (d["kind"], d["reason"]) for d in event["dead_letters"]}
        assert reasons[4] == ("operator", "qty 5000 too large")
        assert reasons[3][0] == "decode" and reasons[5][0] == "decode"
        assert event["lag"] == [
            {"service": PRICING, "topic": "orders", "partition": 0, "end": len(ORDERS), "position": len(ORDERS), "lag": 0}
        ]
        model = httpx.get(run.url + "/api/model", timeout=30).json()
        assert [s["name"] for s in model["services"]] == [PRICING]
        ops = [(o["name"], o["kind"]) for o in model["services"][0]["stages"][0]["operators"]]
        assert ops == [("decode", "decode"), ("in-stock", "filter"), ("price", "map"), ("encode", "encode")]
        svg = httpx.get(run.url + "/graph.svg", timeout=60).text
        assert "<svg" in svg and 'id="stage:s0_0"' in svg and "in&#45;stock" in svg
        page = httpx.get(run.url + "/", timeout=30).text
        assert "EventSource" in page and "order-totals" in page
    assert len(seen) >= 2 and seen[0] == 0 and seen[-1] == len(ORDERS)


def test_state_browser_answers_as_state_show_and_sql(tmp_path):
    import httpx

    store = tmp_path / "store"
    lines = (EXAMPLES / "word-join" / "input" / "source-a.txt").read_text().splitlines()
    with Running("word-join", store, "--ui", "127.0.0.1:0") as run:
        run.produce("source-a", lines)
        poll(
            lambda: httpx.get(run.url + "/api/snapshot", timeout=30).json()["lag"],
            lambda rows: any(r["topic"] == "source-a" and r["position"] == len(lines) for r in rows),
            "source-a read and committed",
        )
        states = httpx.get(run.url + "/api/states", timeout=30).json()
        shown = httpx.get(run.url + "/api/state", params={"name": "count-per-word-a"}, timeout=30).json()
        one = httpx.get(run.url + "/api/state", params={"name": "count-per-word-a", "key": "cat"}, timeout=30).json()
        query = "select _key, occurrences from count_per_word_a order by occurrences desc, _key"
        answered = httpx.get(run.url + "/api/sql", params={"q": query}, timeout=30).json()
        refused = httpx.get(run.url + "/api/sql", params={"q": "delete from count_per_word_a"}, timeout=30)
        missing = httpx.get(run.url + "/api/state", params={"name": "nope"}, timeout=30)
        # the command line over the same store, while the pipeline runs
        cli_show = sscc("state", "show", "count-per-word-a", "--store", str(store))
        cli_sql = sscc("sql", query, "--store", str(store), "--json")
    table = [line.split(None, 1) for line in cli_show.splitlines()]
    assert [shown["columns"], *shown["rows"]] == table
    assert one["rows"] == [r for r in shown["rows"] if r[0] == "cat"] and one["rows"]
    assert answered["columns"] == ["_key", "occurrences"]
    assert [dict(zip(answered["columns"], r)) for r in answered["rows"]] == [json.loads(l) for l in cli_sql.splitlines()]
    size = next(s for s in states if s["state"] == "count-per-word-a")
    assert size["keys"] == len(shown["rows"]) and size["service"] == "examples.word-join.word-count-source-a"
    assert refused.status_code == 400 and "read-only" in refused.json()["error"]
    assert missing.status_code == 404 and "count-per-word-a" in missing.json()["error"]


def test_metrics_flag_serves_only_metrics(tmp_path):
    import httpx

    with Running("order-totals", tmp_path / "store", "--metrics", "127.0.0.1:0") as run:
        run.produce("orders", ORDERS)
        samples = poll(
            lambda: scrape(run.url),
            lambda s: value(s, "sscc_service_records_in_total", service=PRICING) == len(ORDERS),
            "the orders counted",
        )
        assert value(samples, "sscc_lag_records", service=PRICING, topic="orders", partition="0") is not None
        assert httpx.get(run.url + "/api/snapshot", timeout=30).status_code == 404
        assert httpx.get(run.url + "/", timeout=30).status_code == 404


def test_bad_address_and_taken_port_are_clean_errors(tmp_path):
    require_toolchain()
    import socket

    cwd = EXAMPLES / "order-totals"
    bad = subprocess.run(
        ["sscc", "run", "dataflow.yaml", "--store", str(tmp_path / "s"), "--ui", "localhost:http"],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )
    assert bad.returncode == 2 and "expected [HOST:]PORT" in bad.stderr and "Traceback" not in bad.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            ["sscc", "run", "dataflow.yaml", "--store", str(tmp_path / "s"), "--until-idle", "--ui", f"127.0.0.1:{port}"],
            cwd=cwd, capture_output=True, text=True, timeout=600,
        )
    assert proc.returncode == 1, proc.stderr
    assert f"error: cannot serve on 127.0.0.1:{port}" in proc.stderr and "Traceback" not in proc.stderr
