"""The Customer actor's write protocol on in-memory fakes: load, decide, claim,
commit within the fence, then remember and release (actors/customer_shell.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from actors import sign_in as sign_in_facts
from actors.customer_actor import CustomerHandlers, ReminderNotDone
from actors.customer_protocol import (
    AddressesShown,
    AddressShown,
    CustomerShown,
    ErasureAsk,
    ErasureShown,
    Outcome,
    PasswordAttempt,
    PasswordChange,
    PasswordReset,
    Read,
    ReadCustomer,
    VersionShown,
)
from actors.customer_shell import CustomerShell
from actors.document_store import StoreError
from actors.protocol import FieldProblem, Refused
from actors.reminders import ERASURE_REMINDER
from actors.sign_in import SignInFacts
from actors.unique_key_protocol import KeyRefusal
from domain.claims import FENCE
from domain.commands import (
    AddAddress,
    CancelErasure,
    DeleteCustomer,
    RegisterCustomer,
    RequestPasswordReset,
    UpdateCustomer,
)
from domain.errors import Refusal
from domain.events import (
    ADDRESS_CREATED,
    CUSTOMER_CREATED,
    CUSTOMER_ERASED,
    CUSTOMER_REGISTERED,
    LOGGED_IN,
    PASSWORD_CHANGED,
)
from domain.model import CustomerStatus
from domain.sessions import Access
from domain.unique_keys import email_key, legacy_id_key
from security import passwords
from security.command_secrets import CommandSecrets
from security.keyring import Keyring
from security.macs import MacKeyring
from security.one_time import digest
from security.passwords import DecoyHash, hash_password
from tests.unit.builders import CUSTOMER_ID, NOW, POLICY, US_ADDRESS, create_command
from tests.unit.fakes import FakeClaims, FakeSessions, FakeStore, MonotonicClock

SECRETS = CommandSecrets(MacKeyring({"c1": b"c" * 32}))
FACTS = SignInFacts(Keyring({"t1": b"t" * 32}), DecoyHash(4), SECRETS, 4)
EMAIL_KEY = email_key("customer@example.com")


@dataclasses.dataclass
class Actor:
    """One activation of a customer's actor over the fakes."""

    store: FakeStore
    claims: FakeClaims
    clock: MonotonicClock
    handlers: CustomerHandlers
    sessions: FakeSessions


def activate(
    store: FakeStore | None = None,
    claims: FakeClaims | None = None,
    customer_id: str = CUSTOMER_ID,
) -> Actor:
    store = store or FakeStore()
    clock = MonotonicClock()
    claims = claims or FakeClaims(clock)
    sessions = FakeSessions()
    shell = CustomerShell(customer_id, store, claims, POLICY, lambda: NOW, clock, sessions=sessions)
    return Actor(store, claims, clock, CustomerHandlers(shell, FACTS), sessions)


async def created(actor: Actor) -> CustomerShown:
    shown = await actor.handlers.create(create_command())
    assert isinstance(shown, CustomerShown), shown
    return shown


async def test_a_create_commits_one_document_and_its_event() -> None:
    actor = activate()

    shown = await created(actor)

    assert shown.committed is True
    assert shown.version == 1
    orders = {"total_orders", "total_spent", "last_order_at"}
    profile = {k: v for k, v in shown.customer.items() if k not in orders}
    assert actor.store.document(CUSTOMER_ID) == {**profile, **_rest(actor)}
    # The reply shows the order statistics the document keeps under "orders".
    assert {k: shown.customer[k] for k in orders} == _rest(actor)["orders"]
    assert [event.type for event in actor.store.events] == [CUSTOMER_CREATED]
    assert actor.claims.holders == {EMAIL_KEY: CUSTOMER_ID}
    # A create on a fresh actor skips the read: its commit is insert-only.
    assert actor.store.loads == 0


async def test_every_call_loads_what_is_stored_and_keeps_nothing() -> None:
    actor = activate()
    await created(actor)

    shown = await actor.handlers.get(ReadCustomer())
    assert isinstance(shown, CustomerShown)
    assert shown.committed is None
    assert actor.store.loads == 1

    # What another writer stored is what the next call sees (nothing is cached).
    stored = actor.store.document(CUSTOMER_ID)
    assert stored is not None
    actor.store.put(CUSTOMER_ID, {**stored, "version": 5, "first_name": "Other"})
    updated = await actor.handlers.update(UpdateCustomer({"last_name": "Roe"}))
    assert isinstance(updated, CustomerShown)
    assert (updated.version, updated.customer["first_name"]) == (6, "Other")
    assert actor.store.loads == 2


async def test_a_write_between_load_and_commit_is_a_conflict_and_commits_nothing() -> None:
    actor = activate()
    await created(actor)
    stored = actor.store.document(CUSTOMER_ID)
    assert stored is not None
    # Another writer stores version 7 after the actor loaded.
    actor.store.after_next_load = lambda: actor.store.put(
        CUSTOMER_ID, {**stored, "version": 7, "first_name": "Other"}
    )

    refused = await actor.handlers.update(UpdateCustomer({"first_name": "Joan"}))

    assert refused == Refused(Refusal.CONFLICT, "the customer changed since it was loaded")
    assert [event.type for event in actor.store.events] == [CUSTOMER_CREATED]
    shown = await actor.handlers.get(ReadCustomer())
    assert isinstance(shown, CustomerShown)
    assert (shown.version, shown.customer["first_name"]) == (7, "Other")


async def test_a_failed_commit_is_unavailable_and_the_next_call_reads_what_is_stored() -> None:
    actor = activate()
    await created(actor)
    actor.store.next_commit_fails = StoreError("state transaction answered 500")

    refused = await actor.handlers.update(UpdateCustomer({"first_name": "Jane"}))

    assert refused == Refused(Refusal.UNAVAILABLE, "the state store is unavailable")
    assert [event.type for event in actor.store.events] == [CUSTOMER_CREATED]
    shown = await actor.handlers.get(ReadCustomer())
    assert isinstance(shown, CustomerShown)
    assert (shown.version, shown.customer["first_name"]) == (1, "John")


async def test_a_store_that_cannot_be_read_refuses_reads_and_writes() -> None:
    actor = activate()
    actor.store.failing_loads = True
    unavailable = Refused(Refusal.UNAVAILABLE, "the state store is unavailable")

    assert await actor.handlers.get(ReadCustomer()) == unavailable
    assert await actor.handlers.delete(DeleteCustomer()) == unavailable
    assert actor.store.events == []


async def test_claims_that_take_longer_than_the_fence_commit_nothing() -> None:
    actor = activate()
    actor.claims.claim_takes = FENCE.total_seconds() + 1

    refused = await actor.handlers.create(create_command(legacy_id="CRM-1"))

    assert refused == Refused(
        Refusal.UNAVAILABLE, "claiming the customer's unique values took too long"
    )
    assert actor.store.documents == {}
    assert actor.store.events == []
    # What this call claimed is given back.
    assert actor.claims.holders == {}
    assert sorted(actor.claims.released) == sorted([EMAIL_KEY, legacy_id_key("CRM-1")])


async def test_a_refused_claim_gives_back_only_what_this_call_took_newly() -> None:
    claims = FakeClaims()
    claims.holders = {EMAIL_KEY: CUSTOMER_ID, legacy_id_key("CRM-1"): "someone-else"}
    actor = activate(claims=claims)

    refused = await actor.handlers.create(create_command(legacy_id="CRM-1"))

    detail = "another customer already has this legacy id"
    problem = FieldProblem("legacy_id", detail, "legacy_id_taken")
    assert refused == Refused(Refusal.LEGACY_ID_TAKEN, detail, (problem,))
    # The email was held already (a replay of a create that committed): it stays.
    assert claims.holders[EMAIL_KEY] == CUSTOMER_ID
    assert claims.released == []


async def test_a_later_refusal_releases_a_key_taken_earlier_in_the_same_call() -> None:
    claims = FakeClaims()
    claims.refusing = {legacy_id_key("CRM-1"): KeyRefusal.UNAVAILABLE}
    actor = activate(claims=claims)

    refused = await actor.handlers.create(create_command(legacy_id="CRM-1"))

    assert refused == Refused(Refusal.UNAVAILABLE, "the unique key store is unavailable")
    assert claims.released == [EMAIL_KEY]
    assert claims.holders == {}


async def test_a_commit_releases_the_values_the_customer_gave_up() -> None:
    actor = activate()
    await created(actor)

    await actor.handlers.update(UpdateCustomer({"email": "new@example.com"}))

    assert actor.claims.released == [EMAIL_KEY]
    assert actor.claims.holders == {email_key("new@example.com"): CUSTOMER_ID}


async def test_a_new_activation_reads_what_the_last_one_committed() -> None:
    first = activate()
    await created(first)
    await first.handlers.update(UpdateCustomer({"first_name": "Jane"}))

    # The actor was deactivated (idle, rebalanced): a new one starts empty.
    second = activate(store=first.store, claims=first.claims)
    shown = await second.handlers.get(ReadCustomer())

    assert isinstance(shown, CustomerShown)
    assert (shown.version, shown.customer["first_name"]) == (2, "Jane")
    deleted = await second.handlers.delete(DeleteCustomer(if_match=(2,)))
    assert deleted == VersionShown(version=3, committed=True)


async def test_a_create_over_a_stored_customer_is_decided_again_on_what_is_stored() -> None:
    store = FakeStore()
    first = activate(store=store)
    await created(first)

    # A fresh activation guesses "nothing stored"; the insert-only commit refuses,
    # and the create, decided again on the stored customer, already exists.
    refused = await activate(store=store, claims=first.claims).handlers.create(create_command())

    assert isinstance(refused, Refused)
    assert refused.code is Refusal.ALREADY_EXISTS
    assert [event.type for event in store.events] == [CUSTOMER_CREATED]


async def test_a_replayed_create_and_address_answer_what_was_done_and_commit_nothing() -> None:
    actor = activate()
    command = create_command(fingerprint="f1")
    first = await actor.handlers.create(command)
    again = await activate(store=actor.store, claims=actor.claims).handlers.create(command)
    address = AddAddress("a1", US_ADDRESS, idempotency_key="k1")
    added = await actor.handlers.add_address(address)
    added_again = await actor.handlers.add_address(address)

    assert isinstance(first, CustomerShown)
    assert again == CustomerShown(customer=first.customer, committed=False)
    assert isinstance(added, AddressShown)
    assert added_again == dataclasses.replace(added, committed=False)
    assert [e.type for e in actor.store.events] == [CUSTOMER_CREATED, ADDRESS_CREATED]


async def test_a_decision_that_refuses_changes_nothing() -> None:
    actor = activate()
    await created(actor)

    refused = await actor.handlers.update(UpdateCustomer({"first_name": "X"}, if_match=(9,)))

    assert isinstance(refused, Refused)
    assert refused.code is Refusal.VERSION_MISMATCH
    no_op = await actor.handlers.update(UpdateCustomer({"first_name": "John"}))
    assert isinstance(no_op, CustomerShown)
    assert no_op.committed is False
    assert [event.type for event in actor.store.events] == [CUSTOMER_CREATED]


async def registered(actor: Actor, status: CustomerStatus = CustomerStatus.ACTIVE) -> None:
    command = RegisterCustomer(
        profile=create_command(status=status),
        password_hash=hash_password("right one", 4),
        verification_digest=digest("v"),
        delivery={},
    )
    assert isinstance(await actor.handlers.register(command), CustomerShown)


def attempt(password: str) -> PasswordAttempt:
    return PasswordAttempt(
        email="customer@example.com",
        password=SECRETS.seal(CUSTOMER_ID, "password", password),
        challenge_digest=digest("c"),
    )


async def test_a_right_password_signs_in_and_says_at_which_session_epoch() -> None:
    actor = activate()
    await registered(actor)

    answer = await actor.handlers.login(attempt("right one"))

    assert answer == Outcome(LOGGED_IN, CUSTOMER_ID, 2, True, session_epoch=0)


async def test_a_wrong_password_commits_nothing() -> None:
    """The sign-in flow counts it, outside the document, alike for unknown emails."""
    actor = activate()
    await registered(actor)

    answer = await actor.handlers.login(attempt("wrong"))

    assert answer == Refused(Refusal.INVALID_CREDENTIALS, "email or password is wrong")
    assert [event.type for event in actor.store.events] == [CUSTOMER_REGISTERED]


async def test_an_unknown_customer_checks_the_password_against_the_decoy() -> None:
    actor = activate(customer_id="decoy-1")

    answer = await actor.handlers.login(attempt("anything"))

    assert isinstance(answer, Refused)
    assert answer.code is Refusal.INVALID_CREDENTIALS
    assert actor.store.documents == {}


def _rest(actor: Actor) -> dict[str, object]:
    """What the stored document holds besides the profile."""
    stored = actor.store.document(CUSTOMER_ID)
    assert stored is not None
    return {key: stored[key] for key in ("addresses", "preferences", "orders", "internal")}


# -- sessions: the actor refuses an ended session's calls and ends the sessions a change ends


async def test_a_read_for_an_ended_session_or_a_blocked_account_is_refused() -> None:
    actor = activate()
    await created(actor)

    current = await actor.handlers.get(ReadCustomer(access=Access(0)))
    older = await actor.handlers.get(ReadCustomer(access=Access(1)))
    admin = await actor.handlers.get(ReadCustomer())
    assert isinstance(current, CustomerShown)
    assert isinstance(admin, CustomerShown)
    assert isinstance(older, Refused)
    assert older.code is Refusal.SESSION_ENDED

    await actor.handlers.update(UpdateCustomer({"status": "SUSPENDED"}))
    # The suspension ended every session (epoch 0 -> 1): the old token's session is
    # over; a token of the new epoch (none is issued to a suspended account) is
    # refused as the account's.
    old_session = await actor.handlers.get_addresses(Read(access=Access(0)))
    suspended = await actor.handlers.get_addresses(Read(access=Access(1)))
    assert isinstance(old_session, Refused)
    assert old_session.code is Refusal.SESSION_ENDED
    assert isinstance(suspended, Refused)
    assert suspended.code is Refusal.ACCOUNT_DISABLED
    assert isinstance(await actor.handlers.get_addresses(Read()), AddressesShown)


async def test_a_change_that_ends_every_session_ends_them_after_it_committed() -> None:
    actor = activate()
    await created(actor)
    await actor.handlers.update(UpdateCustomer({"first_name": "Jane"}))
    assert actor.sessions.ended == []

    suspended = await actor.handlers.update(UpdateCustomer({"status": "SUSPENDED"}))

    assert isinstance(suspended, CustomerShown)
    assert actor.sessions.ended == [(CUSTOMER_ID, "customer.updated")]
    event = actor.store.events[-1]
    assert event.data["sessions_ended"] is True
    stored = actor.store.document(CUSTOMER_ID)
    assert stored is not None
    assert stored["internal"]["credentials"]["session_epoch"] == 1


async def test_a_command_of_an_ended_session_commits_nothing() -> None:
    actor = activate()
    await created(actor)

    refused = await actor.handlers.add_address(AddAddress("a1", US_ADDRESS, access=Access(7)))

    assert isinstance(refused, Refused)
    assert refused.code is Refusal.SESSION_ENDED
    assert [event.type for event in actor.store.events] == [CUSTOMER_CREATED]


class CountedChecks:
    """Counts bcrypt checks and hashes (the costly steps) while patched in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checks = 0
        self.hashes = 0
        check, make = passwords.verify_password, passwords.hash_password

        def counted_check(password: str, hashed: str) -> bool:
            self.checks += 1
            return check(password, hashed)

        def counted_hash(password: str, cost: int) -> str:
            self.hashes += 1
            return make(password, cost)

        monkeypatch.setattr(sign_in_facts, "verify_password", counted_check)
        monkeypatch.setattr(sign_in_facts, "hash_password", counted_hash)


def password_change(current: str, epoch: int = 0) -> PasswordChange:
    return PasswordChange(
        password=SECRETS.seal(CUSTOMER_ID, "password", current),
        new_password=SECRETS.seal(CUSTOMER_ID, "new_password", "a new passphrase"),
        access=Access(epoch),
    )


async def test_a_password_change_checks_the_password_only_for_a_live_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    actor = activate()
    await registered(actor)
    counted = CountedChecks(monkeypatch)

    ended = await actor.handlers.change_password(password_change("right one", epoch=3))
    assert isinstance(ended, Refused)
    assert ended.code is Refusal.SESSION_ENDED
    assert (counted.checks, counted.hashes) == (0, 0)

    wrong = await actor.handlers.change_password(password_change("wrong"))
    assert isinstance(wrong, Refused)
    assert wrong.code is Refusal.WRONG_PASSWORD
    assert (counted.checks, counted.hashes) == (1, 0)

    changed = await actor.handlers.change_password(password_change("right one"))
    assert changed == VersionShown(version=2, committed=True)
    assert (counted.checks, counted.hashes) == (2, 1)
    assert actor.sessions.ended == [(CUSTOMER_ID, PASSWORD_CHANGED)]
    assert [e.type for e in actor.store.events] == [CUSTOMER_REGISTERED, PASSWORD_CHANGED]


async def test_a_reset_hashes_the_new_password_only_for_a_token_the_customer_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    actor = activate()
    await registered(actor)
    await actor.handlers.request_password_reset(RequestPasswordReset(digest("reset"), {}))
    counted = CountedChecks(monkeypatch)
    new_password = SECRETS.seal(CUSTOMER_ID, "new_password", "a new passphrase")

    unknown = await actor.handlers.reset_password(
        PasswordReset(digest=digest("guess"), new_password=new_password)
    )
    assert unknown == Refused(Refusal.INVALID_TOKEN, "the token is unknown, used or expired")
    assert counted.hashes == 0

    reset = await actor.handlers.reset_password(
        PasswordReset(digest=digest("reset"), new_password=new_password)
    )
    assert isinstance(reset, CustomerShown)
    assert counted.hashes == 1
    assert actor.sessions.ended == [(CUSTOMER_ID, PASSWORD_CHANGED)]


class RecordedReminders:
    """The erasure reminders set: (customer id, due, now) each."""

    def __init__(self) -> None:
        self.set_for: list[tuple[str, datetime | None, datetime]] = []

    async def set(self, actor_id: str, due: datetime | None, now: datetime) -> None:
        self.set_for.append((actor_id, due, now))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def erasure_asked() -> tuple[Actor, Clock, RecordedReminders, datetime]:
    """A customer whose erasure an admin asked for at NOW: due after the grace."""
    store, clock, reminders = FakeStore(), Clock(NOW), RecordedReminders()
    claims = FakeClaims(MonotonicClock())
    sessions = FakeSessions()
    shell = CustomerShell(
        CUSTOMER_ID, store, claims, POLICY, clock, sessions=sessions, reminders=reminders
    )
    actor = Actor(store, claims, MonotonicClock(), CustomerHandlers(shell, FACTS), sessions)
    await created(actor)
    asked = await actor.handlers.request_erasure(ErasureAsk(access=None))
    assert isinstance(asked, ErasureShown)
    assert asked.committed
    due = NOW + POLICY.erasure_grace
    assert reminders.set_for == [(CUSTOMER_ID, due, NOW)]
    return actor, clock, reminders, due


async def test_a_reminder_the_store_kept_from_its_work_fails_so_that_dapr_fires_it_again() -> None:
    actor, clock, _, due = await erasure_asked()
    clock.now = due
    actor.store.failing_loads = True
    with pytest.raises(ReminderNotDone):
        await actor.handlers.reminder(ERASURE_REMINDER)

    actor.store.failing_loads = False
    stored = actor.store.document(CUSTOMER_ID)
    assert stored is not None
    actor.store.after_next_load = lambda: actor.store.put(CUSTOMER_ID, {**stored, "version": 9})
    with pytest.raises(ReminderNotDone):
        await actor.handlers.reminder(ERASURE_REMINDER)
    assert not [e for e in actor.store.events if e.type == CUSTOMER_ERASED]

    # Fired again, it erases.
    await actor.handlers.reminder(ERASURE_REMINDER)
    assert [e.type for e in actor.store.events][-1] == CUSTOMER_ERASED


async def test_a_reminder_that_fires_before_the_due_time_is_set_again_for_it() -> None:
    actor, clock, reminders, due = await erasure_asked()
    clock.now = due - timedelta(seconds=3)  # this clock is behind the one that set it

    await actor.handlers.reminder(ERASURE_REMINDER)

    assert [e.type for e in actor.store.events][-1] != CUSTOMER_ERASED
    assert reminders.set_for[-1] == (CUSTOMER_ID, due, clock.now)


async def test_a_reminder_of_another_name_or_of_nothing_pending_does_nothing() -> None:
    actor, clock, reminders, due = await erasure_asked()
    clock.now = due
    await actor.handlers.reminder("something-else")
    assert [e.type for e in actor.store.events][-1] != CUSTOMER_ERASED
    clock.now = due - timedelta(seconds=1)  # cancelled while it may be
    cancelled = await actor.handlers.cancel_erasure(CancelErasure())
    assert isinstance(cancelled, VersionShown)
    clock.now = due
    count = len(reminders.set_for)
    await actor.handlers.reminder(ERASURE_REMINDER)
    assert [e.type for e in actor.store.events][-1] != CUSTOMER_ERASED
    assert len(reminders.set_for) == count


async def test_an_admins_immediate_erasure_asked_again_is_answered_as_done() -> None:
    actor, *_ = await erasure_asked()
    first = await actor.handlers.request_erasure(ErasureAsk(immediate=True, access=None))
    assert isinstance(first, ErasureShown)
    assert (first.erased, first.committed) == (True, True)
    events = len(actor.store.events)

    again = await actor.handlers.request_erasure(ErasureAsk(immediate=True, access=None))

    assert again == ErasureShown(
        scheduled_for=first.scheduled_for, erased=True, version=first.version, committed=False
    )
    assert len(actor.store.events) == events
    # Anything else asked of an erased customer is still refused.
    later = await actor.handlers.request_erasure(ErasureAsk(access=None))
    assert isinstance(later, Refused)
    assert later.code is Refusal.ERASED
