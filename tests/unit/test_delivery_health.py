"""Health's judgment of event delivery from the worker's last report."""

from __future__ import annotations

from typing import Any

from service.delivery_health import DOWN, UP, Check, Limits, judge

LIMITS = Limits(report_max_age=15, heartbeat_max_age=30, projection_lag_bound=30)
STREAM_UP = {"connected": True, "last_error": None, "down_seconds": None, "failing_seconds": None}


def report(**changes: Any) -> dict[str, Any]:
    healthy = {
        "report_age": 2.0,
        "heartbeat_age_seconds": 3.0,
        "publish_error": None,
        "streams": {"customer-events": STREAM_UP, "customer-heartbeat": STREAM_UP},
        "projection_lag_seconds": 1.2,
        "stale_outbox_markers": 0,
        "oldest_marker_age": None,
        "marker_error": None,
    }
    return {**healthy, **changes}


def statuses(row: dict[str, Any] | None) -> dict[str, str]:
    return {name: check.status for name, check in judge(row, LIMITS).items()}


def test_a_fresh_report_with_a_recent_heartbeat_is_all_up() -> None:
    assert statuses(report()) == dict.fromkeys(
        ("worker", "event_delivery", "pubsub", "projection", "outbox"), UP
    )


def test_no_report_or_an_old_one_means_the_worker_is_down() -> None:
    assert statuses(None) == {"worker": DOWN}
    old = judge(report(report_age=60.0), LIMITS)
    assert old["worker"].status == DOWN
    assert "60 s ago" in (old["worker"].detail or "")


def test_delivery_is_down_without_a_recent_heartbeat() -> None:
    stale = judge(report(heartbeat_age_seconds=45.0), LIMITS)
    never = judge(report(heartbeat_age_seconds=None), LIMITS)
    assert stale["event_delivery"].detail == "no heartbeat event came back for 45 s"
    assert never["event_delivery"].detail == "no heartbeat event came back ever"


def test_a_stream_down_while_heartbeats_flow_is_broken_delivery() -> None:
    """Heartbeats prove only their own stream: each stream is judged too."""
    down = {**STREAM_UP, "connected": False, "last_error": "AioRpcError", "down_seconds": 40.0}
    checks = judge(report(streams={"customer-events": down}), LIMITS)
    assert checks["event_delivery"].status == DOWN
    assert checks["event_delivery"].detail == (
        "the customer-events stream is down for 40 s (AioRpcError)"
    )
    # A stream reconnecting for a moment is not an outage.
    blip = {**down, "down_seconds": 3.0}
    assert judge(report(streams={"customer-events": blip}), LIMITS)["event_delivery"].status == UP


def test_events_that_keep_failing_to_apply_are_a_broken_projection() -> None:
    failing = {**STREAM_UP, "failing_seconds": 50.0}
    checks = judge(
        report(streams={"customer-events": failing}, projection_lag_seconds=None), LIMITS
    )
    assert checks["projection"].detail == "events of customer-events fail to apply for 50 s"


def test_publish_errors_lag_and_left_behind_events_each_have_a_reason() -> None:
    checks = judge(
        report(
            publish_error="publish answered 500",
            projection_lag_seconds=95.0,
            stale_outbox_markers=2,
            oldest_marker_age=300.0,
        ),
        LIMITS,
    )
    assert checks["pubsub"].status == DOWN
    assert "publish answered 500" in (checks["pubsub"].detail or "")
    assert checks["projection"].detail == "events take 95 s to reach the read model"
    assert checks["outbox"].detail == "2 committed event(s) not published, the oldest 300 s ago"


def test_markers_that_cannot_be_counted_are_said_so() -> None:
    checks = judge(
        report(stale_outbox_markers=None, marker_error="cannot count outbox markers: X"), LIMITS
    )
    assert checks["outbox"] == Check(DOWN, "cannot count outbox markers: X")
