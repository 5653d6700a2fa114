"""Judging event delivery from the worker's last report (worker/status.py).

Pure: the report row and the time in, one verdict per check out, each with
the reason an operator needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

UP = "up"
DOWN = "down"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    report_max_age: float  # the worker reports every few seconds
    heartbeat_max_age: float
    projection_lag_bound: float


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    status: str
    detail: str | None = None


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (now - moment).total_seconds()


def judge(report: Mapping[str, Any] | None, now: datetime, limits: Limits) -> dict[str, Check]:
    if report is None:
        return {"worker": Check(DOWN, "the worker of this replica has never reported")}
    checks: dict[str, Check] = {}
    age = _age(report["reported_at"], now)
    if age is None or age > limits.report_max_age:
        checks["worker"] = Check(DOWN, f"the worker last reported {age:.0f} s ago")
        return checks
    checks["worker"] = Check(UP)
    heartbeat = _age(report["heartbeat_received_at"], now)
    if heartbeat is None or heartbeat > limits.heartbeat_max_age:
        since = "ever" if heartbeat is None else f"for {heartbeat:.0f} s"
        checks["event_delivery"] = Check(DOWN, f"no heartbeat event came back {since}")
    else:
        checks["event_delivery"] = Check(UP)
    error = report["publish_error"]
    checks["pubsub"] = Check(DOWN, f"publishing failed: {error}") if error else Check(UP)
    lag = report["projection_lag_seconds"]
    if lag is not None and lag > limits.projection_lag_bound:
        checks["projection"] = Check(DOWN, f"events take {lag:.0f} s to reach the read model")
    else:
        checks["projection"] = Check(UP)
    markers = report["stale_outbox_markers"] or 0
    if markers:
        oldest = _age(report["oldest_outbox_marker_at"], now) or 0.0
        checks["outbox"] = Check(
            DOWN, f"{markers} committed event(s) not published, the oldest {oldest:.0f} s ago"
        )
    else:
        checks["outbox"] = Check(UP)
    return checks
