"""The ``Customer`` actor: one per customer id; Dapr runs one call at a time.

``CustomerHandlers`` has one method per declared method (actors/customer_protocol.py):
it hands the command to the shell (actors/customer_shell.py) and shows the
outcome as the method's reply. Sign-in steps first establish the facts only
secrets can tell (a password, a TOTP code) and decide on those. ``Customer``,
the Dapr actor class, is derived from the declarations and delegates here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from actors.customer_protocol import (
    CUSTOMER,
    AddressesShown,
    AddressShown,
    ChallengeAnswer,
    CustomerShown,
    Outcome,
    PasswordAttempt,
    PreferencesShown,
    ReadCustomer,
    Sealed,
    SecondFactor,
    TotpCode,
    VersionShown,
)
from actors.customer_shell import CustomerShell, Done, Known, Refusing
from actors.hosting import actor_class
from actors.protocol import Document, Refused
from actors.sign_in import SignInFacts
from domain import commands
from domain.model import Customer as CustomerState

R = TypeVar("R")


def _shown(done: Done | Refusing, view: Callable[[Done], R]) -> R | Refusing:
    return done if isinstance(done, Refused) else view(done)


def _profile(done: Done) -> CustomerShown:
    return CustomerShown(customer=done.state.profile(), committed=done.committed)


def _version(done: Done) -> VersionShown:
    return VersionShown(version=done.state.version, committed=done.committed)


def _preferences(done: Done) -> PreferencesShown:
    preferences = done.state.current_preferences().to_document()
    return PreferencesShown(
        preferences=preferences, version=done.state.version, committed=done.committed
    )


def _outcome(done: Done) -> Outcome:
    """Which event a sign-in step made (the caller maps it)."""
    event = done.event.type if done.event else "none"
    return Outcome(event, done.state.id, done.state.version, committed=done.committed)


def _address(address_id: str) -> Callable[[Done], AddressShown]:
    def view(done: Done) -> AddressShown:
        address = done.state.address(address_id)
        assert address is not None  # the decision succeeded, so the address exists
        shown = done.state.address_view(address)
        return AddressShown(address=shown, version=done.state.version, committed=done.committed)

    return view


class CustomerHandlers:
    def __init__(self, shell: CustomerShell, sign_in: SignInFacts) -> None:
        self._shell = shell
        self._sign_in = sign_in

    @property
    def customer_id(self) -> str:
        return self._shell.customer_id

    # -- commands --------------------------------------------------------------------

    async def create(self, command: commands.CreateCustomer) -> CustomerShown | Refusing:
        return _shown(await self._shell.create(command, command.fingerprint), _profile)

    async def register(self, command: commands.RegisterCustomer) -> CustomerShown | Refusing:
        done = await self._shell.create(command, command.profile.fingerprint)
        return _shown(done, _profile)

    async def update(self, command: commands.UpdateCustomer) -> CustomerShown | Refusing:
        return _shown(await self._shell.execute(command), _profile)

    async def delete(self, command: commands.DeleteCustomer) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def restore(self, command: commands.RestoreCustomer) -> CustomerShown | Refusing:
        return _shown(await self._shell.execute(command), _profile)

    async def add_address(self, command: commands.AddAddress) -> AddressShown | Refusing:
        return _shown(await self._shell.execute(command), _address(command.address_id))

    async def update_address(self, command: commands.UpdateAddress) -> AddressShown | Refusing:
        return _shown(await self._shell.execute(command), _address(command.address_id))

    async def remove_address(self, command: commands.RemoveAddress) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def set_default_address(
        self, command: commands.SetDefaultAddress
    ) -> AddressShown | Refusing:
        return _shown(await self._shell.execute(command), _address(command.address_id))

    async def update_preferences(
        self, command: commands.UpdatePreferences
    ) -> PreferencesShown | Refusing:
        return _shown(await self._shell.execute(command), _preferences)

    async def record_order(self, command: commands.RecordOrder) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def start_totp(self, command: commands.StartTotpEnrollment) -> CustomerShown | Refusing:
        return _shown(await self._shell.execute(command), _profile)

    async def request_email_verification(
        self, command: commands.RequestEmailVerification
    ) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def verify_email(self, command: commands.VerifyEmail) -> CustomerShown | Refusing:
        return _shown(await self._shell.execute(command), _profile)

    async def request_password_reset(
        self, command: commands.RequestPasswordReset
    ) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def reset_password(self, command: commands.ResetPassword) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    # -- sign-in: establish the facts from secrets, then decide as usual ------------

    async def login(self, attempt: PasswordAttempt) -> Outcome | Refusing:
        known = await self._shell.for_write()
        if isinstance(known, Refused):
            return known
        password = self._sign_in.secrets.open(self.customer_id, "password", attempt.password)
        password_ok = await self._sign_in.password_matches(known.customer, password or "")
        command = commands.AttemptLogin(attempt.email, password_ok, attempt.challenge_digest)
        return _shown(await self._shell.run(known, command), _outcome)

    async def complete_login(self, attempt: ChallengeAnswer) -> Outcome | Refusing:
        known = await self._shell.for_write()
        if isinstance(known, Refused):
            return known
        step = self._totp_step(known, attempt.code)
        command = commands.CompleteLogin(attempt.challenge_digest, step, attempt.recovery_digest)
        return _shown(await self._shell.run(known, command), _outcome)

    async def confirm_totp(self, attempt: TotpCode) -> CustomerShown | Refusing:
        known = await self._shell.for_write()
        if isinstance(known, Refused):
            return known
        command = commands.ConfirmTotp(self._totp_step(known, attempt.code))
        return _shown(await self._shell.run(known, command), _profile)

    async def disable_totp(self, attempt: SecondFactor) -> Outcome | Refusing:
        known = await self._shell.for_write()
        if isinstance(known, Refused):
            return known
        command = commands.DisableTotp(
            self._totp_step(known, attempt.code), attempt.recovery_digest
        )
        return _shown(await self._shell.run(known, command), _outcome)

    def _totp_step(self, known: Known, sealed_code: Sealed | None) -> int | None:
        code = self._sign_in.secrets.open(self.customer_id, "code", sealed_code)
        if known.customer is None or code is None:
            return None
        return self._sign_in.totp_step(known.customer, code, self._shell.now())

    # -- reads -----------------------------------------------------------------------

    async def get(self, query: ReadCustomer) -> CustomerShown | Refusing:
        customer = await self._shell.read(query.include_deleted)
        if isinstance(customer, Refused):
            return customer
        return CustomerShown(customer=customer.profile())

    async def get_addresses(self) -> AddressesShown | Refusing:
        customer = await self._shell.read()
        if isinstance(customer, Refused):
            return customer
        return AddressesShown(addresses=_addresses(customer), version=customer.version)

    async def get_preferences(self) -> PreferencesShown | Refusing:
        customer = await self._shell.read()
        if isinstance(customer, Refused):
            return customer
        preferences = customer.current_preferences().to_document()
        return PreferencesShown(preferences=preferences, version=customer.version)


def _addresses(customer: CustomerState) -> tuple[Document, ...]:
    return tuple(customer.address_view(address) for address in customer.addresses)


Customer = actor_class(CUSTOMER, CustomerHandlers)
