"""Prometheus metrics of a running pipeline (`/metrics` of `run --ui` or `run --metrics`).

A custom prometheus_client collector: every scrape turns the loop's latest counter snapshot
(webserver.Board) and a look at the store (lag, state size) into metric families, so the run
loop never touches prometheus_client. Names and labels: docs/ui.md.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from .loop import LATENCY_BUCKETS


class PipelineCollector(Collector):
    def __init__(self, view):
        self.view = view  # webserver.View: the model, the snapshot board and the store reads

    def collect(self):
        view = self.view
        snapshot = view.board.latest()
        per_service = {
            "in": CounterMetricFamily("sscc_service_records_in", "Records read from the service's sources.", labels=["service"]),
            "out": CounterMetricFamily("sscc_service_records_out", "Records written to the service's sinks.", labels=["service"]),
            "dead": CounterMetricFamily("sscc_service_records_dead", "Records of the service sent to its dead-letter topic.", labels=["service"]),
            "late": CounterMetricFamily("sscc_service_records_late", "Records past every window (also dead-lettered).", labels=["service"]),
            "batches": CounterMetricFamily("sscc_service_batches", "Batches committed.", labels=["service"]),
        }
        op = {
            "in": CounterMetricFamily("sscc_records_in", "Records into an operator stage (one wasm call per batch).", labels=["service", "operator", "stage"]),
            "out": CounterMetricFamily("sscc_records_out", "Records out of an operator stage.", labels=["service", "operator", "stage"]),
            "dead": CounterMetricFamily("sscc_records_dead", "Records that failed in an operator stage (dead-lettered).", labels=["service", "operator", "stage"]),
        }
        by_operator = CounterMetricFamily(
            "sscc_dead_letters", "Dead letters by the operator that failed them.", labels=["service", "stage", "operator"]
        )
        latency = HistogramMetricFamily(
            "sscc_batch_duration_seconds", "Time from reading a batch to handing its commit over.", labels=["service"]
        )
        for svc in view.model.described:
            counts = snapshot.get(svc["name"])
            if counts is None:
                continue
            name = svc["name"]
            for key, family in per_service.items():
                family.add_metric([name], counts[key])
            for stage in svc["stages"]:
                tally = counts["stages"].get(stage["id"], (0, 0, 0))
                for i, key in enumerate(("in", "out", "dead")):
                    op[key].add_metric([name, stage["name"], stage["export"]], tally[i])
            for (stage_name, operator), n in counts["dead_by_operator"].items():
                by_operator.add_metric([name, stage_name, operator], n)
            buckets, running = [], 0
            for bound, n in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts["latency"]):
                running += n
                buckets.append((bound, running))
            latency.add_metric([name], buckets, counts["latency_sum"])
        yield from per_service.values()
        yield from op.values()
        yield by_operator
        yield latency
        lag = GaugeMetricFamily(
            "sscc_lag_records", "Records stored in a source partition and not committed as read yet.", labels=["service", "topic", "partition"]
        )
        for row in view.lag():
            if row["lag"] is not None:
                lag.add_metric([row["service"], row["topic"], str(row["partition"])], row["lag"])
        yield lag
        keys = GaugeMetricFamily("sscc_state_keys", "Keys in a state (every open window counted).", labels=["service", "state"])
        changes = GaugeMetricFamily("sscc_state_changelog_records", "Change records in a state's changelog.", labels=["service", "state"])
        for row in view.state_sizes():
            keys.add_metric([row["service"], row["state"]], row["keys"])
            changes.add_metric([row["service"], row["state"]], row["changes"])
        yield keys
        yield changes
