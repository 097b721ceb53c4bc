"""Prometheus metrics of a gate, collected at scrape time from plain counters (nothing on the request
path but an integer increment)."""

from __future__ import annotations

from functools import cache

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class GateCollector:
    def __init__(self, gate) -> None:
        self.gate = gate

    def collect(self):
        g, s = self.gate, self.gate.served
        decisions = CounterMetricFamily(
            "beian_gate_decisions", "Requests decided by the gate", labels=["result"]
        )
        decisions.add_metric(["served"], g.counters.served)
        decisions.add_metric(["blocked"], g.counters.blocked)
        decisions.add_metric(["invalid"], g.counters.invalid)
        yield decisions
        yield GaugeMetricFamily(
            "beian_gate_feed_lag_seconds",
            "Seconds since the last successful feed sync",
            value=s.lag() if s.lag() is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "beian_gate_feed_position", "Last change-feed position applied", value=s.position
        )
        yield GaugeMetricFamily("beian_gate_domains", "Domains in the served set", value=len(s))
        yield GaugeMetricFamily(
            "beian_gate_degraded", "1 while the database is unreachable", value=int(s.degraded)
        )
        yield CounterMetricFamily("beian_gate_reloads", "Full loads of the served set", value=s.reloads)
        yield CounterMetricFamily(
            "beian_gate_feed_entries_applied", "Change-feed entries applied", value=s.applied
        )


@cache
def registry_for(gate) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(GateCollector(gate))
    return registry
