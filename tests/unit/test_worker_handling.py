"""The projector's and the order handler's outcomes that need no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from readmodel.projector import Event, Outcome, Projector, RecentMaximum, Verdict
from security import event_signature
from security.macs import MacKeyring
from worker import deliveries
from worker.deliveries import parse_order, with_retries

KEYS = MacKeyring({"e1": b"e" * 32})


class NoDatabase:
    """Any use of the pool fails the test: these outcomes are decided before it."""

    def acquire(self) -> Any:
        raise AssertionError("the database was used")


async def no_announcement(*_: object) -> None:
    raise AssertionError("nothing should be announced")


PROJECTOR = Projector(NoDatabase(), KEYS, no_announcement)  # type: ignore[arg-type]


def data(**changes: Any) -> dict[str, Any]:
    return {
        "customer_id": "c1",
        "version": 2,
        "occurred_at": "2026-11-28T12:00:00+00:00",
        "changes": {},
        "snapshot": {"id": "c1", "version": 2},
        **changes,
    }


async def test_derived_events_are_ignored() -> None:
    outcome = await PROJECTOR.handle(Event("customer.segments.changed", {"anything": 1}))
    assert outcome == Outcome(Verdict.IGNORED)


@pytest.mark.parametrize(
    "payload",
    [
        data(),  # unsigned
        event_signature.signed(MacKeyring({"e1": b"x" * 32}), "customer.updated", data()),
        "not json at all",
    ],
)
async def test_events_without_our_signature_are_dead_letters(payload: object) -> None:
    outcome = await PROJECTOR.handle(Event("customer.updated", payload))
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert outcome.reason.startswith("unauthenticated")


@pytest.mark.parametrize(
    "payload",
    [
        data(snapshot={"id": "someone-else"}),
        data(occurred_at="yesterday"),
        data(occurred_at="2026-11-28T12:00:00"),  # no time zone
        {k: v for k, v in data().items() if k != "snapshot"},
    ],
)
async def test_signed_but_malformed_events_are_dead_letters(payload: dict[str, Any]) -> None:
    signed = event_signature.signed(KEYS, "customer.updated", payload)
    outcome = await PROJECTOR.handle(Event("customer.updated", signed))
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert outcome.reason.startswith("malformed")


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("customer.updated", data(snapshot={"id": "c1", "version": 3})),  # not its version
        ("customer.locked", {k: v for k, v in data().items() if k not in ("snapshot", "version")}),
        ("customer.locked", {**data(version="2"), "snapshot": None}),
        ("customer.locked", {**data(version=0), "snapshot": None}),
        ("customer.locked", {**data(customer_id=None), "snapshot": None}),
    ],
)
async def test_signed_events_without_a_usable_version_are_dead_letters(
    event_type: str, payload: dict[str, Any]
) -> None:
    signed = event_signature.signed(KEYS, event_type, payload)
    outcome = await PROJECTOR.handle(Event(event_type, signed))
    assert outcome.verdict is Verdict.DEAD_LETTER
    assert outcome.reason.startswith("malformed")


async def test_transient_failures_are_retried_before_giving_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "RETRY_PAUSES", (0.0, 0.0, 0.0))
    answers = [Outcome(Verdict.RETRY), Outcome(Verdict.RETRY), Outcome(Verdict.APPLIED)]

    async def attempt() -> Outcome:
        return answers.pop(0)

    assert await with_retries(attempt) == Outcome(Verdict.APPLIED)

    async def never() -> Outcome:
        return Outcome(Verdict.RETRY, "database down")

    assert await with_retries(never) == Outcome(Verdict.RETRY, "database down")


def test_an_order_event_becomes_a_record_order_command() -> None:
    cid = "0283950c-57c6-4e90-911a-8da03a767925"
    customer_id, command = parse_order(
        {
            "order_id": "o-1",
            "customer_id": cid,
            "total": "49.90",
            "placed_at": "2026-11-28T10:00:00Z",
        }
    )
    assert customer_id == cid
    assert (command.order_id, command.total) == ("o-1", Decimal("49.90"))
    assert command.placed_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        {
            "order_id": "o",
            "customer_id": "c",
            "total": "1.999",
            "placed_at": "2026-11-28T10:00:00Z",
        },
        {"order_id": "o", "customer_id": "c", "total": "-1", "placed_at": "2026-11-28T10:00:00Z"},
        {"order_id": "o", "customer_id": "c", "total": "NaN", "placed_at": "2026-11-28T10:00:00Z"},
        {"order_id": "o", "customer_id": "c", "total": "1", "placed_at": "2026-11-28T10:00:00"},
        {"customer_id": "c", "total": "1", "placed_at": "2026-11-28T10:00:00Z"},
        ["not", "an", "object"],
        # It would become part of a sidecar URL (review: path injection).
        {
            "order_id": "o",
            "customer_id": "../../shutdown?x=",
            "total": "1",
            "placed_at": "2026-11-28T10:00:00Z",
        },
    ],
)
def test_impossible_orders_are_refused(payload: Any) -> None:
    with pytest.raises((ValueError, KeyError, TypeError, ArithmeticError)):
        parse_order(payload)


def test_the_recent_maximum_forgets_old_values(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("readmodel.projector.time.monotonic", lambda: clock[0])
    lags = RecentMaximum(window=60)
    assert lags.value() is None
    lags.record(5.0)
    clock[0] = 130.0
    lags.record(2.0)
    assert lags.value() == 5.0
    clock[0] = 170.0
    assert lags.value() == 2.0
