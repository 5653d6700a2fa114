"""The HTTP contract: request and response bodies, validated at the edge.

Field names and lengths come from the seed specification. Every field error is
collected and answered at once (see service/problems.py). Rules that need the
customer or the configuration (country formats, groups) are the domain's and
come back as the same kind of field errors.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import langcodes
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)

from domain.commands import CreateCustomer
from domain.input_rules import day_in_utc
from domain.model import PREFERENCE_DEFAULTS, AddressType, CustomerStatus, CustomerType, Gender
from security.passwords import policy_violation
from service.business_ids import vat_id
from service.input_types import (
    AddressMetadata,
    FreeFormJSON,
    MultilineText,
    RuleValue,
    SafeSecret,
    SafeText,
)

_OLDEST_BIRTH_YEAR = 1900

# The seed's create request, with one change: its phone "+1234567890" is not a
# number any plan assigns (phonenumbers refuses it), so the example uses a real one.
CREATE_EXAMPLE: dict[str, Any] = {
    "email": "customer@example.com",
    "first_name": "John",
    "last_name": "Doe",
    "phone": "+14155550123",
    "date_of_birth": "1990-01-01T00:00:00Z",
    "gender": "MALE",
    "customer_type": "INDIVIDUAL",
    "registration_source": "WEBSITE",
}
# The seed's create-address request, verbatim ("customer_id" repeats the path).
ADDRESS_EXAMPLE: dict[str, Any] = {
    "customer_id": "uuid-here",
    "type": "SHIPPING",
    "first_name": "John",
    "last_name": "Doe",
    "address_line_1": "123 Main St",
    "city": "New York",
    "state_province": "NY",
    "postal_code": "10001",
    "country_code": "US",
    "is_default": True,
}


def _email(value: str) -> str:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    # Stored as given; comparisons use the lower-cased form.
    return value


def _phone(value: str) -> str:
    """Any spelling of an international number, stored in E.164."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError("must be an international number starting with +") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# BCP 47's syntax: subtags of 1-8 letters or digits joined by "-" ("en_US" is not one).
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def _locale(value: str) -> str:
    """A BCP 47 language tag whose subtags are registered, in its standard form."""
    if not _LANGUAGE_TAG.fullmatch(value) or not langcodes.tag_is_valid(value):
        raise ValueError("must be a BCP 47 language tag, such as en-US or de")
    return langcodes.standardize_tag(value)


def _birth_date(value: date | datetime) -> date:
    # The seed sends a timestamp ("1990-01-01T00:00:00Z"); a birth date is a date.
    day = day_in_utc(value)
    if day > datetime.now(UTC).date():
        raise ValueError("cannot be in the future")
    if day.year < _OLDEST_BIRTH_YEAR:
        raise ValueError(f"cannot be before {_OLDEST_BIRTH_YEAR}")
    return day


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("cannot be null")
    return value


Email = Annotated[SafeText, Field(max_length=255), AfterValidator(_email)]
Locale = Annotated[SafeText, Field(max_length=35), AfterValidator(_locale)]
VatId = Annotated[SafeText, Field(min_length=4, max_length=32), AfterValidator(vat_id)]
Phone = Annotated[SafeText, Field(max_length=32), AfterValidator(_phone)]
BirthDate = Annotated[date | datetime, AfterValidator(_birth_date)]
Name = Annotated[SafeText, Field(min_length=1, max_length=100)]
Text255 = Annotated[SafeText, Field(min_length=1, max_length=255)]
Short = Annotated[SafeText, Field(min_length=1, max_length=50)]
LegacyId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
PostalCode = Annotated[SafeText, Field(min_length=1, max_length=20)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _as_document(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields a client sent, as JSON values (dates as ISO strings)."""
    sent: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True, exclude=exclude)
    return sent


class _Profile(BaseModel):
    """What a client says about a customer: the fields every profile body shares."""

    model_config = _STRICT

    email: Email | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None
    customer_type: CustomerType | None = None
    locale: Locale | None = None
    # BUSINESS customers only (domain/profile.py).
    company_name: Text255 | None = None
    vat_id: VatId | None = None


class _AdminProfile(BaseModel):
    """What only an admin (or another service) may set about a customer."""

    model_config = _STRICT

    status: CustomerStatus | None = None
    metadata: FreeFormJSON | None = None
    customer_group_id: Short | None = None
    legacy_id: LegacyId | None = None


ADMIN_FIELDS = frozenset(_AdminProfile.model_fields)


class CustomerCreate(_AdminProfile, _Profile):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [CREATE_EXAMPLE]})

    email: Email
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    status: CustomerStatus = CustomerStatus.ACTIVE
    metadata: FreeFormJSON = Field(default_factory=dict)
    registration_source: Short | None = None

    def to_command(self, customer_id: str, fingerprint: str | None) -> CreateCustomer:
        return CreateCustomer(customer_id=customer_id, fingerprint=fingerprint, **dict(self))


class CustomerUpdate(_AdminProfile, _Profile):
    """A partial update: only the fields sent change; null clears an optional one."""

    _required = field_validator("email", "customer_type", "status", "metadata")(_not_null)

    def to_changes(self) -> dict[str, Any]:
        return _as_document(self)


class _AddressParts(BaseModel):
    """What a client says about an address: the fields its bodies share."""

    model_config = _STRICT

    type: AddressType | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    company: Text255 | None = None
    address_line_1: Text255 | None = None
    address_line_2: Text255 | None = None
    city: Name | None = None
    state_province: Name | None = None
    postal_code: PostalCode | None = None
    country_code: CountryCode | None = None
    phone: Phone | None = None
    label: Short | None = None
    metadata: AddressMetadata | None = None


class AddressCreate(_AddressParts):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [ADDRESS_EXAMPLE]})

    type: AddressType = AddressType.SHIPPING
    address_line_1: Text255
    city: Name
    country_code: CountryCode
    metadata: AddressMetadata = Field(default_factory=dict)
    # The seed's request repeats the path's customer id; if sent, it must match.
    customer_id: Annotated[SafeText, Field(max_length=64)] | None = None
    is_default: bool = False

    def to_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = self.model_dump(mode="json", exclude={"customer_id", "is_default"})
        return fields


class AddressUpdate(_AddressParts):
    is_default: bool | None = None

    _required = field_validator(
        "type", "address_line_1", "city", "country_code", "metadata", "is_default"
    )(_not_null)

    def to_changes(self) -> dict[str, Any]:
        return _as_document(self, exclude={"is_default"})


class SetDefaultRequest(BaseModel):
    model_config = _STRICT

    # Only this kind; without it, every kind the address serves.
    type: AddressType | None = None


def _flag_model(name: str, kind: Any, default: Any) -> type[BaseModel]:
    """A model whose fields are the preference flags, as the domain lists them."""
    flags: dict[str, Any] = dict.fromkeys(PREFERENCE_DEFAULTS, (kind, default))
    return create_model(name, __module__=__name__, **flags)


# The flags are declared once (domain.model.PREFERENCE_DEFAULTS); the bodies that
# carry them inherit models generated from that list. Type checkers see BaseModel:
# code reads the flags through flags() and model_dump, never by attribute.
if TYPE_CHECKING:
    _FlagsSent = BaseModel
    _Flags = BaseModel
else:
    _FlagsSent = _flag_model("_FlagsSent", bool | None, None)
    _Flags = _flag_model("_Flags", bool, ...)


class PreferencesUpdate(_FlagsSent):
    model_config = _STRICT

    custom_preferences: FreeFormJSON | None = None
    # Where the consent was given, kept with each flag it changes.
    source: Short = "api"

    _required = field_validator(*PREFERENCE_DEFAULTS, "custom_preferences")(_not_null)

    def flags(self) -> dict[str, bool]:
        sent = self.model_dump(exclude_unset=True)
        return {name: bool(sent[name]) for name in PREFERENCE_DEFAULTS if name in sent}


# -- replies ------------------------------------------------------------------------------


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
    legacy_id: str | None
    default_shipping_address_id: str | None
    default_billing_address_id: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    last_login_at: datetime | None
    locale: str | None
    company_name: str | None
    vat_id: str | None
    two_factor_enabled: bool
    # Order statistics (the order service's events, counted by the actor).
    total_orders: int
    total_spent: str
    last_order_at: datetime | None
    version: int


class CustomerReply(BaseModel):
    customer: CustomerOut


class CustomerBatch(BaseModel):
    """Customers looked up by id or phone: each as ``GET /api/v1/customers/{id}`` shows it."""

    customers: list[CustomerOut]


class AddressOut(BaseModel):
    id: str
    customer_id: str
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
    is_default: bool
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime
    updated_at: datetime


class AddressReply(BaseModel):
    address: AddressOut
    version: int


class AddressList(BaseModel):
    addresses: list[AddressOut]
    version: int


class ConsentOut(BaseModel):
    updated_at: datetime
    source: str


class PreferencesOut(_Flags):
    custom_preferences: dict[str, Any]
    consents: dict[str, ConsentOut]
    updated_at: datetime


class PreferencesReply(BaseModel):
    preferences: PreferencesOut
    version: int


class DependencyHealth(BaseModel):
    status: str
    detail: str | None = None


class HealthReply(BaseModel):
    status: str
    service: str
    checks: dict[str, DependencyHealth]


# -- sign-in ------------------------------------------------------------------------------


def _password_policy(value: SecretStr) -> SecretStr:
    if (reason := policy_violation(value.get_secret_value())) is not None:
        raise ValueError(reason)
    return value


Password = Annotated[SafeSecret, AfterValidator(_password_policy)]
OtpCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
RecoveryCode = Annotated[SafeText, Field(min_length=8, max_length=32)]
OneTimeToken = Annotated[SafeSecret, Field(min_length=10, max_length=200)]
# Looked up, never stored: any spelling of an email, but plain text.
EmailLookup = Annotated[SafeText, Field(min_length=3, max_length=255)]


class RegisterRequest(_Profile):
    """A customer signing up: a password, and the profile fields a customer sets."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={"examples": [{**CREATE_EXAMPLE, "password": "correct horse battery"}]},
    )

    email: Email
    customer_type: CustomerType = CustomerType.INDIVIDUAL
    password: Password
    registration_source: Short | None = None

    def to_profile(self, customer_id: str) -> CreateCustomer:
        profile = dict(self)
        del profile["password"]
        status = CustomerStatus.PENDING_VERIFICATION
        return CreateCustomer(customer_id=customer_id, status=status, **profile)


# A password to check, not to set: the policy would tell which passwords could exist.
CurrentPassword = Annotated[SafeSecret, Field(min_length=1, max_length=1024)]


class LoginRequest(BaseModel):
    model_config = _STRICT

    email: EmailLookup
    password: CurrentPassword


class SecondFactorRequest(BaseModel):
    """A TOTP code, or one of the recovery codes (exactly one of them)."""

    model_config = _STRICT

    code: OtpCode | None = None
    recovery_code: RecoveryCode | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecondFactorRequest:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send either code or recovery_code")
        return self


class LoginChallengeRequest(SecondFactorRequest):
    challenge: OneTimeToken


class PasswordConfirmation(BaseModel):
    """Step-up: a sensitive change comes with the customer's password."""

    model_config = _STRICT

    password: CurrentPassword


class DisableTwoFactorRequest(SecondFactorRequest, PasswordConfirmation):
    """Both factors: the password and a code (or a recovery code)."""


class PasswordChangeRequest(BaseModel):
    model_config = _STRICT

    current_password: CurrentPassword
    new_password: Password


class EmailChangeRequest(PasswordConfirmation):
    new_email: Email


class RefreshRequest(BaseModel):
    model_config = _STRICT

    refresh_token: OneTimeToken


class TotpCodeRequest(BaseModel):
    model_config = _STRICT

    code: OtpCode


class TokenRequest(BaseModel):
    model_config = _STRICT

    token: OneTimeToken


class PasswordResetRequest(BaseModel):
    model_config = _STRICT

    email: EmailLookup


class PasswordResetConfirm(BaseModel):
    model_config = _STRICT

    token: OneTimeToken
    new_password: Password


class AccessTokenReply(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int
    customer_id: str
    # Opaque and single use: a refresh returns a new one, and one used twice
    # (after a few seconds' grace) ends its session.
    refresh_token: str
    refresh_expires_in: int


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    # The session of the token this request came with.
    current: bool


class SessionList(BaseModel):
    sessions: list[SessionOut]


class SecondFactorRequired(BaseModel):
    second_factor_required: bool = True
    challenge: str
    expires_in: int


class TotpEnrollmentReply(BaseModel):
    """Shown once: the secret never leaves the service again."""

    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


class TwoFactorReply(BaseModel):
    two_factor_enabled: bool
    version: int


class Accepted(BaseModel):
    status: str = "accepted"


class ErasureRequest(BaseModel):
    """The customer gives its password; an admin gives none, and may ask for
    the erasure at once."""

    model_config = _STRICT

    password: CurrentPassword | None = None
    immediate: bool = False


class ErasureReply(BaseModel):
    scheduled_for: str | None
    erased: bool
    version: int


# -- read model ---------------------------------------------------------------------------


class CustomerSummary(BaseModel):
    """A customer as the read model lists it (about a second behind the actor)."""

    id: str
    version: int
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    status: CustomerStatus
    customer_type: CustomerType
    customer_group_id: str | None
    legacy_id: str | None
    email_verified: bool
    registration_source: str | None
    total_orders: int
    total_spent: str
    last_order_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    score: int | None = None


class CustomerPage(BaseModel):
    customers: list[CustomerSummary]
    next_cursor: str | None


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: Annotated[SafeText, Field(min_length=1, max_length=100)]
    operator: Annotated[SafeText, Field(min_length=1, max_length=10)]
    value: RuleValue = None
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


class RuleOut(BaseModel):
    """A stored rule as it is (rules stored before the value types were checked too)."""

    field: str
    operator: str
    value: Any = None
    weight: int = 1


SEGMENT_EXAMPLE: dict[str, Any] = {
    "name": "Loyal newsletter readers",
    "description": "More than five orders and subscribed to the newsletter",
    "rules": [
        {"field": "total_orders", "operator": "gt", "value": 5, "weight": 2},
        {"field": "preferences.newsletter", "operator": "eq", "value": True, "weight": 1},
    ],
    "min_score": 3,
}


SegmentName = Annotated[SafeText, Field(min_length=1, max_length=100)]
SegmentDescription = Annotated[MultilineText, Field(max_length=500)]


class SegmentCreate(BaseModel):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [SEGMENT_EXAMPLE]})

    name: SegmentName
    description: SegmentDescription | None = None
    rules: Annotated[list[RuleIn], Field(max_length=50)] = Field(default_factory=list)
    # Without it, every rule must match.
    min_score: Annotated[int, Field(ge=0)] | None = None
    # Every live customer belongs, whatever the rules (assigned on creation).
    is_default: bool = False
    active: bool = True


class SegmentUpdate(BaseModel):
    model_config = _STRICT

    name: SegmentName | None = None
    description: SegmentDescription | None = None
    rules: Annotated[list[RuleIn], Field(max_length=50)] | None = None
    min_score: Annotated[int, Field(ge=0)] | None = None
    is_default: bool | None = None
    active: bool | None = None

    _required = field_validator("name", "rules", "is_default", "active")(_not_null)


class SegmentOut(BaseModel):
    id: str
    name: str
    description: str | None
    rules: list[RuleOut]
    min_score: int | None
    is_default: bool
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    # When members were last brought up to date with these rules (null: in progress).
    evaluated_at: datetime | None


class SegmentReply(BaseModel):
    segment: SegmentOut


class SegmentList(BaseModel):
    segments: list[SegmentOut]


class SegmentMembership(BaseModel):
    id: str
    name: str
    score: int
    assigned_at: datetime


class SegmentMemberships(BaseModel):
    segments: list[SegmentMembership]


# -- wishlists ----------------------------------------------------------------------------

ProductRef = Annotated[SafeText, Field(min_length=1, max_length=100)]
WishlistName = Annotated[SafeText, Field(min_length=1, max_length=100)]


class WishlistCreate(BaseModel):
    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{"name": "Birthday"}]})

    name: WishlistName


class WishlistUpdate(BaseModel):
    model_config = _STRICT

    name: WishlistName


class WishlistItemCreate(BaseModel):
    """A product (and variant); the same one again updates the item already there
    with the quantity and note sent."""

    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={"examples": [{"product_id": "SKU-1001", "variant_id": "red-m"}]},
    )

    product_id: ProductRef
    variant_id: ProductRef | None = None
    quantity: Annotated[int, Field(ge=1, le=999)] | None = None
    note: Annotated[SafeText, Field(max_length=500)] | None = None


class WishlistItemOut(BaseModel):
    id: str
    product_id: str
    variant_id: str | None
    quantity: int
    note: str | None
    added_at: datetime
    updated_at: datetime


class WishlistSummary(BaseModel):
    id: str
    customer_id: str
    name: str
    version: int
    item_count: int
    created_at: datetime
    updated_at: datetime


class WishlistOut(WishlistSummary):
    items: list[WishlistItemOut]


class WishlistReply(BaseModel):
    wishlist: WishlistOut


class WishlistList(BaseModel):
    wishlists: list[WishlistSummary]


class WishlistItemReply(BaseModel):
    item: WishlistItemOut
    # The wishlist's version after the change (its ETag).
    version: int


# -- customer groups ----------------------------------------------------------------------

GroupIdIn = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
GroupName = Annotated[SafeText, Field(min_length=1, max_length=100)]
GroupDescription = Annotated[MultilineText, Field(max_length=500)]


class CustomerGroupCreate(BaseModel):
    model_config = ConfigDict(
        **_STRICT,
        json_schema_extra={
            "examples": [{"id": "gold", "name": "Gold", "attributes": {"discount_percent": 5}}]
        },
    )

    id: GroupIdIn
    name: GroupName
    description: GroupDescription | None = None
    attributes: FreeFormJSON = Field(default_factory=dict)


class CustomerGroupUpdate(BaseModel):
    model_config = _STRICT

    name: GroupName | None = None
    description: GroupDescription | None = None
    attributes: FreeFormJSON | None = None
    active: bool | None = None

    _required = field_validator("name", "attributes", "active")(_not_null)

    def to_changes(self) -> dict[str, Any]:
        return _as_document(self)


class CustomerGroupOut(BaseModel):
    id: str
    name: str
    description: str | None
    attributes: dict[str, Any]
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    # When it was retired (null: active); it may be deleted a settle window later.
    retired_at: datetime | None = None


class CustomerGroupReply(BaseModel):
    customer_group: CustomerGroupOut


class CustomerGroupList(BaseModel):
    customer_groups: list[CustomerGroupOut]
