"""Commands: what a caller asks the customer aggregate to do."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from domain.model import CustomerStatus, CustomerType, Gender


@dataclasses.dataclass(frozen=True, slots=True)
class CreateCustomer:
    """Create the customer ``customer_id``; its fields are already validated."""

    customer_id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    status: CustomerStatus = CustomerStatus.ACTIVE
    registration_source: str | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    customer_group_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """The JSON an actor method receives (actor methods take plain JSON)."""
        return {
            "customer_id": self.customer_id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "date_of_birth": self.date_of_birth.isoformat() if self.date_of_birth else None,
            "gender": self.gender.value if self.gender else None,
            "customer_type": self.customer_type.value,
            "status": self.status.value,
            "registration_source": self.registration_source,
            "metadata": self.metadata,
            "customer_group_id": self.customer_group_id,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CreateCustomer:
        dob = payload.get("date_of_birth")
        gender = payload.get("gender")
        return cls(
            customer_id=payload["customer_id"],
            email=payload["email"],
            first_name=payload.get("first_name"),
            last_name=payload.get("last_name"),
            phone=payload.get("phone"),
            date_of_birth=date.fromisoformat(dob) if dob else None,
            gender=Gender(gender) if gender else None,
            customer_type=CustomerType(payload.get("customer_type") or CustomerType.INDIVIDUAL),
            status=CustomerStatus(payload.get("status") or CustomerStatus.ACTIVE),
            registration_source=payload.get("registration_source"),
            metadata=dict(payload.get("metadata") or {}),
            customer_group_id=payload.get("customer_group_id"),
        )
