"""The customer aggregate: profile, addresses and preferences, one document.

The document kept in the state store is the public snapshot (what events carry
and the API shows) plus an ``internal`` part the outside never sees
(idempotency records). ``version`` grows by one with every committed change.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from domain.credentials import Credentials
from domain.timestamps import timestamp

__all__ = ["timestamp"]  # re-exported: the form every document and event uses


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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


class AddressType(enum.StrEnum):
    """What an address is for; ``BOTH`` serves shipping and billing."""

    SHIPPING = "SHIPPING"
    BILLING = "BILLING"
    BOTH = "BOTH"

    def serves(self, kind: AddressType) -> bool:
        return self is kind or self is AddressType.BOTH

    @property
    def kinds(self) -> tuple[AddressType, ...]:
        return tuple(kind for kind in DEFAULT_KINDS if self.serves(kind))


# Each of these has its own default address.
DEFAULT_KINDS = (AddressType.SHIPPING, AddressType.BILLING)

# Every preference flag with its value for a new customer. The seed opts
# customers into marketing by default; consent that was never asked for is not
# consent (GDPR art. 7, ePrivacy), so only service messages start switched on.
PREFERENCE_DEFAULTS: dict[str, bool] = {
    "email_marketing": False,
    "sms_marketing": False,
    "push_notifications": True,
    "newsletter": False,
    "data_sharing": False,
    "analytics_tracking": False,
    "cookie_consent": False,
    "order_updates": True,
    "promotional_emails": False,
}
INITIAL_CONSENT_SOURCE = "default"


@dataclasses.dataclass(frozen=True, slots=True)
class Address:
    id: str
    type: AddressType
    first_name: str | None
    last_name: str | None
    company: str | None
    address_line_1: str
    address_line_2: str | None
    city: str
    state_province: str | None
    postal_code: str | None
    country_code: str
    phone: str | None
    label: str | None
    is_verified: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "company": self.company,
            "address_line_1": self.address_line_1,
            "address_line_2": self.address_line_2,
            "city": self.city,
            "state_province": self.state_province,
            "postal_code": self.postal_code,
            "country_code": self.country_code,
            "phone": self.phone,
            "label": self.label,
            "is_verified": self.is_verified,
            "metadata": self.metadata,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Address:
        return cls(
            id=doc["id"],
            type=AddressType(doc["type"]),
            first_name=doc.get("first_name"),
            last_name=doc.get("last_name"),
            company=doc.get("company"),
            address_line_1=doc["address_line_1"],
            address_line_2=doc.get("address_line_2"),
            city=doc["city"],
            state_province=doc.get("state_province"),
            postal_code=doc.get("postal_code"),
            country_code=doc["country_code"],
            phone=doc.get("phone"),
            label=doc.get("label"),
            is_verified=bool(doc.get("is_verified", False)),
            metadata=dict(doc.get("metadata") or {}),
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Consent:
    """When a preference flag last changed, and who said so (as Shopify keeps it)."""

    updated_at: datetime
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class Preferences:
    flags: dict[str, bool]
    consents: dict[str, Consent]
    custom_preferences: dict[str, Any]
    updated_at: datetime

    @classmethod
    def initial(cls, now: datetime) -> Preferences:
        consent = Consent(updated_at=now, source=INITIAL_CONSENT_SOURCE)
        return cls(
            flags=dict(PREFERENCE_DEFAULTS),
            consents=dict.fromkeys(PREFERENCE_DEFAULTS, consent),
            custom_preferences={},
            updated_at=now,
        )

    def to_document(self) -> dict[str, Any]:
        return {
            **self.flags,
            "custom_preferences": self.custom_preferences,
            "consents": {
                name: {"updated_at": timestamp(c.updated_at), "source": c.source}
                for name, c in self.consents.items()
            },
            "updated_at": timestamp(self.updated_at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None, created_at: datetime) -> Preferences:
        if not doc:
            return cls.initial(created_at)
        consents = doc.get("consents") or {}
        return cls(
            flags={name: bool(doc.get(name, on)) for name, on in PREFERENCE_DEFAULTS.items()},
            consents={
                name: Consent(datetime.fromisoformat(c["updated_at"]), c["source"])
                for name, c in consents.items()
            },
            custom_preferences=dict(doc.get("custom_preferences") or {}),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """An ``Idempotency-Key`` already used to add an address, and what it made."""

    key: str
    fingerprint: str
    address_id: str
    at: datetime

    def to_document(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "fingerprint": self.fingerprint,
            "address_id": self.address_id,
            "at": timestamp(self.at),
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> IdempotencyRecord:
        at = datetime.fromisoformat(doc["at"])
        return cls(doc["key"], doc["fingerprint"], doc["address_id"], at)


RECENT_ORDER_IDS_KEPT = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class OrderStats:
    """What the order service's events taught us, for segments and support."""

    total_orders: int = 0
    total_spent: Decimal = Decimal("0")
    last_order_at: datetime | None = None
    # Orders already counted (newest last), so a redelivered event counts once.
    recorded_order_ids: tuple[str, ...] = ()

    def to_document(self) -> dict[str, Any]:
        return {
            "total_orders": self.total_orders,
            "total_spent": str(self.total_spent),
            "last_order_at": timestamp(self.last_order_at) if self.last_order_at else None,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None, recorded: list[str]) -> OrderStats:
        doc = doc or {}
        return cls(
            total_orders=int(doc.get("total_orders", 0)),
            total_spent=Decimal(str(doc.get("total_spent", "0"))),
            last_order_at=_parse_time(doc.get("last_order_at")),
            recorded_order_ids=tuple(recorded),
        )


# The profile: fields a client sets directly (create and update).
PROFILE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "date_of_birth",
    "gender",
    "customer_type",
    "status",
    "registration_source",
    "metadata",
    "customer_group_id",
    "legacy_id",
)


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
    legacy_id: str | None = None
    addresses: tuple[Address, ...] = ()
    default_shipping_address_id: str | None = None
    default_billing_address_id: str | None = None
    preferences: Preferences | None = None
    last_login_at: datetime | None = None
    # Internal: never in a snapshot, an event or a reply.
    create_fingerprint: str | None = None
    idempotency: tuple[IdempotencyRecord, ...] = ()
    credentials: Credentials = dataclasses.field(default_factory=Credentials)
    orders: OrderStats = dataclasses.field(default_factory=OrderStats)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    def address(self, address_id: str) -> Address | None:
        return next((a for a in self.addresses if a.id == address_id), None)

    def default_address_id(self, kind: AddressType) -> str | None:
        if kind is AddressType.SHIPPING:
            return self.default_shipping_address_id
        return self.default_billing_address_id

    def current_preferences(self) -> Preferences:
        return self.preferences or Preferences.initial(self.created_at)

    def profile(self) -> dict[str, Any]:
        """The customer resource of the API: everything but addresses and preferences."""
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
            "legacy_id": self.legacy_id,
            "default_shipping_address_id": self.default_shipping_address_id,
            "default_billing_address_id": self.default_billing_address_id,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "deleted_at": timestamp(self.deleted_at) if self.deleted_at else None,
            "last_login_at": timestamp(self.last_login_at) if self.last_login_at else None,
            "two_factor_enabled": self.two_factor_enabled,
            "version": self.version,
        }

    @property
    def two_factor_enabled(self) -> bool:
        totp = self.current_credentials().totp
        return totp is not None and totp.enabled

    def current_credentials(self) -> Credentials:
        return self.credentials

    def address_view(self, address: Address) -> dict[str, Any]:
        """An address as the API shows it: with the defaults it holds."""
        shipping = self.default_shipping_address_id == address.id
        billing = self.default_billing_address_id == address.id
        return {
            **address.to_document(),
            "customer_id": self.id,
            "is_default": shipping or billing,
            "is_default_shipping": shipping,
            "is_default_billing": billing,
        }

    def snapshot(self) -> dict[str, Any]:
        """The whole public customer: what every event carries."""
        return {
            **self.profile(),
            "addresses": [address.to_document() for address in self.addresses],
            "preferences": self.current_preferences().to_document(),
            "orders": self.orders.to_document(),
        }

    def to_document(self) -> dict[str, Any]:
        """The JSON kept in the state store."""
        return {
            **self.snapshot(),
            "internal": {
                "create_fingerprint": self.create_fingerprint,
                "idempotency": [record.to_document() for record in self.idempotency],
                "credentials": self.current_credentials().to_document(),
                "recorded_order_ids": list(self.orders.recorded_order_ids),
            },
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Customer:
        dob = doc.get("date_of_birth")
        gender = doc.get("gender")
        created_at = datetime.fromisoformat(doc["created_at"])
        internal = doc.get("internal") or {}
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
            created_at=created_at,
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            deleted_at=_parse_time(doc.get("deleted_at")),
            version=int(doc["version"]),
            legacy_id=doc.get("legacy_id"),
            addresses=tuple(Address.from_document(a) for a in doc.get("addresses") or ()),
            default_shipping_address_id=doc.get("default_shipping_address_id"),
            default_billing_address_id=doc.get("default_billing_address_id"),
            preferences=Preferences.from_document(doc.get("preferences"), created_at),
            last_login_at=_parse_time(doc.get("last_login_at")),
            create_fingerprint=internal.get("create_fingerprint"),
            credentials=Credentials.from_document(internal.get("credentials")),
            orders=OrderStats.from_document(
                doc.get("orders"), internal.get("recorded_order_ids") or []
            ),
            idempotency=tuple(
                IdempotencyRecord.from_document(r) for r in internal.get("idempotency") or ()
            ),
        )
