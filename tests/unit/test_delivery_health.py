"""Health's judgment of event delivery from the worker's last report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from service.delivery_health import DOWN, UP, Limits, judge

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LIMITS = Limits(report_max_age=15, heartbeat_max_age=30, projection_lag_bound=30)


def report(**changes: Any) -> dict[str, Any]:
    healthy = {
        "reported_at": NOW - timedelta(seconds=2),
        "heartbeat_received_at": NOW - timedelta(seconds=3),
        "publish_error": None,
        "projection_lag_seconds": 1.2,
        "stale_outbox_markers": 0,
        "oldest_outbox_marker_at": None,
    }
    return {**healthy, **changes}


def statuses(row: dict[str, Any] | None) -> dict[str, str]:
    return {name: check.status for name, check in judge(row, NOW, LIMITS).items()}


def test_a_fresh_report_with_a_recent_heartbeat_is_all_up() -> None:
    assert statuses(report()) == dict.fromkeys(
        ("worker", "event_delivery", "pubsub", "projection", "outbox"), UP
    )


def test_no_report_or_an_old_one_means_the_worker_is_down() -> None:
    assert statuses(None) == {"worker": DOWN}
    old = judge(report(reported_at=NOW - timedelta(seconds=60)), NOW, LIMITS)
    assert old["worker"].status == DOWN
    assert "60 s ago" in (old["worker"].detail or "")


def test_delivery_is_down_without_a_recent_heartbeat() -> None:
    stale = judge(report(heartbeat_received_at=NOW - timedelta(seconds=45)), NOW, LIMITS)
    never = judge(report(heartbeat_received_at=None), NOW, LIMITS)
    assert stale["event_delivery"].detail == "no heartbeat event came back for 45 s"
    assert never["event_delivery"].detail == "no heartbeat event came back ever"


def test_publish_errors_lag_and_left_behind_events_each_have_a_reason() -> None:
    checks = judge(
        report(
            publish_error="publish answered 500",
            projection_lag_seconds=95.0,
            stale_outbox_markers=2,
            oldest_outbox_marker_at=NOW - timedelta(minutes=5),
        ),
        NOW,
        LIMITS,
    )
    assert checks["pubsub"].status == DOWN
    assert "publish answered 500" in (checks["pubsub"].detail or "")
    assert checks["projection"].detail == "events take 95 s to reach the read model"
    assert checks["outbox"].detail == "2 committed event(s) not published, the oldest 300 s ago"
