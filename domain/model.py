"""The customer document: the aggregate the actor owns and the state store keeps."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, date, datetime
from typing import Any


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the form every document and event uses."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class CustomerType(enum.StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    BUSINESS = "BUSINESS"


class CustomerStatus(enum.StrEnum):
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    SUSPENDED = "SUSPENDED"


class Gender(enum.StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    OTHER = "OTHER"
    PREFER_NOT_TO_SAY = "PREFER_NOT_TO_SAY"


@dataclasses.dataclass(frozen=True, slots=True)
class Customer:
    """One customer as of ``version``; every committed change adds one to it."""

    id: str
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    date_of_birth: date | None
    gender: Gender | None
    customer_type: CustomerType
    status: CustomerStatus
    email_verified: bool
    registration_source: str | None
    metadata: dict[str, Any]
    customer_group_id: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int

    def to_document(self) -> dict[str, Any]:
        """The JSON form kept in the state store and carried as event snapshot."""
        return {
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "gender": self.gender.value if self.gender else None,
            "customer_type": self.customer_type.value,
            "status": self.status.value,
            "email_verified": self.email_verified,
            "registration_source": self.registration_source,
            "metadata": self.metadata,
            "customer_group_id": self.customer_group_id,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "deleted_at": timestamp(self.deleted_at) if self.deleted_at else None,
            "version": self.version,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Customer:
        dob = doc.get("date_of_birth")
        gender = doc.get("gender")
        deleted_at = doc.get("deleted_at")
        return cls(
            id=doc["id"],
            email=doc["email"],
            first_name=doc.get("first_name"),
            last_name=doc.get("last_name"),
            phone=doc.get("phone"),
            date_of_birth=date.fromisoformat(dob) if dob else None,
            gender=Gender(gender) if gender else None,
            customer_type=CustomerType(doc["customer_type"]),
            status=CustomerStatus(doc["status"]),
            email_verified=bool(doc.get("email_verified", False)),
            registration_source=doc.get("registration_source"),
            metadata=dict(doc.get("metadata") or {}),
            customer_group_id=doc.get("customer_group_id"),
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            deleted_at=datetime.fromisoformat(deleted_at) if deleted_at else None,
            version=int(doc["version"]),
        )
