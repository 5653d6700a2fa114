"""The ``Customer`` actor: one per customer id; Dapr runs one call at a time.

Every mutating method has the same shape: decide on the in-memory state,
claim any unique value the change gives the customer (email, legacy id),
commit the new document and its event in one state transaction, and only
then replace the in-memory copy and release the values it gave up. A refusal
or a failed commit leaves memory, store and topic exactly as they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from dapr.actor import Actor, ActorInterface, actormethod
from dapr.actor.id import ActorId
from dapr.actor.runtime.context import ActorRuntimeContext
from structlog.contextvars import bind_contextvars

from actors.codec import ValidationError, decode
from actors.document_store import ConcurrencyConflict, DocumentStore, OutboxEvent, StoreError
from actors.key_claims import KeyClaims
from actors.replies import ok, refused
from actors.sign_in import SignInFacts
from domain.claims import FENCE
from domain.commands import (
    AddAddress,
    AttemptLogin,
    Command,
    CompleteLogin,
    ConfirmTotp,
    CreateCustomer,
    DeleteCustomer,
    DisableTotp,
    RecordOrder,
    RegisterCustomer,
    RemoveAddress,
    RequestEmailVerification,
    RequestPasswordReset,
    ResetPassword,
    RestoreCustomer,
    SetDefaultAddress,
    StartTotpEnrollment,
    UpdateAddress,
    UpdateCustomer,
    UpdatePreferences,
    VerifyEmail,
)
from domain.decide import decide
from domain.errors import AccountLocked, DomainError, InvalidFields
from domain.events import ADDRESS_CREATED, CUSTOMER_CREATED, CUSTOMER_REGISTERED
from domain.model import Customer as CustomerState
from domain.policy import Policy
from domain.unique_keys import EMAIL, kind_of, unique_keys
from observability.logging import get_logger
from observability.metrics import (
    ACTOR_ACTIVATIONS,
    ACTORS_ACTIVE,
    ADDRESSES_CREATED,
    COMMIT_DURATION,
    CUSTOMERS_CREATED,
    EVENTS_COMMITTED,
)

log = get_logger(__name__)

C = TypeVar("C", bound=Command)
# What a reply shows of the customer after a command: (state, command) -> fields.
View = Callable[[CustomerState, Any], dict[str, Any]]

# A unique value taken by another customer, by kind of key: (code, detail, field).
_TAKEN = {
    EMAIL: ("email_taken", "another customer already uses this email", "email"),
}
_LEGACY_TAKEN = ("legacy_id_taken", "another customer already has this legacy id", "legacy_id")


def _profile(state: CustomerState, _: object) -> dict[str, Any]:
    return {"customer": state.profile()}


def _address(state: CustomerState, command: AddAddress | UpdateAddress) -> dict[str, Any]:
    address = state.address(command.address_id)
    assert address is not None  # the decision succeeded, so the address exists
    return {"address": state.address_view(address), "version": state.version}


def _version(state: CustomerState, _: object) -> dict[str, Any]:
    return {"version": state.version}


def _preferences(state: CustomerState, _: object) -> dict[str, Any]:
    return {"preferences": state.current_preferences().to_document(), "version": state.version}


def _outcome(event_type: str) -> View:
    """What a sign-in step answers: which event it made (the route maps it)."""

    def view(state: CustomerState, _: object) -> dict[str, Any]:
        return {"outcome": event_type, "customer_id": state.id, "version": state.version}

    return view


def _addresses(state: CustomerState) -> dict[str, Any]:
    views = [state.address_view(address) for address in state.addresses]
    return {"addresses": views, "version": state.version}


def _claim_refusal(reason: str, key: str) -> dict[str, Any]:
    if reason == "conflict":
        return refused("conflict", "a unique value was claimed concurrently; retry")
    if reason != "taken":
        return refused("unavailable", "the unique key store is unavailable")
    code, detail, field = _TAKEN.get(kind_of(key), _LEGACY_TAKEN)
    return refused(code, detail, [{"field": field, "message": detail, "code": code}])


class CustomerActorInterface(ActorInterface):  # type: ignore[misc]
    """The methods the sidecar may call; their names are the wire contract."""

    @actormethod(name="create")  # type: ignore[untyped-decorator]
    async def create(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="update")  # type: ignore[untyped-decorator]
    async def update(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="delete")  # type: ignore[untyped-decorator]
    async def delete(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="restore")  # type: ignore[untyped-decorator]
    async def restore(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="add_address")  # type: ignore[untyped-decorator]
    async def add_address(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="update_address")  # type: ignore[untyped-decorator]
    async def update_address(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="remove_address")  # type: ignore[untyped-decorator]
    async def remove_address(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="set_default_address")  # type: ignore[untyped-decorator]
    async def set_default_address(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="update_preferences")  # type: ignore[untyped-decorator]
    async def update_preferences(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="register")  # type: ignore[untyped-decorator]
    async def register(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="login")  # type: ignore[untyped-decorator]
    async def login(self, attempt: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="complete_login")  # type: ignore[untyped-decorator]
    async def complete_login(self, attempt: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="start_totp")  # type: ignore[untyped-decorator]
    async def start_totp(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="confirm_totp")  # type: ignore[untyped-decorator]
    async def confirm_totp(self, attempt: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="disable_totp")  # type: ignore[untyped-decorator]
    async def disable_totp(self, attempt: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="request_email_verification")  # type: ignore[untyped-decorator]
    async def request_email_verification(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="verify_email")  # type: ignore[untyped-decorator]
    async def verify_email(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="request_password_reset")  # type: ignore[untyped-decorator]
    async def request_password_reset(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="reset_password")  # type: ignore[untyped-decorator]
    async def reset_password(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="record_order")  # type: ignore[untyped-decorator]
    async def record_order(self, command: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="get")  # type: ignore[untyped-decorator]
    async def get(self, query: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="get_addresses")  # type: ignore[untyped-decorator]
    async def get_addresses(self) -> dict[str, Any]:
        raise NotImplementedError

    @actormethod(name="get_preferences")  # type: ignore[untyped-decorator]
    async def get_preferences(self) -> dict[str, Any]:
        raise NotImplementedError


class Customer(Actor, CustomerActorInterface):  # type: ignore[misc]
    """Actor type ``Customer`` (the SDK names the type after the class)."""

    def __init__(
        self,
        ctx: ActorRuntimeContext,
        actor_id: ActorId,
        store: DocumentStore,
        keys: KeyClaims,
        policy: Policy,
        sign_in: SignInFacts,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(ctx, actor_id)
        self._store = store
        self._keys = keys
        self._policy = policy
        self._sign_in = sign_in
        self._clock = clock
        self._customer: CustomerState | None = None
        # The ETag of the stored document; None means "no document stored".
        self._etag: str | None = None
        # Memory mirrors the store (reads can be served from it) ...
        self._loaded = False
        # ... and _etag is current (a write can be guarded with it).
        self._etag_current = False

    @property
    def customer_id(self) -> str:
        return str(self.id.id)

    async def _on_activate(self) -> None:
        ACTOR_ACTIVATIONS.labels("Customer").inc()
        ACTORS_ACTIVE.labels("Customer").inc()

    async def _on_deactivate(self) -> None:
        ACTORS_ACTIVE.labels("Customer").dec()

    # -- commands ------------------------------------------------------------------------

    async def create(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._create(CreateCustomer, {**command, "customer_id": self.customer_id})

    async def register(self, command: dict[str, Any]) -> dict[str, Any]:
        profile = {**command.get("profile", {}), "customer_id": self.customer_id}
        return await self._create(RegisterCustomer, {**command, "profile": profile})

    async def _create(self, kind: type[C], payload: dict[str, Any]) -> dict[str, Any]:
        profile = payload.get("profile", payload)
        if self._loaded or profile.get("fingerprint") is not None:
            # An id derived from an Idempotency-Key may be a retry of a create
            # that committed: decide on what is stored (_execute loads it).
            return await self._execute(kind, payload, _profile)
        # A random server-generated id has nothing stored, so the read is
        # skipped: the commit is insert-only and refuses if that guess was wrong.
        self._customer, self._etag = None, None
        self._loaded = self._etag_current = True
        reply = await self._execute(kind, payload, _profile)
        if reply["ok"]:
            return reply
        # The guess may be what made it fail: nothing in memory is known now.
        self._forget()
        if reply["error"]["code"] != "conflict":
            return reply
        return await self._execute(kind, payload, _profile)

    async def update(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(UpdateCustomer, command, _profile)

    async def delete(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(DeleteCustomer, command, _version)

    async def restore(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(RestoreCustomer, command, _profile)

    async def add_address(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(AddAddress, command, _address)

    async def update_address(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(UpdateAddress, command, _address)

    async def remove_address(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(RemoveAddress, command, _version)

    async def set_default_address(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(SetDefaultAddress, command, _address)

    async def update_preferences(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(UpdatePreferences, command, _preferences)

    async def record_order(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(RecordOrder, command, _version)

    # -- sign-in: establish the facts from secrets, then decide as usual ----------------

    async def login(self, attempt: dict[str, Any]) -> dict[str, Any]:
        if (failure := await self._ready()) is not None:
            return failure
        password = self._sign_in.secrets.open(self.customer_id, "password", attempt.get("password"))
        password_ok = await self._sign_in.password_matches(self._customer, password or "")
        command = AttemptLogin(
            email=str(attempt.get("email", "")),
            password_ok=password_ok,
            challenge_digest=str(attempt.get("challenge_digest", "")),
        )
        return await self._run(command, None)

    async def complete_login(self, attempt: dict[str, Any]) -> dict[str, Any]:
        if (failure := await self._ready()) is not None:
            return failure
        command = CompleteLogin(
            challenge_digest=str(attempt.get("challenge_digest", "")),
            totp_step=self._totp_step(attempt.get("code")),
            recovery_digest=attempt.get("recovery_digest"),
        )
        return await self._run(command, None)

    async def start_totp(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(StartTotpEnrollment, command, _profile)

    async def confirm_totp(self, attempt: dict[str, Any]) -> dict[str, Any]:
        if (failure := await self._ready()) is not None:
            return failure
        return await self._run(ConfirmTotp(self._totp_step(attempt.get("code"))), _profile)

    async def disable_totp(self, attempt: dict[str, Any]) -> dict[str, Any]:
        if (failure := await self._ready()) is not None:
            return failure
        command = DisableTotp(
            totp_step=self._totp_step(attempt.get("code")),
            recovery_digest=attempt.get("recovery_digest"),
        )
        return await self._run(command, None)

    async def request_email_verification(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(RequestEmailVerification, command, _version)

    async def verify_email(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(VerifyEmail, command, _profile)

    async def request_password_reset(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(RequestPasswordReset, command, _version)

    async def reset_password(self, command: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(ResetPassword, command, _version)

    def _totp_step(self, sealed_code: object) -> int | None:
        code = self._sign_in.secrets.open(self.customer_id, "code", sealed_code)
        if self._customer is None or code is None:
            return None
        return self._sign_in.totp_step(self._customer, code, self._clock())

    async def _ready(self) -> dict[str, Any] | None:
        """Load for a write; a refusal if the store cannot be read."""
        try:
            if not (self._loaded and self._etag_current):
                await self._load()
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        return None

    # -- reads ---------------------------------------------------------------------------

    async def get(self, query: dict[str, Any] | None) -> dict[str, Any]:
        include_deleted = bool((query or {}).get("include_deleted"))
        return await self._read(lambda state: _profile(state, None), include_deleted)

    async def get_addresses(self) -> dict[str, Any]:
        return await self._read(_addresses)

    async def get_preferences(self) -> dict[str, Any]:
        return await self._read(lambda state: _preferences(state, None))

    async def _read(
        self, view: Callable[[CustomerState], dict[str, Any]], include_deleted: bool = False
    ) -> dict[str, Any]:
        bind_contextvars(customer_id=self.customer_id)
        try:
            if not self._loaded:
                await self._load()
        except StoreError as exc:
            log.warning("loading the customer failed", error=str(exc))
            return refused("unavailable", "the state store is unavailable")
        if self._customer is None:
            return refused("not_found", f"customer {self.customer_id} does not exist")
        if self._customer.deleted and not include_deleted:
            return refused("deleted", f"customer {self.customer_id} is deleted")
        return ok(**view(self._customer))

    # -- the shell around decide ---------------------------------------------------------

    async def _load(self) -> None:
        loaded = await self._store.load(self.customer_id)
        self._customer = CustomerState.from_document(loaded.document) if loaded.document else None
        self._etag = loaded.etag
        self._loaded = self._etag_current = True

    def _forget(self) -> None:
        self._loaded = self._etag_current = False

    async def _execute(self, kind: type[C], payload: dict[str, Any], view: View) -> dict[str, Any]:
        bind_contextvars(customer_id=self.customer_id)
        try:
            command = decode(kind, payload)
        except ValidationError as exc:
            # Routes send valid commands; this is a caller that skipped them.
            return refused(
                "bad_command", f"not a valid {kind.__name__}: {exc.error_count()} errors"
            )
        if (failure := await self._ready()) is not None:
            return failure
        return await self._run(command, view)

    async def _run(self, command: Command, view: View | None) -> dict[str, Any]:
        """Decide on what is loaded, claim, commit, then remember.

        ``view`` says what the reply shows; None for sign-in steps, whose reply
        is the outcome (the event type) of the decision.
        """
        try:
            before = self._customer
            after, event = decide(before, command, self._clock(), self._policy)
        except AccountLocked as exc:
            return refused(exc.code, exc.detail, retry_after=exc.retry_after_seconds)
        except InvalidFields as exc:
            errors = [{"field": e.field, "message": e.message, "code": e.code} for e in exc.errors]
            return refused(exc.code, exc.detail, errors)
        except DomainError as exc:
            return refused(exc.code, exc.detail)
        if view is None:
            view = _outcome(event.type if event else "none")
        if event is None:
            # Nothing to commit: a no-op, or the retry of a request already done.
            return ok(**view(after, command), committed=False)

        gained = sorted(unique_keys(after) - unique_keys(before))
        lost = sorted(unique_keys(before) - unique_keys(after))
        claimed_at = time.monotonic()
        refusal, taken = await self._claim(gained)
        if refusal is not None:
            return refusal
        if time.monotonic() - claimed_at > FENCE.total_seconds():
            # Too late to commit: a stale claim may already have passed on.
            await self._release(taken)
            return refused("unavailable", "claiming the customer's unique values took too long")

        outcome = "error"
        started = time.perf_counter()
        try:
            await self._store.commit(
                self.customer_id,
                after.to_document(),
                OutboxEvent(type=event.type, subject=event.customer_id, data=event.to_data()),
                etag=self._etag,
            )
            outcome = "committed"
        except ConcurrencyConflict as exc:
            outcome = "conflict"
            # Someone else wrote the document: forget our copy, reload next call.
            # The claims stay: what is stored may hold them (next claimant checks).
            self._forget()
            return refused("conflict", str(exc))
        except StoreError as exc:
            log.warning("commit failed", error=str(exc))
            # The commit may or may not have landed; reload before deciding again.
            self._forget()
            return refused("unavailable", "the state store is unavailable")
        finally:
            COMMIT_DURATION.labels(outcome).observe(time.perf_counter() - started)

        self._customer = after
        # The store assigns a fresh ETag on every write and the transaction API
        # does not return it: reads go on from memory, the next write reloads.
        self._etag_current = False
        EVENTS_COMMITTED.labels(event.type).inc()
        if event.type in (CUSTOMER_CREATED, CUSTOMER_REGISTERED):
            CUSTOMERS_CREATED.inc()
        elif event.type == ADDRESS_CREATED:
            ADDRESSES_CREATED.inc()
        await self._release(lost)
        return ok(**view(after, command), committed=True)

    async def _claim(self, keys: list[str]) -> tuple[dict[str, Any] | None, list[str]]:
        """Claim every key, or none of them and say why.

        On a refusal only the claims taken by this call are given back: a key
        this customer already held (a retry of a change that committed) stays.
        """
        taken: list[str] = []
        for key in keys:
            outcome = await self._keys.claim(key, self.customer_id)
            if outcome.refusal is None:
                if outcome.newly:
                    taken.append(key)
                continue
            await self._release(taken)
            return _claim_refusal(outcome.refusal, key), []
        return None, taken

    async def _release(self, keys: list[str]) -> None:
        for key in keys:
            await self._keys.release(key, self.customer_id)
