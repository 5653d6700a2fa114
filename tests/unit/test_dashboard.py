"""The Grafana dashboard charts only series the service exposes."""

from __future__ import annotations

import json
import re

from devstack.stack import PROJECT_ROOT
from observability.metrics import REGISTRY

DASHBOARD = PROJECT_ROOT / "ops" / "grafana" / "customer-service.json"


def exposed_series() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        for suffix in suffixes.get(family.type, [""]):
            names.add(family.name + suffix)
    return names


def test_every_query_uses_an_exposed_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(customer_[a-z_]+)\b", target["expr"])
    }

    assert queried
    assert queried <= exposed_series(), queried - exposed_series()


def test_the_seed_series_and_the_operational_ones_are_charted() -> None:
    text = DASHBOARD.read_text()
    for name in (
        "customer_requests_total",
        "customer_request_duration_seconds_bucket",
        "customer_errors_total",
        "customer_created_total",
        "customer_outbox_lag_seconds_bucket",
        "customer_actor_calls_total",
    ):
        assert name in text
