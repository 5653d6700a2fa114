"""Deciding preference changes: each flag that changes records when and from
where (its current consent), and the change itself is kept in the customer's
consent history (time, source, old and new value)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from domain.commands import UpdatePreferences
from domain.errors import FieldError, InvalidFields
from domain.events import PREFERENCES_UPDATED
from domain.model import (
    CONSENT_HISTORY_KEPT,
    PREFERENCE_DEFAULTS,
    Consent,
    ConsentChange,
    Customer,
)
from domain.policy import Policy
from domain.transitions import Decision, advance, changed, require_live


def decide_update_preferences(
    state: Customer | None, command: UpdatePreferences, now: datetime, policy: Policy
) -> Decision:
    customer = require_live(state, command.if_match)
    unknown = sorted(command.flags.keys() - PREFERENCE_DEFAULTS.keys())
    if unknown:
        raise InvalidFields([FieldError(name, "unknown preference", "unknown") for name in unknown])
    current = customer.current_preferences()
    flipped = {name: value for name, value in command.flags.items() if current.flags[name] != value}
    custom = command.custom_preferences
    if not flipped and (custom is None or custom == current.custom_preferences):
        return customer, None
    consent = Consent(updated_at=now, source=command.source)
    preferences = dataclasses.replace(
        current,
        flags={**current.flags, **flipped},
        consents={**current.consents, **dict.fromkeys(flipped, consent)},
        custom_preferences=current.custom_preferences if custom is None else dict(custom),
        updated_at=now,
    )
    recorded = tuple(
        ConsentChange(name, now, command.source, current.flags[name], value)
        for name, value in sorted(flipped.items())
    )
    history = (*customer.consent_history, *recorded)[-CONSENT_HISTORY_KEPT:]
    after = advance(customer, now, preferences=preferences, consent_history=history)
    return changed(PREFERENCES_UPDATED, customer, after, now)
