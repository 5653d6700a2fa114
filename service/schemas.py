"""The HTTP contract: request and response bodies, validated at the edge.

Field names and the create example come from the seed specification. Every
field error is collected and answered at once (see service/problems.py).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.commands import CreateCustomer
from domain.model import CustomerStatus, CustomerType, Gender

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_OLDEST_BIRTH_YEAR = 1900

Name = Annotated[str, Field(min_length=1, max_length=100)]

# The seed specification's create request, verbatim: the documented example.
SEED_CREATE_EXAMPLE: dict[str, Any] = {
    "email": "customer@example.com",
    "first_name": "John",
    "last_name": "Doe",
    "phone": "+1234567890",
    "date_of_birth": "1990-01-01T00:00:00Z",
    "gender": "MALE",
    "customer_type": "INDIVIDUAL",
    "registration_source": "WEBSITE",
}


class CustomerCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [SEED_CREATE_EXAMPLE]},
    )

    email: Annotated[str, Field(max_length=255)]
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    date_of_birth: date | datetime | None = None
    gender: Gender | None = None
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    status: CustomerStatus = CustomerStatus.ACTIVE
    registration_source: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    customer_group_id: Annotated[str, Field(min_length=1, max_length=50)] | None = None

    @field_validator("email")
    @classmethod
    def _email_syntax(cls, value: str) -> str:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValueError(str(exc)) from None
        # Stored as given; comparisons use the lower-cased form.
        return value

    @field_validator("phone")
    @classmethod
    def _phone_e164(cls, value: str | None) -> str | None:
        if value is not None and not _E164.match(value):
            raise ValueError("phone must be in E.164 form, e.g. +14155550123")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth_date(cls, value: date | datetime | None) -> date | None:
        if value is None:
            return None
        # The seed sends a timestamp ("1990-01-01T00:00:00Z"); a birth date is a date.
        day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
        if day > datetime.now(UTC).date():
            raise ValueError("date_of_birth cannot be in the future")
        if day.year < _OLDEST_BIRTH_YEAR:
            raise ValueError(f"date_of_birth cannot be before {_OLDEST_BIRTH_YEAR}")
        return day

    def to_command(self, customer_id: str) -> CreateCustomer:
        dob = self.date_of_birth
        return CreateCustomer(
            customer_id=customer_id,
            email=self.email,
            first_name=self.first_name,
            last_name=self.last_name,
            phone=self.phone,
            date_of_birth=dob.date() if isinstance(dob, datetime) else dob,
            gender=self.gender,
            customer_type=self.customer_type,
            status=self.status,
            registration_source=self.registration_source,
            metadata=self.metadata,
            customer_group_id=self.customer_group_id,
        )


class CustomerOut(BaseModel):
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


class CustomerReply(BaseModel):
    customer: CustomerOut


class DependencyHealth(BaseModel):
    status: str
    detail: str | None = None


class HealthReply(BaseModel):
    status: str
    service: str
    checks: dict[str, DependencyHealth]
