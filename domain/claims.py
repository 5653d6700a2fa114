"""Claims on unique values (see unique_keys): who holds a key, and since when.

A customer claims a key before the commit that gives it the value and
releases it after the commit that takes the value away. A crash between the
steps must not lock the value forever, so a claim is only a lock and the
customer documents are the truth: when someone else wants a key claimed more
than ``LEASE`` ago, the holder's document decides, and if it no longer holds
the value the claim passes on. A holder commits within ``FENCE`` of claiming
or not at all, so a claim is never taken over while its commit may still
land (clock skew between pods must stay below the gap).
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta
from typing import Any

from domain.model import timestamp

LEASE = timedelta(seconds=60)
FENCE = timedelta(seconds=30)


class Verdict(enum.Enum):
    FREE = "free"  # nobody holds it: claim it
    YOURS = "yours"  # the caller holds it: renew the claim
    TAKEN = "taken"  # claimed recently by someone else: refuse
    VERIFY = "verify"  # claimed long ago: ask the holder's document


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    customer_id: str
    since: datetime

    def to_document(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "since": timestamp(self.since)}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Claim:
        return cls(doc["customer_id"], datetime.fromisoformat(doc["since"]))


def judge(claim: Claim | None, customer_id: str, now: datetime) -> Verdict:
    if claim is None:
        return Verdict.FREE
    if claim.customer_id == customer_id:
        return Verdict.YOURS
    if now - claim.since < LEASE:
        return Verdict.TAKEN
    return Verdict.VERIFY
