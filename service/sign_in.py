"""Sign-in as the API offers it: registration, login, two-factor authentication,
email-verification and password-reset tokens.

Each flow computes what needs secrets the actor must not store in clear
(password hashes, token digests, sealed deliveries, a new TOTP secret), seals
what the actor must read (a password, a code), calls the customer's actor and
turns its outcome into an answer. Access tokens are minted here, after the
actor has accepted a login.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from typing import Any

from actors.codec import UnexpectedReply
from actors.customer_protocol import (
    COMPLETE_LOGIN,
    CONFIRM_TOTP,
    DISABLE_TOTP,
    LOGIN,
    REGISTER,
    REQUEST_EMAIL_VERIFICATION,
    REQUEST_PASSWORD_RESET,
    RESET_PASSWORD,
    START_TOTP,
    VERIFY_EMAIL,
    ChallengeAnswer,
    CustomerShown,
    PasswordAttempt,
    SecondFactor,
    TotpCode,
)
from actors.invoker import SidecarUnavailable
from actors.key_claims import KeyClaims
from actors.sign_in import totp_context
from domain import commands
from domain.events import CUSTOMER_LOCKED, LOGGED_IN, SECOND_FACTOR_REQUESTED, TOTP_DISABLED
from domain.policy import Policy
from domain.unique_keys import email_key
from observability.logging import get_logger
from security import one_time, totp
from security.access_tokens import CUSTOMER, TokenIssuer
from security.command_secrets import CommandSecrets
from security.keyring import Keyring
from security.passwords import DecoyHash, hash_password
from service.actor_replies import CustomerActors, sidecar_unavailable
from service.deliveries import Purpose, seal_delivery
from service.problems import Problem

log = get_logger(__name__)

_INVALID_CREDENTIALS = Problem(
    401, "invalid-credentials", "Email or password is wrong", "email or password is wrong"
)
_LOCKED = Problem(423, "locked", "Account temporarily locked", "too many failed attempts")
_INVALID_CHALLENGE = Problem(401, "invalid-challenge", "The login challenge is not valid")
_INVALID_TOKEN = Problem(400, "invalid-token", "The token is unknown, used or expired")


def _wrong_code(status: int) -> Problem:
    return Problem(status, "invalid-second-factor", "The code is wrong or was already used")


@dataclasses.dataclass(frozen=True, slots=True)
class SignInSecrets:
    issuer: TokenIssuer
    totp_keys: Keyring
    notification_keys: Keyring
    # A hash checked when no customer has the email: absence takes as long.
    decoy: DecoyHash
    # Seals the passwords and codes that sign-in commands carry to an actor.
    command_secrets: CommandSecrets


@dataclasses.dataclass(frozen=True, slots=True)
class SignedIn:
    access_token: str
    expires_in: int
    customer_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Challenged:
    challenge: str
    expires_in: int


@dataclasses.dataclass(frozen=True, slots=True)
class Enrollment:
    """Shown once: the secret never leaves the service again."""

    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class SignIn:
    customers: CustomerActors
    keys: KeyClaims
    secrets: SignInSecrets
    policy: Policy
    bcrypt_cost: int
    totp_issuer: str

    async def register(self, profile: commands.CreateCustomer, password: str) -> CustomerShown:
        """Sign up: the customer starts pending verification; an email token goes
        out, sealed in the ``customer.registered`` event for the notification service."""
        customer_id = profile.customer_id
        token = one_time.new_token(customer_id)
        command = commands.RegisterCustomer(
            profile=profile,
            password_hash=await self._hash(password),
            verification_digest=one_time.digest(token),
            delivery=self._delivery("email_verification", customer_id, token),
        )
        return await self.customers.ask(customer_id, REGISTER, command)

    async def login(self, email: str, password: str) -> SignedIn | Challenged:
        """A password login; with 2FA on, the answer is a challenge for the second step."""
        holder = await self._holder(email)
        if holder is None:
            await asyncio.to_thread(self.secrets.decoy.check, password)
            raise _INVALID_CREDENTIALS
        challenge = one_time.new_token(holder)
        attempt = PasswordAttempt(
            email=email,
            password=self.secrets.command_secrets.seal(holder, "password", password),
            challenge_digest=one_time.digest(challenge),
        )
        outcome = (await self.customers.ask(holder, LOGIN, attempt)).outcome
        if outcome == LOGGED_IN:
            return self._signed_in(holder)
        if outcome == SECOND_FACTOR_REQUESTED:
            return Challenged(challenge, int(self.policy.challenge_ttl.total_seconds()))
        raise _LOCKED if outcome == CUSTOMER_LOCKED else _INVALID_CREDENTIALS

    async def complete_login(
        self, challenge: str, code: str | None, recovery_code: str | None
    ) -> SignedIn:
        customer_id = one_time.customer_of(challenge)
        if customer_id is None:
            raise _INVALID_CHALLENGE
        factor = self._factor(customer_id, code, recovery_code)
        answer = ChallengeAnswer(
            challenge_digest=one_time.digest(challenge),
            code=factor.code,
            recovery_digest=factor.recovery_digest,
        )
        outcome = (await self.customers.ask(customer_id, COMPLETE_LOGIN, answer)).outcome
        if outcome == LOGGED_IN:
            return self._signed_in(customer_id)
        raise _LOCKED if outcome == CUSTOMER_LOCKED else _wrong_code(401)

    async def enable_two_factor(self, customer_id: str) -> Enrollment:
        """Start enrollment: a new secret and recovery codes, shown this once.
        Nothing is enforced until a code from the app confirms it."""
        secret = totp.new_secret()
        sealed = self.secrets.totp_keys.seal(secret.encode(), totp_context(customer_id))
        codes = one_time.new_recovery_codes()
        command = commands.StartTotpEnrollment(
            key_id=sealed.key_id,
            sealed_secret=sealed.ciphertext,
            recovery_digests=tuple(_recovery_digest(code) for code in codes),
        )
        shown = await self.customers.ask(customer_id, START_TOTP, command)
        uri = totp.provisioning_uri(secret, shown.customer["email"], self.totp_issuer)
        return Enrollment(secret, uri, codes)

    async def confirm_two_factor(self, customer_id: str, code: str) -> int:
        """The version at which 2FA is on."""
        attempt = TotpCode(code=self._seal_code(customer_id, code))
        return (await self.customers.ask(customer_id, CONFIRM_TOTP, attempt)).version

    async def disable_two_factor(
        self, customer_id: str, code: str | None, recovery_code: str | None
    ) -> int:
        """The version at which 2FA is off."""
        factor = self._factor(customer_id, code, recovery_code)
        reply = await self.customers.ask(customer_id, DISABLE_TOTP, factor)
        if reply.outcome == CUSTOMER_LOCKED:
            raise _LOCKED
        if reply.outcome != TOTP_DISABLED:
            raise _wrong_code(422)
        return reply.version

    async def request_email_verification(self, customer_id: str) -> None:
        """Send a new verification token (it voids the previous one)."""
        token = one_time.new_token(customer_id)
        command = commands.RequestEmailVerification(
            digest=one_time.digest(token),
            delivery=self._delivery("email_verification", customer_id, token),
        )
        await self.customers.ask(customer_id, REQUEST_EMAIL_VERIFICATION, command)

    async def confirm_email(self, token: str) -> CustomerShown:
        customer_id = one_time.customer_of(token)
        if customer_id is None:
            raise _INVALID_TOKEN
        command = commands.VerifyEmail(digest=one_time.digest(token))
        return await self.customers.ask(customer_id, VERIFY_EMAIL, command)

    async def request_password_reset(self, email: str) -> None:
        """Whether the email belongs to a customer is not disclosed, so nothing that
        happens only for a customer (the actor call, and its failure) may change
        the answer. The look-up itself is made for every email alike; when the
        claim store cannot be read at all, the answer is 503 whatever the email."""
        holder = await self._holder(email)
        if holder is None:
            return
        token = one_time.new_token(holder)
        command = commands.RequestPasswordReset(
            digest=one_time.digest(token),
            delivery=self._delivery("password_reset", holder, token),
        )
        try:
            await self.customers.client.call(holder, REQUEST_PASSWORD_RESET, command)
        except (SidecarUnavailable, UnexpectedReply) as exc:
            # Logged for operators (no address, no token); the caller may try again.
            log.warning("password reset could not be requested", error=str(exc))

    async def confirm_password_reset(self, token: str, new_password: str) -> None:
        customer_id = one_time.customer_of(token)
        if customer_id is None:
            raise _INVALID_TOKEN
        command = commands.ResetPassword(
            digest=one_time.digest(token), password_hash=await self._hash(new_password)
        )
        await self.customers.ask(customer_id, RESET_PASSWORD, command)

    # -- what the flows share ----------------------------------------------------------

    async def _holder(self, email: str) -> str | None:
        try:
            return await self.keys.holder(email_key(email))
        except SidecarUnavailable as exc:
            raise sidecar_unavailable() from exc

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, self.bcrypt_cost)

    def _delivery(self, purpose: Purpose, customer_id: str, token: str) -> dict[str, Any]:
        return seal_delivery(self.secrets.notification_keys, purpose, customer_id, token)

    def _signed_in(self, customer_id: str) -> SignedIn:
        issuer = self.secrets.issuer
        token = issuer.issue(customer_id, [CUSTOMER], datetime.now(UTC))
        return SignedIn(token, int(issuer.lifetime.total_seconds()), customer_id)

    def _factor(
        self, customer_id: str, code: str | None, recovery_code: str | None
    ) -> SecondFactor:
        if recovery_code is not None:
            return SecondFactor(recovery_digest=_recovery_digest(recovery_code))
        return SecondFactor(code=self._seal_code(customer_id, code))

    def _seal_code(self, customer_id: str, code: str | None) -> dict[str, str] | None:
        """A one-time code travels to the actor sealed for it alone."""
        if code is None:
            return None
        return self.secrets.command_secrets.seal(customer_id, "code", code)


def _recovery_digest(code: str) -> str:
    return one_time.digest(one_time.normalize_recovery_code(code))
