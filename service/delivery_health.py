"""Judging event delivery from the worker's last report (worker/status.py).

Pure: the report row (with ages already computed, by the worker or against
the database's clock, never across two hosts' clocks) in, one verdict per
check out, each with the reason an operator needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

UP = "up"
DOWN = "down"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    report_max_age: float  # the worker reports every few seconds
    heartbeat_max_age: float
    projection_lag_bound: float
    # A stream down or failing for longer than this is a broken delivery.
    stream_grace: float = 15.0


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    status: str
    detail: str | None = None


def judge(report: Mapping[str, Any] | None, limits: Limits) -> dict[str, Check]:
    """``report``: the worker's row plus ``report_age`` and ``oldest_marker_age`` (seconds)."""
    if report is None:
        return {"worker": Check(DOWN, "the worker of this replica has never reported")}
    age = report["report_age"]
    if age > limits.report_max_age:
        return {"worker": Check(DOWN, f"the worker last reported {age:.0f} s ago")}
    return {
        "worker": Check(UP),
        "event_delivery": _delivery(report, limits),
        "pubsub": _publishing(report),
        "projection": _projection(report, limits),
        "outbox": _outbox(report),
    }


def _delivery(report: Mapping[str, Any], limits: Limits) -> Check:
    heartbeat = report["heartbeat_age_seconds"]
    if heartbeat is None or heartbeat > limits.heartbeat_max_age:
        since = "ever" if heartbeat is None else f"for {heartbeat:.0f} s"
        return Check(DOWN, f"no heartbeat event came back {since}")
    for topic, stream in sorted((report["streams"] or {}).items()):
        down = stream.get("down_seconds")
        if down is not None and down > limits.stream_grace:
            error = stream.get("last_error") or "closed"
            return Check(DOWN, f"the {topic} stream is down for {down:.0f} s ({error})")
    return Check(UP)


def _publishing(report: Mapping[str, Any]) -> Check:
    error = report["publish_error"]
    return Check(DOWN, f"publishing failed: {error}") if error else Check(UP)


def _projection(report: Mapping[str, Any], limits: Limits) -> Check:
    lag = report["projection_lag_seconds"]
    if lag is not None and lag > limits.projection_lag_bound:
        return Check(DOWN, f"events take {lag:.0f} s to reach the read model")
    for topic, stream in sorted((report["streams"] or {}).items()):
        failing = stream.get("failing_seconds")
        if failing is not None and failing > limits.stream_grace:
            return Check(DOWN, f"events of {topic} fail to apply for {failing:.0f} s")
    return Check(UP)


def _outbox(report: Mapping[str, Any]) -> Check:
    if report["marker_error"]:
        return Check(DOWN, report["marker_error"])
    markers = report["stale_outbox_markers"] or 0
    if not markers:
        return Check(UP)
    oldest = report["oldest_marker_age"] or 0.0
    return Check(DOWN, f"{markers} committed event(s) not published, the oldest {oldest:.0f} s ago")
