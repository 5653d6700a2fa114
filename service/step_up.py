"""Sensitive changes of a signed-in customer: each needs the password again.

A token alone no longer changes the password, the email or two-factor
authentication: the password travels sealed to the customer's actor, which
checks it only for a session that may still act. Wrong passwords (and wrong
codes when turning 2FA off) are counted per account: ``lockout_threshold`` of
them lock these changes for the lockout window (423). A new email changes
nothing until the token sent to it comes back; every one of these changes
ends every session of the customer (domain/sessions.py), and its event tells
the old address (``previous_email``, or the snapshot's email for a password).
"""

from __future__ import annotations

import dataclasses

from actors.customer_protocol import (
    CHANGE_PASSWORD,
    CONFIRM_EMAIL_CHANGE,
    CONFIRM_TOTP,
    DISABLE_TOTP,
    REQUEST_EMAIL_CHANGE,
    REQUEST_ERASURE,
    START_TOTP,
    CustomerShown,
    EmailChange,
    ErasureAsk,
    ErasureShown,
    FactorsAndPassword,
    PasswordChange,
    TotpCode,
    TotpEnrollment,
)
from actors.protocol import ActorMethod, Q, R, Refused
from actors.sign_in import totp_context
from domain import commands
from domain.errors import Refusal
from domain.sessions import Access
from domain.throttles import Delivery, Guarded
from security import one_time, totp
from service.actor_replies import CustomerActors, refusal_problem
from service.problems import Problem
from service.sign_in import SignInSecrets, recovery_digest
from service.throttling import Throttles, locked_out

_INVALID_TOKEN = Problem(400, "invalid-token", "The token is unknown, used or expired")
# Refusals that are a wrong secret, counted towards the account's step-up lock.
_WRONG_SECRET = frozenset({Refusal.WRONG_PASSWORD, Refusal.INVALID_SECOND_FACTOR})


@dataclasses.dataclass(frozen=True, slots=True)
class Enrollment:
    """Shown once: the secret never leaves the service again."""

    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class StepUp:
    customers: CustomerActors
    secrets: SignInSecrets
    throttles: Throttles
    totp_issuer: str

    async def change_password(
        self, customer_id: str, current: str, new: str, access: Access | None
    ) -> None:
        request = PasswordChange(
            password=self.secrets.seal(customer_id, "password", current),
            new_password=self.secrets.seal(customer_id, "new_password", new),
            access=access,
        )
        await self._stepped_up(customer_id, CHANGE_PASSWORD, request)

    async def request_email_change(
        self, customer_id: str, new_email: str, password: str, access: Access | None
    ) -> None:
        """A token to the new address (sealed in ``customer.email_change_requested``),
        at most ``deliveries_per_hour`` an hour; beyond, nothing happens and the
        answer is the same."""
        if not await self.throttles.may_deliver(Delivery.EMAIL_VERIFICATION, customer_id):
            return
        token = one_time.new_token(customer_id)
        request = EmailChange(
            new_email=new_email,
            digest=one_time.digest(token),
            delivery=self.secrets.delivery("email_change", customer_id, token),
            password=self.secrets.seal(customer_id, "password", password),
            access=access,
        )
        await self._stepped_up(customer_id, REQUEST_EMAIL_CHANGE, request)

    async def confirm_email_change(self, token: str) -> CustomerShown:
        customer_id = one_time.customer_of(token)
        if customer_id is None:
            raise _INVALID_TOKEN
        command = commands.ConfirmEmailChange(one_time.digest(token))
        return await self.customers.ask(customer_id, CONFIRM_EMAIL_CHANGE, command)

    async def enable_two_factor(
        self, customer_id: str, password: str, access: Access | None
    ) -> Enrollment:
        """Start enrollment: a new secret and recovery codes, shown this once.
        Nothing is enforced until a code from the app confirms it."""
        secret = totp.new_secret()
        sealed = self.secrets.totp_keys.seal(secret.encode(), totp_context(customer_id))
        codes = one_time.new_recovery_codes()
        request = TotpEnrollment(
            key_id=sealed.key_id,
            sealed_secret=sealed.ciphertext,
            recovery_digests=tuple(recovery_digest(code) for code in codes),
            password=self.secrets.seal(customer_id, "password", password),
            access=access,
        )
        shown = await self._stepped_up(customer_id, START_TOTP, request)
        uri = totp.provisioning_uri(secret, shown.customer["email"], self.totp_issuer)
        return Enrollment(secret, uri, codes)

    async def confirm_two_factor(self, customer_id: str, code: str, access: Access | None) -> int:
        """The version at which 2FA is on."""
        attempt = TotpCode(code=self.secrets.seal(customer_id, "code", code), access=access)
        return (await self.customers.ask(customer_id, CONFIRM_TOTP, attempt)).version

    async def disable_two_factor(
        self,
        customer_id: str,
        password: str,
        factor: tuple[str | None, str | None],
        access: Access | None,
    ) -> int:
        """The version at which 2FA is off; ``factor``: a code or a recovery code."""
        code, recovery_code = factor
        request = FactorsAndPassword(
            code=None if recovery_code else self.secrets.seal(customer_id, "code", code),
            recovery_digest=recovery_digest(recovery_code) if recovery_code else None,
            password=self.secrets.seal(customer_id, "password", password),
            access=access,
        )
        return (await self._stepped_up(customer_id, DISABLE_TOTP, request)).version

    async def request_erasure(
        self, customer_id: str, password: str | None, immediate: bool, access: Access | None
    ) -> ErasureShown:
        """The customer (its session: ``access``) with its password, or an admin."""
        if access is None:
            request = ErasureAsk(immediate=immediate)
            return await self.customers.ask(customer_id, REQUEST_ERASURE, request)
        sealed = self.secrets.seal(customer_id, "password", password or "")
        request = ErasureAsk(immediate=immediate, password=sealed, access=access)
        return await self._stepped_up(customer_id, REQUEST_ERASURE, request)

    async def _stepped_up(self, customer_id: str, method: ActorMethod[Q, R], request: Q) -> R:
        """The change's reply; a wrong password or code is counted, and the one
        that reaches the threshold locks step-up changes of the account (423)."""
        await self.throttles.refuse_if_locked(Guarded.STEP_UP, customer_id)
        reply = await self.customers.call(customer_id, method, request)
        if not isinstance(reply, Refused):
            await self.throttles.succeeded(Guarded.STEP_UP, customer_id)
            return reply
        if reply.code in _WRONG_SECRET:
            lock = await self.throttles.failed(Guarded.STEP_UP, customer_id)
            if lock is not None:
                raise locked_out(lock.seconds)
        raise refusal_problem(reply)
