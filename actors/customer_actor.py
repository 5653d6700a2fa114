"""The ``Customer`` actor: one per customer id; Dapr runs one call at a time.

``CustomerHandlers`` has one method per declared method (actors/customer_protocol.py):
it hands the command to the shell (actors/customer_shell.py) and shows the
outcome as the method's reply. Sign-in steps first establish the facts only
secrets can tell (a password, a TOTP code) and decide on those; cheap checks
(an ended session, an unknown token) come before a password is hashed or
checked. ``Customer``, the Dapr actor class, is derived from the declarations
and delegates here.
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
    EmailChange,
    ErasureAsk,
    ErasureShown,
    FactorsAndPassword,
    Outcome,
    PasswordAttempt,
    PasswordChange,
    PasswordReset,
    PreferencesShown,
    Read,
    ReadCustomer,
    Sealed,
    SteppedUp,
    TotpCode,
    TotpEnrollment,
    VersionShown,
    WishlistShown,
)
from actors.customer_reads import show_addresses, show_customer, show_preferences
from actors.customer_shell import CustomerShell, Done, Known, Refusing
from actors.hosting import actor_class
from actors.protocol import Refused
from actors.reminders import ERASURE_REMINDER
from actors.sign_in import SignInFacts
from actors.wishlist_shell import WishlistShell
from domain import commands
from domain.authentication import INVALID_TOKEN, redeemable
from domain.erasure import erasure_due
from domain.errors import Refusal
from domain.model import timestamp
from domain.wishlists import WishlistDecision

R = TypeVar("R")


def _shown(done: Done | Refusing, view: Callable[[Done], R]) -> R | Refusing:
    return done if isinstance(done, Refused) else view(done)


def _profile(done: Done) -> CustomerShown:
    return CustomerShown(customer=done.state.view(), committed=done.committed)


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
    epoch = done.state.credentials.session_epoch
    return Outcome(event, done.state.id, done.state.version, done.committed, epoch)


def _address(address_id: str) -> Callable[[Done], AddressShown]:
    def view(done: Done) -> AddressShown:
        address = done.state.address(address_id)
        assert address is not None  # the decision succeeded, so the address exists
        shown = done.state.address_view(address)
        return AddressShown(address=shown, version=done.state.version, committed=done.committed)

    return view


def _wishlist(done: WishlistDecision | Refusing) -> WishlistShown | Refusing:
    if isinstance(done, Refused):
        return done
    wishlist = done.after.get(done.wishlist_id)
    # A deleted wishlist is only in its event; any other is at its event's version.
    if done.event is not None:
        version = done.event.version
    else:
        version = wishlist.version if wishlist is not None else 0
    return WishlistShown(
        wishlist=None if wishlist is None else wishlist.to_document(),
        version=version,
        item_id=done.item_id,
        created=done.created,
        committed=done.event is not None,
    )


class ReminderNotDone(Exception):
    """A reminder's work could not be done now: raised so that Dapr fires it again."""


class CustomerHandlers:
    def __init__(
        self, shell: CustomerShell, sign_in: SignInFacts, wishlists: WishlistShell | None = None
    ) -> None:
        self._shell = shell
        self._sign_in = sign_in
        self._wishlists = wishlists

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

    async def confirm_email_change(
        self, command: commands.ConfirmEmailChange
    ) -> CustomerShown | Refusing:
        return _shown(await self._shell.execute(command), _profile)

    async def send_notice(self, command: commands.SendNotice) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    # -- wishlists: a document of their own, changed in this actor's turn -------------

    async def _wishlist_change(self, command: commands.WishlistCommand) -> WishlistShown | Refusing:
        if self._wishlists is None:
            return Refused(Refusal.BAD_COMMAND, "this actor keeps no wishlists")
        return _wishlist(await self._wishlists.execute(command))

    async def create_wishlist(self, command: commands.CreateWishlist) -> WishlistShown | Refusing:
        return await self._wishlist_change(command)

    async def rename_wishlist(self, command: commands.RenameWishlist) -> WishlistShown | Refusing:
        return await self._wishlist_change(command)

    async def delete_wishlist(self, command: commands.DeleteWishlist) -> WishlistShown | Refusing:
        return await self._wishlist_change(command)

    async def add_wishlist_item(
        self, command: commands.AddWishlistItem
    ) -> WishlistShown | Refusing:
        return await self._wishlist_change(command)

    async def remove_wishlist_item(
        self, command: commands.RemoveWishlistItem
    ) -> WishlistShown | Refusing:
        return await self._wishlist_change(command)

    # -- data protection ---------------------------------------------------------------

    async def request_erasure(self, request: ErasureAsk) -> ErasureShown | Refusing:
        """An admin's request needs no password; an immediate one erases in this turn.
        An admin's immediate request for a customer already erased is answered as
        done (a retry of one whose answer was lost), not refused."""
        if request.access is None:
            known = await self._shell.stored()
            if isinstance(known, Refused):
                return known
            if request.immediate and known.customer is not None and known.customer.erased:
                return self._erasure(Done(known.customer, None))
            password_ok = False
        else:
            checked = await self._password_checked(request)
            if isinstance(checked, Refused):
                return checked
            known, password_ok = checked
        command = commands.RequestErasure(
            immediate=request.immediate, password_ok=password_ok, access=request.access
        )
        done = await self._shell.run(known, command)
        if isinstance(done, Refused) or not request.immediate:
            return _shown(done, self._erasure)
        return await self.erase_if_due(commands.EraseIfDue())

    async def cancel_erasure(self, command: commands.CancelErasure) -> VersionShown | Refusing:
        return _shown(await self._shell.execute(command), _version)

    async def erase_if_due(self, command: commands.EraseIfDue) -> ErasureShown | Refusing:
        """Erase now if that is due; else set the reminder again (the sweep's way
        to give a deadline without one, e.g. of a soft delete older than reminders)."""
        done = await self._shell.execute(command)
        if not isinstance(done, Refused) and not done.committed:
            await self._shell.remind(done.state)
        return _shown(done, self._erasure)

    async def reminder(self, name: str) -> None:
        """A reminder fired: erase if that is due now, whatever the reminder says.

        If the store or a concurrent write kept the erasure from being decided, the
        reminder fails (``ReminderNotDone``), so that Dapr fires it again; if the
        erasure is not due yet (this clock is behind the one that set it), the
        reminder is set again for the due time, as ``erase_if_due`` does."""
        if name != ERASURE_REMINDER:
            return
        done = await self._shell.execute(commands.EraseIfDue())
        if isinstance(done, Refused):
            if done.code in (Refusal.UNAVAILABLE, Refusal.CONFLICT):
                raise ReminderNotDone(f"the erasure was not decided: {done.code}")
            return  # nothing stored: nothing to erase
        if not done.committed:
            await self._shell.remind(done.state)

    def _erasure(self, done: Done) -> ErasureShown:
        state = done.state
        if state.erased_at is not None:
            scheduled: str | None = timestamp(state.erased_at)
        else:
            due = erasure_due(state, self._shell.policy)
            scheduled = timestamp(due) if due is not None else None
        return ErasureShown(
            scheduled_for=scheduled,
            erased=state.erased,
            version=state.version,
            committed=done.committed,
        )

    # -- sign-in: establish the facts from secrets, then decide as usual ------------

    async def login(self, attempt: PasswordAttempt) -> Outcome | Refusing:
        known = await self._shell.stored()
        if isinstance(known, Refused):
            return known
        password = self._sign_in.secrets.open(self.customer_id, "password", attempt.password)
        password_ok = await self._sign_in.password_matches(known.customer, password or "")
        command = commands.AttemptLogin(attempt.email, password_ok, attempt.challenge_digest)
        return _shown(await self._shell.run(known, command), _outcome)

    async def complete_login(self, attempt: ChallengeAnswer) -> Outcome | Refusing:
        known = await self._shell.stored()
        if isinstance(known, Refused):
            return known
        step = self._totp_step(known, attempt.code)
        command = commands.CompleteLogin(attempt.challenge_digest, step, attempt.recovery_digest)
        return _shown(await self._shell.run(known, command), _outcome)

    async def confirm_totp(self, attempt: TotpCode) -> CustomerShown | Refusing:
        known = await self._shell.stored()
        if isinstance(known, Refused):
            return known
        step = self._totp_step(known, attempt.code)
        command = commands.ConfirmTotp(step, access=attempt.access)
        return _shown(await self._shell.run(known, command), _profile)

    async def reset_password(self, request: PasswordReset) -> CustomerShown | Refusing:
        """The new password is hashed only for a token this customer holds."""
        known = await self._shell.stored()
        if isinstance(known, Refused):
            return known
        if not redeemable(known.customer, "password_reset", request.digest, self._shell.now()):
            return Refused(Refusal.INVALID_TOKEN, INVALID_TOKEN)
        password = self._sign_in.secrets.open(
            self.customer_id, "new_password", request.new_password
        )
        if password is None:
            return Refused(Refusal.BAD_COMMAND, "the new password cannot be read")
        command = commands.ResetPassword(request.digest, await self._sign_in.hashed(password))
        return _shown(await self._shell.run(known, command), _profile)

    # -- step-up: the password again, checked only for a session that may still act

    async def start_totp(self, request: TotpEnrollment) -> CustomerShown | Refusing:
        def command(known: Known, password_ok: bool) -> commands.Command:
            return commands.StartTotpEnrollment(
                request.key_id,
                request.sealed_secret,
                request.recovery_digests,
                password_ok=password_ok,
                access=request.access,
            )

        return _shown(await self._stepped_up(request, command), _profile)

    async def disable_totp(self, request: FactorsAndPassword) -> VersionShown | Refusing:
        def command(known: Known, password_ok: bool) -> commands.Command:
            step = self._totp_step(known, request.code)
            return commands.DisableTotp(
                step, request.recovery_digest, password_ok=password_ok, access=request.access
            )

        step_up = SteppedUp(password=request.password, access=request.access)
        return _shown(await self._stepped_up(step_up, command), _version)

    async def change_password(self, request: PasswordChange) -> VersionShown | Refusing:
        checked = await self._password_checked(request)
        if isinstance(checked, Refused):
            return checked
        known, password_ok = checked
        new = self._sign_in.secrets.open(self.customer_id, "new_password", request.new_password)
        # The new password is hashed only once the current one is known right.
        hashed = await self._sign_in.hashed(new) if password_ok and new else None
        command = commands.ChangePassword(
            password_ok=password_ok, password_hash=hashed, access=request.access
        )
        return _shown(await self._shell.run(known, command), _version)

    async def request_email_change(self, request: EmailChange) -> VersionShown | Refusing:
        def command(known: Known, password_ok: bool) -> commands.Command:
            return commands.RequestEmailChange(
                new_email=request.new_email,
                digest=request.digest,
                delivery=request.delivery,
                password_ok=password_ok,
                access=request.access,
            )

        return _shown(await self._stepped_up(request, command), _version)

    async def _stepped_up(
        self, request: SteppedUp, command: Callable[[Known, bool], commands.Command]
    ) -> Done | Refusing:
        """Decide ``command`` on what is stored, told whether the password is right."""
        checked = await self._password_checked(request)
        if isinstance(checked, Refused):
            return checked
        known, password_ok = checked
        return await self._shell.run(known, command(known, password_ok))

    async def _password_checked(self, request: SteppedUp) -> tuple[Known, bool] | Refusing:
        """What is stored, and whether the password sent with a change is right:
        checked (bcrypt) only for a session that may still act."""
        known = await self._shell.stored()
        if isinstance(known, Refused):
            return known
        if (refused := self._shell.allows(known, request.access)) is not None:
            return refused
        password = self._sign_in.secrets.open(self.customer_id, "password", request.password)
        if known.customer is None or password is None:
            return known, False
        return known, await self._sign_in.password_matches(known.customer, password)

    def _totp_step(self, known: Known, sealed_code: Sealed | None) -> int | None:
        code = self._sign_in.secrets.open(self.customer_id, "code", sealed_code)
        if known.customer is None or code is None:
            return None
        return self._sign_in.totp_step(known.customer, code, self._shell.now())

    # -- reads -----------------------------------------------------------------------

    async def get(self, query: ReadCustomer) -> CustomerShown | Refusing:
        stored = await self._shell.stored()
        if isinstance(stored, Refused):
            return stored
        return show_customer(self.customer_id, stored.customer, query)

    async def get_addresses(self, query: Read) -> AddressesShown | Refusing:
        stored = await self._shell.stored()
        if isinstance(stored, Refused):
            return stored
        return show_addresses(self.customer_id, stored.customer, query)

    async def get_preferences(self, query: Read) -> PreferencesShown | Refusing:
        stored = await self._shell.stored()
        if isinstance(stored, Refused):
            return stored
        return show_preferences(self.customer_id, stored.customer, query)


Customer = actor_class(CUSTOMER, CustomerHandlers)
