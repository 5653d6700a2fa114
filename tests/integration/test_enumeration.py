"""Nothing tells whether an email has an account: registration, lockout and
password reset answer alike for known and unknown emails, in what they say
and, within noise, in how long they take."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import asyncpg
import httpx

from tests.integration.conftest import EventSink, unique_email
from tests.integration.test_sign_in import event_of
from tests.support.accounts import CUSTOMERS, PASSWORD, login, register, sign_up, stored_holder
from tests.support.documents import stored_customers_with
from tests.support.polling import eventually

# Headers that differ from one answer to the next whatever the email: the
# time, and every hundredth answer of an API process asking for a new
# connection (service/middleware.py), which counts answers, not emails.
_PER_ANSWER = frozenset({"date", "retry-after", "connection"})


def seen(response: httpx.Response) -> tuple[int, object, dict[str, str]]:
    """Everything a caller can tell from an answer but its timing."""
    headers = {k: v for k, v in response.headers.items() if k not in _PER_ANSWER}
    body = response.json() if response.content else None
    return response.status_code, body, headers


async def test_registering_a_taken_email_answers_as_a_free_one_and_tells_its_owner(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection, event_sink: EventSink
) -> None:
    owner = await sign_up(anonymous, db)

    taken = await register(anonymous, owner.email.upper(), "another password entirely")
    fresh = await register(anonymous, unique_email("fresh"), "another password entirely")

    assert taken.status_code == fresh.status_code == 202
    assert seen(taken) == seen(fresh)
    notice = await event_of(event_sink, owner.id, "customer.registration_attempted")
    assert notice["data"]["changes"] == {}
    assert "another password" not in str(notice)
    # No second account: one stored customer holds the address.
    assert await stored_customers_with(db, owner.email) == [owner.id]


async def test_twenty_concurrent_registrations_of_one_email_store_one_customer(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    # Letters only, so that the 20 spellings below all differ.
    local = "race" + "".join(chr(ord("a") + int(d, 16) % 26) for d in uuid.uuid4().hex[:10])
    spellings = [
        "".join(c.upper() if (n >> i) & 1 else c for i, c in enumerate(local)) + "@Example.com"
        for n in range(20)
    ]
    assert len(set(spellings)) == 20

    answers = await asyncio.gather(*(register(anonymous, email) for email in spellings))

    assert all(seen(answer) == seen(answers[0]) for answer in answers)
    assert answers[0].status_code == 202

    async def settled() -> list[str] | None:
        if await stored_holder(db, spellings[0]) is None:
            return None
        await asyncio.sleep(2)  # the other 19 registrations finish after their answers
        return await stored_customers_with(db, spellings[0])

    assert len(await eventually(settled)) == 1


async def test_a_lockout_answers_alike_for_a_known_and_an_unknown_email(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    known = (await sign_up(anonymous, db)).email
    unknown = unique_email("nobody")
    answers: dict[str, list[httpx.Response]] = {known: [], unknown: []}
    for _ in range(6):
        for email in (known, unknown):
            answers[email].append(await login(anonymous, email, "wrong"))

    assert [seen(a) for a in answers[known]] == [seen(a) for a in answers[unknown]]
    assert [a.status_code for a in answers[known]] == [401] * 4 + [423] * 2
    for a, b in zip(answers[known][4:], answers[unknown][4:], strict=True):
        assert abs(int(a.headers["retry-after"]) - int(b.headers["retry-after"])) <= 1
    # Locked: even the right password gets the same answer.
    assert seen(await login(anonymous, known)) == seen(await login(anonymous, unknown, PASSWORD))


async def test_a_password_reset_answers_alike_for_a_known_and_an_unknown_email(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    known = (await sign_up(anonymous, db)).email
    for _ in range(5):  # beyond the hour's deliveries too
        answers = [
            await anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": email})
            for email in (known, unique_email("nobody"))
        ]
        assert seen(answers[0]) == seen(answers[1])
        assert answers[0].status_code == 202


# -- timing: medians of interleaved samples ------------------------------------------------

SAMPLES = 51


def alike(one_ms: float, other_ms: float) -> bool:
    """Two medians within noise: 2 ms, or a quarter of the slower one (the machine
    is shared; each request crosses the sidecar and Postgres; the suite's bcrypt
    cost is the cheapest, 4, so I/O, not hashing, is most of each request)."""
    return abs(one_ms - other_ms) <= max(2.0, 0.25 * max(one_ms, other_ms))


async def timed(request: Callable[[], Awaitable[httpx.Response]]) -> float:
    started = time.perf_counter()
    await request()
    return (time.perf_counter() - started) * 1000


async def medians(
    known: list[Callable[[], Awaitable[httpx.Response]]],
    unknown: list[Callable[[], Awaitable[httpx.Response]]],
) -> tuple[float, float]:
    """Median milliseconds of each, taken interleaved (alternating which goes first)."""
    times: tuple[list[float], list[float]] = ([], [])
    for n, pair in enumerate(zip(known, unknown, strict=True)):
        order = (0, 1) if n % 2 == 0 else (1, 0)
        for side in order:
            times[side].append(await timed(pair[side]))
    return statistics.median(times[0]), statistics.median(times[1])


async def test_a_wrong_password_takes_as_long_for_a_known_email_as_for_an_unknown_one(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    rounds = 3  # failures per email, after one to warm up: below the lockout's five
    known = [(await sign_up(anonymous, db)).email for _ in range(SAMPLES // rounds)]
    unknown = [unique_email("nobody") for _ in known]
    for email in known + unknown:  # warm up (actors active, connections open)
        await login(anonymous, email, "wrong")

    def attempts(emails: list[str]) -> list[Callable[[], Awaitable[httpx.Response]]]:
        return [partial(login, anonymous, e, "wrong") for _ in range(rounds) for e in emails]

    known_ms, unknown_ms = await medians(attempts(known), attempts(unknown))
    print(f"login medians: known {known_ms:.1f} ms, unknown {unknown_ms:.1f} ms")
    assert alike(known_ms, unknown_ms)


async def test_registration_and_reset_take_as_long_for_a_known_email_as_for_an_unknown_one(
    anonymous: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    owner = (await sign_up(anonymous, db)).email
    registrations = await medians(
        [lambda: register(anonymous, owner) for _ in range(SAMPLES)],
        [lambda: register(anonymous, unique_email("fresh")) for _ in range(SAMPLES)],
    )
    resets = await medians(
        [
            lambda: anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": owner})
            for _ in range(SAMPLES)
        ],
        [
            lambda: anonymous.post(f"{CUSTOMERS}/password-reset", json={"email": unique_email()})
            for _ in range(SAMPLES)
        ],
    )
    print(f"register medians {registrations}, reset medians {resets} (ms)")
    for known_ms, unknown_ms in (registrations, resets):
        assert alike(known_ms, unknown_ms)
