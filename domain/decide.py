"""``decide(state, command, now, policy) -> (new_state, event | None)``: pure.

The one entry point the actor calls; each command has its own decision.
``event`` is None when there is nothing to commit (a no-op or a replay).
A command a customer gives with its own token is refused first if that
session ended or the account may not sign in (domain/sessions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.addresses import (
    decide_add_address,
    decide_remove_address,
    decide_set_default_address,
    decide_update_address,
)
from domain.authentication import (
    decide_attempt_login,
    decide_change_password,
    decide_complete_login,
    decide_confirm_email_change,
    decide_confirm_totp,
    decide_disable_totp,
    decide_register,
    decide_request_email_change,
    decide_request_email_verification,
    decide_request_password_reset,
    decide_reset_password,
    decide_start_totp,
    decide_verify_email,
)
from domain.commands import (
    AddAddress,
    AttemptLogin,
    CancelErasure,
    ChangePassword,
    Command,
    CompleteLogin,
    ConfirmEmailChange,
    ConfirmTotp,
    CreateCustomer,
    DeleteCustomer,
    DisableTotp,
    EraseIfDue,
    OnBehalf,
    RecordOrder,
    RegisterCustomer,
    RemoveAddress,
    RequestEmailChange,
    RequestEmailVerification,
    RequestErasure,
    RequestPasswordReset,
    ResetPassword,
    RestoreCustomer,
    SendNotice,
    SetDefaultAddress,
    StartTotpEnrollment,
    UpdateAddress,
    UpdateCustomer,
    UpdatePreferences,
    VerifyEmail,
)
from domain.erasure import decide_cancel_erasure, decide_erase_if_due, decide_request_erasure
from domain.model import Customer
from domain.notices import decide_send_notice
from domain.orders import decide_record_order
from domain.policy import Policy
from domain.preferences import decide_update_preferences
from domain.profile import decide_create, decide_delete, decide_restore, decide_update
from domain.sessions import check_access
from domain.transitions import Decision

_DECISIONS: dict[type[Any], Callable[[Customer | None, Any, datetime, Policy], Decision]] = {
    CreateCustomer: decide_create,
    UpdateCustomer: decide_update,
    DeleteCustomer: decide_delete,
    RestoreCustomer: decide_restore,
    AddAddress: decide_add_address,
    UpdateAddress: decide_update_address,
    RemoveAddress: decide_remove_address,
    SetDefaultAddress: decide_set_default_address,
    UpdatePreferences: decide_update_preferences,
    RegisterCustomer: decide_register,
    AttemptLogin: decide_attempt_login,
    CompleteLogin: decide_complete_login,
    StartTotpEnrollment: decide_start_totp,
    ConfirmTotp: decide_confirm_totp,
    DisableTotp: decide_disable_totp,
    RequestEmailVerification: decide_request_email_verification,
    VerifyEmail: decide_verify_email,
    RequestPasswordReset: decide_request_password_reset,
    ResetPassword: decide_reset_password,
    ChangePassword: decide_change_password,
    RequestEmailChange: decide_request_email_change,
    ConfirmEmailChange: decide_confirm_email_change,
    SendNotice: decide_send_notice,
    RecordOrder: decide_record_order,
    RequestErasure: decide_request_erasure,
    CancelErasure: decide_cancel_erasure,
    EraseIfDue: decide_erase_if_due,
}


def decide(state: Customer | None, command: Command, now: datetime, policy: Policy) -> Decision:
    if isinstance(command, OnBehalf) and command.access is not None:
        check_access(state, command.access)
    return _DECISIONS[type(command)](state, command, now, policy)
