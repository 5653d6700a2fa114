"""The ``UniqueKey`` actor's methods: one declaration each (the wire contract)."""

from __future__ import annotations

import dataclasses
import enum

from actors.protocol import ActorType


class KeyRefusal(enum.StrEnum):
    TAKEN = "taken"  # a live customer holds the value
    CONFLICT = "conflict"  # the claim changed concurrently
    UNAVAILABLE = "unavailable"  # the state store failed
    BAD_REQUEST = "bad_command"  # not a claim request


@dataclasses.dataclass(frozen=True, slots=True)
class KeyRequest:
    customer_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class Granted:
    # The customer held the key already (a retry of a change that committed).
    renewed: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Released:
    pass


UNIQUE_KEY = ActorType("UniqueKey", KeyRefusal, KeyRefusal.BAD_REQUEST)

CLAIM = UNIQUE_KEY.method("claim", KeyRequest, Granted)
RELEASE = UNIQUE_KEY.method("release", KeyRequest, Released)
