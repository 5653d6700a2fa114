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
from domain.commands import (
    AddAddress,
    Command,
    CreateCustomer,
    DeleteCustomer,
    RemoveAddress,
    RestoreCustomer,
    SetDefaultAddress,
    UpdateAddress,
    UpdateCustomer,
    UpdatePreferences,
)
from domain.model import Customer
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
}


def decide(state: Customer | None, command: Command, now: datetime, policy: Policy) -> Decision:
    return _DECISIONS[type(command)](state, command, now, policy)
