"""Sign-in as the API offers it: registration, login, the second factor,
email-verification and password-reset tokens.

Each flow computes what needs secrets the actor must not store in clear
(password hashes, token digests, sealed deliveries), seals what the actor
must read (a password, a code), calls the customer's actor and turns its
outcome into an answer; a login's answer opens a session (service/sessions.py).

Nothing in an answer tells whether an email belongs to a customer: the
throttles are counted under the email's hash before anything looks it up
(service/throttling.py), an unknown email's password is checked against a
decoy hash by a decoy actor (as a known one's by its actor: same hops, same
bcrypt), and what happens only for a customer (registering, sending a reset
token, telling the owner of an address that someone tried to register with it)
runs after the answer (service/background.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from actors.customer_protocol import (
    COMPLETE_LOGIN,
    LOGIN,
    REGISTER,
    REQUEST_EMAIL_VERIFICATION,
    REQUEST_PASSWORD_RESET,
    RESET_PASSWORD,
    SEND_NOTICE,
    VERIFY_EMAIL,
    ChallengeAnswer,
    CustomerShown,
    Outcome,
    PasswordAttempt,
    PasswordReset,
    SecondFactor,
)
from actors.invoker import SidecarUnavailable
from actors.key_claims import KeyClaims
from actors.protocol import Refused
from domain import commands
from domain.errors import Refusal
from domain.events import (
    CUSTOMER_LOCKED,
    LOGGED_IN,
    REGISTRATION_ATTEMPTED,
    SECOND_FACTOR_REQUESTED,
)
from domain.policy import Policy
from domain.sessions import Access
from domain.throttles import Action, Delivery, Guarded
from domain.timestamps import timestamp
from domain.unique_keys import email_key
from observability.logging import get_logger
from security import one_time
from security.command_secrets import CommandSecrets
from security.keyring import Keyring
from security.passwords import DecoyHash, hash_password
from service.actor_replies import CustomerActors, refusal_problem, sidecar_unavailable
from service.background import Background
from service.deliveries import Purpose, seal_delivery
from service.problems import Problem
from service.sessions import Client, SessionFlows, Tokens
from service.throttling import Throttles, locked_out

log = get_logger(__name__)

_INVALID_CREDENTIALS = Problem(
    401, "invalid-credentials", "Email or password is wrong", "email or password is wrong"
)
_INVALID_CHALLENGE = Problem(401, "invalid-challenge", "The login challenge is not valid")
_INVALID_TOKEN = Problem(400, "invalid-token", "The token is unknown, used or expired")
_WRONG_CODE = Problem(401, "invalid-second-factor", "The code is wrong or was already used")

# Unknown emails' passwords are checked by one of these actors (ids of their own,
# never a customer's), so that a login takes the same path whatever the email.
DECOY_ACTORS = 64
_DECOY_NAMESPACE = uuid.UUID("3d4f8a0e-6b1c-4f5e-9a7d-2c8b1e0f5a93")


def decoy_actor(key: str) -> str:
    """The decoy actor that checks passwords for the email of ``key``."""
    slot = int(hashlib.sha256(key.encode()).hexdigest(), 16) % DECOY_ACTORS
    return str(uuid.uuid5(_DECOY_NAMESPACE, f"decoy-{slot}"))


@dataclasses.dataclass(frozen=True, slots=True)
class SignInSecrets:
    totp_keys: Keyring
    notification_keys: Keyring
    # A hash checked when no customer's can be: a lock takes as long as a password check.
    decoy: DecoyHash
    # Seals the passwords and codes that sign-in commands carry to an actor.
    command_secrets: CommandSecrets

    def seal(self, actor_id: str, field: str, secret: str | None) -> dict[str, str] | None:
        """A secret travels to the actor sealed for it alone."""
        return None if secret is None else self.command_secrets.seal(actor_id, field, secret)

    def delivery(self, purpose: Purpose, customer_id: str, token: str) -> dict[str, Any]:
        return seal_delivery(self.notification_keys, purpose, customer_id, token)


@dataclasses.dataclass(frozen=True, slots=True)
class Challenged:
    challenge: str
    expires_in: int


@dataclasses.dataclass(frozen=True, slots=True)
class SignIn:
    customers: CustomerActors
    keys: KeyClaims
    secrets: SignInSecrets
    policy: Policy
    bcrypt_cost: int
    throttles: Throttles
    sessions: SessionFlows
    background: Background

    async def register(
        self, profile: commands.CreateCustomer, password: str, client: Client
    ) -> None:
        """Sign up, answered the same whether the email is free or taken: the
        registration runs after the answer, and the owner of a taken email is
        told someone tried (``customer.registration_attempted``)."""
        await self.throttles.attempt(Action.REGISTER, client.address, email_key(profile.email))
        password_hash = await self._hash(password)
        self.background.run(self._register(profile, password_hash), "registration")

    async def login(self, email: str, password: str, client: Client) -> Tokens | Challenged:
        """A password login; with 2FA on, the answer is a challenge for the second step."""
        key = email_key(email)
        await self.throttles.attempt(Action.LOGIN, client.address, key)
        await self._refuse_if_locked(key, password)
        holder = await self._holder(email)
        actor = holder or decoy_actor(key)
        challenge = one_time.new_token(actor)
        attempt = PasswordAttempt(
            email=email,
            password=self.secrets.seal(actor, "password", password),
            challenge_digest=one_time.digest(challenge),
        )
        outcome = await self._attempt(actor, attempt, key, holder)
        if outcome.outcome == LOGGED_IN and outcome.session_epoch is not None:
            return await self.sessions.open(actor, outcome.session_epoch, client)
        if outcome.outcome == SECOND_FACTOR_REQUESTED:
            return Challenged(challenge, int(self.policy.challenge_ttl.total_seconds()))
        raise _INVALID_CREDENTIALS

    async def complete_login(
        self, challenge: str, code: str | None, recovery_code: str | None, client: Client
    ) -> Tokens:
        customer_id = one_time.customer_of(challenge)
        if customer_id is None:
            raise _INVALID_CHALLENGE
        await self.throttles.attempt(Action.SECOND_FACTOR, client.address, customer_id)
        factor = self._factor(customer_id, code, recovery_code)
        answer = ChallengeAnswer(
            challenge_digest=one_time.digest(challenge),
            code=factor.code,
            recovery_digest=factor.recovery_digest,
        )
        outcome = await self.customers.ask(customer_id, COMPLETE_LOGIN, answer)
        if outcome.outcome == LOGGED_IN and outcome.session_epoch is not None:
            return await self.sessions.open(customer_id, outcome.session_epoch, client)
        raise _WRONG_CODE

    async def request_email_verification(self, customer_id: str, access: Access | None) -> None:
        """Send a new verification token (it voids the previous one), at most
        ``deliveries_per_hour`` an hour; beyond, nothing is sent and the answer
        is the same."""
        if not await self.throttles.may_deliver(Delivery.EMAIL_VERIFICATION, customer_id):
            return
        token = one_time.new_token(customer_id)
        command = commands.RequestEmailVerification(
            digest=one_time.digest(token),
            delivery=self.secrets.delivery("email_verification", customer_id, token),
            access=access,
        )
        await self.customers.ask(customer_id, REQUEST_EMAIL_VERIFICATION, command)

    async def confirm_email(self, token: str) -> CustomerShown:
        customer_id = one_time.customer_of(token)
        if customer_id is None:
            raise _INVALID_TOKEN
        command = commands.VerifyEmail(digest=one_time.digest(token))
        return await self.customers.ask(customer_id, VERIFY_EMAIL, command)

    async def request_password_reset(self, email: str, client: Client) -> None:
        """Whether the email belongs to a customer is not disclosed: the answer
        comes once the throttles are counted, before anything looks the email
        up; the look-up and the token (at most ``deliveries_per_hour`` an hour
        per email) follow it."""
        key = email_key(email)
        await self.throttles.attempt(Action.PASSWORD_RESET, client.address, key)
        if await self.throttles.may_deliver(Delivery.PASSWORD_RESET, key):
            self.background.run(self._send_reset(email), "password reset")

    async def confirm_password_reset(self, token: str, new_password: str, client: Client) -> None:
        """The actor hashes the new password only for a token it holds. Proving
        control of the mailbox also lifts a lockout of the email's sign-in."""
        customer_id = one_time.customer_of(token)
        if customer_id is None:
            raise _INVALID_TOKEN
        await self.throttles.attempt(Action.PASSWORD_RESET, client.address, customer_id)
        reset = PasswordReset(
            digest=one_time.digest(token),
            new_password=self.secrets.seal(customer_id, "new_password", new_password),
        )
        shown = await self.customers.ask(customer_id, RESET_PASSWORD, reset)
        await self.throttles.succeeded(Guarded.SIGN_IN, email_key(shown.customer["email"]))
        await self.throttles.succeeded(Guarded.STEP_UP, customer_id)

    # -- what the flows share ----------------------------------------------------------

    async def _refuse_if_locked(self, key: str, password: str) -> None:
        """A locked email's answer takes as long as a password check."""
        try:
            await self.throttles.refuse_if_locked(Guarded.SIGN_IN, key)
        except Problem:
            await asyncio.to_thread(self.secrets.decoy.check, password)
            raise

    async def _attempt(
        self, actor: str, attempt: PasswordAttempt, key: str, holder: str | None
    ) -> Outcome:
        """The actor's outcome of a password; a wrong one is counted (401, or 423
        from the failure that locks), alike for known and unknown emails."""
        reply = await self.customers.call(actor, LOGIN, attempt)
        if not isinstance(reply, Refused):
            await self.throttles.succeeded(Guarded.SIGN_IN, key)
            return reply
        if reply.code is not Refusal.INVALID_CREDENTIALS:
            raise refusal_problem(reply)
        lock = await self.throttles.failed(Guarded.SIGN_IN, key)
        if lock is None:
            raise _INVALID_CREDENTIALS
        if lock.started and holder is not None:
            self.background.run(self._tell_locked(holder, lock.seconds), "lockout notice")
        raise locked_out(lock.seconds)

    async def _register(self, profile: commands.CreateCustomer, password_hash: str) -> None:
        customer_id = profile.customer_id
        token = one_time.new_token(customer_id)
        command = commands.RegisterCustomer(
            profile=profile,
            password_hash=password_hash,
            verification_digest=one_time.digest(token),
            delivery=self.secrets.delivery("email_verification", customer_id, token),
        )
        reply = await self.customers.call(customer_id, REGISTER, command)
        if isinstance(reply, Refused) and reply.code is Refusal.EMAIL_TAKEN:
            await self._tell_registration_attempted(profile.email)
        elif isinstance(reply, Refused):
            log.warning("registration refused", code=str(reply.code))

    async def _tell_registration_attempted(self, email: str) -> None:
        key = email_key(email)
        holder = await self.keys.holder(key)
        if holder is None or not await self.throttles.may_deliver(
            Delivery.REGISTRATION_ATTEMPT, key
        ):
            return
        await self.customers.call(holder, SEND_NOTICE, commands.SendNotice(REGISTRATION_ATTEMPTED))

    async def _tell_locked(self, customer_id: str, seconds: int) -> None:
        until = timestamp(datetime.now(UTC) + timedelta(seconds=seconds))
        notice = commands.SendNotice(CUSTOMER_LOCKED, {"locked_until": until})
        await self.customers.call(customer_id, SEND_NOTICE, notice)

    async def _send_reset(self, email: str) -> None:
        holder = await self.keys.holder(email_key(email))
        if holder is None:
            return
        token = one_time.new_token(holder)
        command = commands.RequestPasswordReset(
            digest=one_time.digest(token),
            delivery=self.secrets.delivery("password_reset", holder, token),
        )
        await self.customers.call(holder, REQUEST_PASSWORD_RESET, command)

    async def _holder(self, email: str) -> str | None:
        try:
            return await self.keys.holder(email_key(email))
        except SidecarUnavailable as exc:
            raise sidecar_unavailable() from exc

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, self.bcrypt_cost)

    def _factor(
        self, customer_id: str, code: str | None, recovery_code: str | None
    ) -> SecondFactor:
        if recovery_code is not None:
            return SecondFactor(recovery_digest=recovery_digest(recovery_code))
        return SecondFactor(code=self.secrets.seal(customer_id, "code", code))


def recovery_digest(code: str) -> str:
    return one_time.digest(one_time.normalize_recovery_code(code))
