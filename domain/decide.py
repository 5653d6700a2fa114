"""``decide(state, command, now, policy) -> (new_state, event | None)``: pure.

The one entry point the actor calls; each command has its own decision.
``event`` is None when there is nothing to commit (a no-op or a replay).
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
    decide_complete_login,
    decide_confirm_totp,
    decide_disable_totp,
    decide_register,
    decide_request_email_verification,
    decide_request_password_reset,
    decide_reset_password,
    decide_start_totp,
    decide_verify_email,
)
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
from domain.model import Customer
from domain.orders import decide_record_order
from domain.policy import Policy
from domain.preferences import decide_update_preferences
from domain.profile import decide_create, decide_delete, decide_restore, decide_update
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
    RecordOrder: decide_record_order,
}


def decide(state: Customer | None, command: Command, now: datetime, policy: Policy) -> Decision:
    return _DECISIONS[type(command)](state, command, now, policy)
