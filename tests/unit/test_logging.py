"""Log lines: JSON, with the caller's trace id, and secrets redacted."""

from __future__ import annotations

import json
import logging

import pytest

from observability.access_log import AccessLog
from observability.logging import (
    REDACTED,
    configure_logging,
    get_logger,
    request_traceparent,
    trace_id_from_traceparent,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    configure_logging("info")
    token = request_traceparent.set(TRACEPARENT)
    try:
        get_logger("test").info(
            "signed in", customer_id="c-1", password="hunter2", nested={"api_key": "k-123"}
        )
        logging.getLogger("stdlib.library").warning("from the standard library")
        get_logger("test").debug("too quiet to show")
    finally:
        request_traceparent.reset(token)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_line_is_a_json_object_with_the_expected_fields(
    lines: list[dict[str, object]],
) -> None:
    assert len(lines) == 2  # debug is below CUSTOMER_LOG_LEVEL=info
    first = lines[0]
    assert first["message"] == "signed in"
    assert first["level"] == "info"
    assert first["logger"] == "test"
    assert first["customer_id"] == "c-1"
    assert isinstance(first["time"], str)
    assert first["time"].endswith("Z")


def test_lines_carry_the_trace_id_of_the_request(lines: list[dict[str, object]]) -> None:
    assert [line["trace_id"] for line in lines] == [TRACE_ID, TRACE_ID]
    assert lines[1]["logger"] == "stdlib.library"


def test_secret_looking_fields_are_redacted(lines: list[dict[str, object]]) -> None:
    assert lines[0]["password"] == REDACTED
    assert lines[0]["nested"] == {"api_key": REDACTED}
    assert "hunter2" not in json.dumps(lines)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (TRACEPARENT, TRACE_ID),
        (None, None),
        ("garbage", None),
        ("00-short-00f067aa0ba902b7-01", None),
    ],
)
def test_trace_ids_come_from_w3c_traceparent(header: str | None, expected: str | None) -> None:
    assert trace_id_from_traceparent(header) == expected


def test_an_access_line_has_the_shape_of_every_other_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info")
    token = request_traceparent.set(TRACEPARENT)
    try:
        get_logger("customer_service.access").info("request", method="GET", status=200)
        AccessLog("customer_service.access").write({"method": "GET", "status": 200})
    finally:
        request_traceparent.reset(token)
    configure_logging("warning")
    AccessLog("customer_service.access").write({"method": "GET", "status": 200})

    through_structlog, direct = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert direct.keys() == through_structlog.keys()
    assert list(direct) == list(through_structlog)
    assert {k: v for k, v in direct.items() if k != "time"} == {
        k: v for k, v in through_structlog.items() if k != "time"
    }
    assert direct["trace_id"] == TRACE_ID
    assert direct["time"].endswith("Z")
