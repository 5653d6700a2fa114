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

from domain import fields
from domain.credentials import Credentials
from domain.fields import Internal, Part, Settable
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
    type: Settable[AddressType]
    first_name: Settable[str | None]
    last_name: Settable[str | None]
    company: Settable[str | None]
    address_line_1: Settable[str]
    address_line_2: Settable[str | None]
    city: Settable[str]
    state_province: Settable[str | None]
    postal_code: Settable[str | None]
    country_code: Settable[str]
    phone: Settable[str | None]
    label: Settable[str | None]
    is_verified: bool
    metadata: Settable[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

    def to_document(self) -> dict[str, Any]:
        return fields.dump(self, ADDRESS_DOCUMENT)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Address:
        return cls(**fields.load(cls, doc, ADDRESS_DOCUMENT))


# What an address document holds, and what of it a client sets.
ADDRESS_DOCUMENT = fields.flat_names(Address)
ADDRESS_FIELDS = frozenset(fields.names(Address, fields.Role.SETTABLE))


@dataclasses.dataclass(frozen=True, slots=True)
class Consent:
    """When a preference flag last changed, and who said so (as Shopify keeps it)."""

    updated_at: datetime
    source: str


@dataclasses.dataclass(frozen=True, slots=True)
class ConsentChange:
    """One change of a preference flag: when, who said so, and the value it replaced."""

    flag: str
    at: datetime
    source: str
    before: bool
    after: bool

    def to_document(self) -> dict[str, Any]:
        return {
            "flag": self.flag,
            "at": timestamp(self.at),
            "source": self.source,
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ConsentChange:
        at = datetime.fromisoformat(doc["at"])
        return cls(doc["flag"], at, doc["source"], bool(doc["before"]), bool(doc["after"]))


# A flag changes when its customer says so: a thousand changes are years of
# history, and a bound keeps the document's size bounded (the oldest go first).
CONSENT_HISTORY_KEPT = 1000


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


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureRequest:
    """An erasure asked for: due at ``due_at`` unless cancelled before."""

    due_at: datetime
    requested_at: datetime
    by: str  # "customer" or "admin"

    def to_document(self) -> dict[str, Any]:
        return {
            "due_at": timestamp(self.due_at),
            "requested_at": timestamp(self.requested_at),
            "by": self.by,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None) -> ErasureRequest | None:
        if not doc:
            return None
        return cls(
            datetime.fromisoformat(doc["due_at"]),
            datetime.fromisoformat(doc["requested_at"]),
            doc["by"],
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Customer:
    """One customer as of ``version``; every committed change adds one to it."""

    id: str
    email: Settable[str]
    first_name: Settable[str | None]
    last_name: Settable[str | None]
    phone: Settable[str | None]
    date_of_birth: Settable[date | None]
    gender: Settable[Gender | None]
    customer_type: Settable[CustomerType]
    status: Settable[CustomerStatus]
    email_verified: bool
    registration_source: Settable[str | None]
    metadata: Settable[dict[str, Any]]
    customer_group_id: Settable[str | None]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    version: int
    legacy_id: Settable[str | None] = None
    addresses: Part[tuple[Address, ...]] = ()
    default_shipping_address_id: str | None = None
    default_billing_address_id: str | None = None
    preferences: Part[Preferences | None] = None
    last_login_at: datetime | None = None
    create_fingerprint: Internal[str | None] = None
    idempotency: Internal[tuple[IdempotencyRecord, ...]] = ()
    credentials: Internal[Credentials] = dataclasses.field(default_factory=Credentials)
    orders: Part[OrderStats] = dataclasses.field(default_factory=OrderStats)
    # Notices sent (a registration attempt, a lockout): an event that changes
    # nothing else still commits one change, and this is what it changes.
    notices: Internal[int] = 0
    # Every change of a preference flag, oldest first: shown by the export only,
    # not carried by events (it would grow every preferences event).
    consent_history: Internal[tuple[ConsentChange, ...]] = ()
    # Data protection (domain/erasure.py): an erasure pending, and when the
    # customer was erased (then the document is a tombstone: see ``tombstone``).
    erasure: Internal[ErasureRequest | None] = None
    erased_at: Internal[datetime | None] = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @classmethod
    def tombstone(
        cls, customer_id: str, version: int, erased_at: datetime, orders: OrderStats
    ) -> Customer:
        """What is left of an erased customer: its id, the version and time of its
        erasure, and anonymous order counts. Every personal field is empty; it
        counts as deleted, so it holds no unique value and no session."""
        return cls(
            id=customer_id,
            email="",
            first_name=None,
            last_name=None,
            phone=None,
            date_of_birth=None,
            gender=None,
            customer_type=CustomerType.INDIVIDUAL,
            status=CustomerStatus.INACTIVE,
            email_verified=False,
            registration_source=None,
            metadata={},
            customer_group_id=None,
            created_at=erased_at,
            updated_at=erased_at,
            deleted_at=erased_at,
            version=version,
            orders=OrderStats(orders.total_orders, orders.total_spent, orders.last_order_at),
            erased_at=erased_at,
        )

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
            **fields.dump(self, PROFILE_DOCUMENT),
            "two_factor_enabled": self.two_factor_enabled,
        }

    @property
    def two_factor_enabled(self) -> bool:
        totp = self.credentials.totp
        return totp is not None and totp.enabled

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
        """The whole public customer: what every event carries. An erased
        customer's is its tombstone: no personal field at all."""
        if self.erased_at is not None:
            return {
                "id": self.id,
                "version": self.version,
                "erased_at": timestamp(self.erased_at),
                "updated_at": timestamp(self.updated_at),
                "orders": self.orders.to_document(),
            }
        return {
            **self.profile(),
            "addresses": [address.to_document() for address in self.addresses],
            "preferences": self.current_preferences().to_document(),
            "orders": self.orders.to_document(),
        }

    def to_document(self) -> dict[str, Any]:
        """The JSON kept in the state store (an erased customer's: its tombstone)."""
        if self.erased_at is not None:
            return self.snapshot()
        return {
            **self.snapshot(),
            "internal": {
                "create_fingerprint": self.create_fingerprint,
                "idempotency": [record.to_document() for record in self.idempotency],
                "credentials": self.credentials.to_document(),
                "recorded_order_ids": list(self.orders.recorded_order_ids),
                "notices": self.notices,
                "consent_history": [c.to_document() for c in self.consent_history],
                "erasure": None if self.erasure is None else self.erasure.to_document(),
            },
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Customer:
        if doc.get("erased_at"):
            orders = OrderStats.from_document(doc.get("orders"), [])
            erased_at = datetime.fromisoformat(doc["erased_at"])
            return cls.tombstone(doc["id"], int(doc["version"]), erased_at, orders)
        profile = fields.load(cls, doc, PROFILE_DOCUMENT)
        internal_part = doc.get("internal") or {}
        return cls(
            **profile,
            addresses=tuple(Address.from_document(a) for a in doc.get("addresses") or ()),
            preferences=Preferences.from_document(doc.get("preferences"), profile["created_at"]),
            create_fingerprint=internal_part.get("create_fingerprint"),
            credentials=Credentials.from_document(internal_part.get("credentials")),
            orders=OrderStats.from_document(
                doc.get("orders"), internal_part.get("recorded_order_ids") or []
            ),
            idempotency=tuple(
                IdempotencyRecord.from_document(r) for r in internal_part.get("idempotency") or ()
            ),
            notices=int(internal_part.get("notices", 0)),
            consent_history=tuple(
                ConsentChange.from_document(c) for c in internal_part.get("consent_history") or ()
            ),
            erasure=ErasureRequest.from_document(internal_part.get("erasure")),
        )


# The profile as documents hold it (its plain values), and what of it a client sets.
PROFILE_DOCUMENT = fields.flat_names(Customer)
PROFILE_FIELDS = fields.names(Customer, fields.Role.SETTABLE)
