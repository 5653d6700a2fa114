"""Configuration: every ``CUSTOMER_*`` variable of the seed, validated at start-up.

A bad value stops the process with one message that names each bad variable
(never its value: some are secrets). Outside development, default or
placeholder secrets are refused. Variables the Dapr design makes inert are
still accepted so that the seed's deployment files keep working; each says why.
"""

from __future__ import annotations

import base64
import secrets
import socket
from functools import cache, lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.throttles import DEFAULT_LIMITS, Action, Limit, parse_limits
from security.keyring import Keyring, KeyringError
from security.macs import MacKeyring
from service.callers import Scope, parse_callers
from service.origin import Network, parse_networks

ENV_PREFIX = "CUSTOMER_"

# Sample values of the seed's docs and the like: never a real secret.
PLACEHOLDER_SECRETS = frozenset(
    {"your-secret-key", "secret", "changeme", "change-me", "customer_pass", "password"}
)
MIN_JWT_SECRET_BYTES = 32


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


LogLevel = Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_lower)]


def _comma_separated(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


# "a, b,c" in the environment; NoDecode keeps pydantic-settings from expecting JSON.
CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)]


def _in_development(info: ValidationInfo) -> bool:
    # `environment` is declared first, so it is validated before the secrets.
    return info.data.get("environment") == "development"


def _required_outside_development(
    value: SecretStr | None, info: ValidationInfo, consequence: str = ""
) -> str | None:
    """The secret's text, or None in development; refuses it missing elsewhere."""
    if _in_development(info):
        return None
    secret = value.get_secret_value() if value else ""
    if not secret:
        raise ValueError("required outside development" + consequence)
    return secret


MIN_TOKEN_BYTES = 32


def _strong_token(token: str | None) -> None:
    if token is None:
        return
    if token.lower() in PLACEHOLDER_SECRETS:
        raise ValueError("is a placeholder, not a secret")
    if len(token.encode()) < MIN_TOKEN_BYTES:
        raise ValueError(f"shorter than {MIN_TOKEN_BYTES} bytes")


class ConfigurationError(Exception):
    """Start-up configuration is invalid; the message lists every bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    environment: Literal["development", "production"] = "production"
    service_version: str = "0.1.0"

    # --- Ports --------------------------------------------------------------
    http_host: str = "0.0.0.0"  # noqa: S104 - in a pod the sidecar connects from outside the app's loopback
    http_port: int = Field(default=8003, ge=1, le=65535)
    # Processes serving the app's one port (service/__main__.py): one per core.
    http_workers: int = Field(default=1, ge=1, le=32)
    # Idle keep-alive of the app's HTTP server: above daprd's 90 s (see __main__).
    http_keepalive_seconds: int = Field(default=120, ge=1, le=3600)
    # Inert: the seed's gRPC API is replaced by Dapr service invocation.
    grpc_port: int = Field(default=9003, ge=1, le=65535)

    # --- Postgres (read model and health) -------------------------------------
    database_dsn: SecretStr | None = Field(default=None, validate_default=True)
    database_pool_size: int = Field(default=10, ge=1, le=200)

    # --- Inert: Redis is reached through the Dapr pub/sub component -----------
    redis_addr: str = "localhost:6379"
    redis_password: SecretStr | None = None

    # --- Who may call through Dapr (see service/callers.py) --------------------
    # This service's own Dapr app id: calls addressed to another id are not ours.
    app_id: str = "customer-service"
    service_callers: Annotated[dict[str, Scope], NoDecode] = Field(default_factory=dict)
    # The only app that may publish order events (the Dapr pub/sub scopes say
    # the same); the seed's CUSTOMER_ORDER_SERVICE_ADDR names the same app.
    order_service_app_id: str = Field(
        default="order-service",
        validation_alias=AliasChoices(
            "CUSTOMER_ORDER_SERVICE_APP_ID", "CUSTOMER_ORDER_SERVICE_ADDR"
        ),
    )

    # --- Feature switches (service/features.py) -------------------------------
    # Off: segment routes answer 404, the worker evaluates no segment.
    enable_segments: bool = True
    # Off: no new two-factor enrollment; who has 2FA keeps it.
    enable_2fa: bool = True

    # --- Customers --------------------------------------------------------------
    # Seed P2: the groups were hard-coded; the operator lists them here.
    groups: CommaList = ("retail", "wholesale", "vip")
    # Given to a new customer that names no group; empty for none.
    default_group: str | None = "retail"
    # A retired group may be deleted this long after its retirement, not sooner: changes
    # that saw it active are committed and projected by then (tests use a second or two).
    group_delete_settle_seconds: float = Field(default=60, ge=0, le=86400)
    max_addresses: int = Field(default=100, ge=1, le=1000)
    # Wishlists per customer, items per wishlist (409 beyond).
    max_wishlists: int = Field(default=20, ge=1, le=100)
    max_wishlist_items: int = Field(default=500, ge=1, le=2000)
    # Data protection (README "Data protection"): an erasure asked for waits this
    # many days (fractions allowed: tests wait seconds); a soft-deleted customer is
    # erased this many days after its deletion. Both more than 0: a grace of 0 would
    # erase at once what a customer asked for, a retention of 0 every soft delete.
    erasure_grace_days: float = Field(default=30, gt=0, le=365)
    deleted_retention_days: float = Field(default=90, gt=0, le=3650)

    # --- Input limits (input hygiene; see README "Input limits") -----------------
    # Request bodies above these get 413 before anything parses them: the public
    # API, and the routes only the sidecar calls (events carry whole snapshots).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_internal_body_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    # --- end of input limits -------------------------------------------------------

    # --- Throttles (README "Sign-in"): shared by every replica ------------------------
    # Per action, attempts per client address / per account within the window (429).
    rate_limits: Annotated[dict[Action, Limit], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_LIMITS)
    )
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    # This many failed sign-ins of one email within the window lock it for the window.
    lockout_threshold: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=1440)
    # Password-reset and verification messages per email (or account) per hour.
    deliveries_per_hour: int = Field(default=3, ge=1, le=100)
    # Proxies whose X-Forwarded-For is believed on direct requests (CIDRs).
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()

    # --- Security -----------------------------------------------------------------
    jwt_secret: SecretStr | None = Field(default=None, validate_default=True)
    bcrypt_cost: int = Field(default=12, ge=4, le=15)
    jwt_issuer: str = "customer-service"
    jwt_audience: str = "shop"
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    # Sessions: a refresh token lives this long (each refresh starts it again),
    # and one replaced this recently is still taken once (concurrent refreshes).
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    refresh_grace_seconds: float = Field(default=5.0, ge=0, le=60)
    totp_issuer: str = "Shop"
    # AES-256 keyrings, "id:base64key,..." newest first: one seals TOTP secrets
    # at rest, the other seals tokens for the notification service.
    totp_keys: SecretStr | None = Field(default=None, validate_default=True)
    notification_keys: SecretStr | None = Field(default=None, validate_default=True)
    # HMAC-SHA256 keyrings, same format: one signs this service's calls to its
    # own actors, the other the events it publishes (checked by its projector).
    # Every replica needs the same rings.
    command_keys: SecretStr | None = Field(default=None, validate_default=True)
    event_keys: SecretStr | None = Field(default=None, validate_default=True)

    # --- Observability ------------------------------------------------------------
    log_level: LogLevel = "info"
    metrics_enabled: bool = True
    tracing_enabled: bool = False

    # --- The sidecar (daprd sets DAPR_HTTP_PORT and DAPR_API_TOKEN) -----------
    dapr_host: str = "127.0.0.1"
    dapr_http_port: int = Field(
        default=3500,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("DAPR_HTTP_PORT", "CUSTOMER_DAPR_HTTP_PORT"),
    )
    dapr_api_token: SecretStr | None = Field(
        default=None,
        validate_default=True,
        validation_alias=AliasChoices("DAPR_API_TOKEN", "CUSTOMER_DAPR_API_TOKEN"),
    )
    # What the sidecar presents on each call it makes to the app (Dapr's app API
    # token, dapr.io/app-token-secret): required on the sidecar-only routes.
    app_api_token: SecretStr | None = Field(
        default=None,
        validate_default=True,
        validation_alias=AliasChoices("APP_API_TOKEN", "CUSTOMER_APP_API_TOKEN"),
    )
    dapr_timeout_seconds: float = Field(default=10.0, gt=0)
    state_store: str = "customer-store"
    pubsub: str = "customer-pubsub"
    events_topic: str = "customer-events"
    # Events the projector cannot apply go here (and are counted), never blocking.
    dead_letter_topic: str = "customer-events-deadletter"
    # The order service's events, for order statistics (see README: payload).
    order_pubsub: str = "customer-pubsub"
    order_events_topic: str = "order-events"
    actor_idle_timeout_seconds: int = Field(default=3600, ge=1)
    # How often daprd looks for idle actors to deactivate.
    actor_scan_interval_seconds: int = Field(default=30, ge=1)
    dapr_grpc_port: int = Field(
        default=50001,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("DAPR_GRPC_PORT", "CUSTOMER_DAPR_GRPC_PORT"),
    )

    # --- The worker process (worker/) ------------------------------------------
    # Which replica this is (the pod's name in Kubernetes): one status row each.
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)
    # Event delivery is proven by a heartbeat event on a topic of its own.
    heartbeat_topic: str = "customer-heartbeat"
    heartbeat_seconds: float = Field(default=5.0, gt=0, le=60)
    # Health says delivery is down when no heartbeat came back for this long.
    heartbeat_max_age_seconds: float = Field(default=30.0, gt=0)
    # ... and projection is behind when events take longer than this to apply.
    projection_lag_bound_seconds: float = Field(default=30.0, gt=0)
    # An outbox marker this old is an event that was committed but not published.
    outbox_marker_max_age_seconds: float = Field(default=120.0, gt=0)
    # The reconciler checks this many stored documents per pause, and leaves
    # alone documents written within the grace (their events are on their way).
    reconcile_batch: int = Field(default=500, ge=1, le=10_000)
    reconcile_pause_seconds: float = Field(default=1.0, gt=0)
    reconcile_grace_seconds: float = Field(default=30.0, ge=0)
    # The reconciler's sweep also erases what is due for erasure, once it is this
    # late: the erasure reminder comes first, the sweep is its backup.
    erasure_sweep_lag_seconds: float = Field(default=300.0, ge=0)
    worker_concurrency: int = Field(default=64, ge=1, le=1000)
    status_seconds: float = Field(default=5.0, gt=0, le=60)

    @property
    def sidecar_grpc_address(self) -> str:
        return f"{self.dapr_host}:{self.dapr_grpc_port}"

    @property
    def sidecar_url(self) -> str:
        return f"http://{self.dapr_host}:{self.dapr_http_port}"

    @property
    def database_url(self) -> str:
        # Never None after validation (a development default or a refusal).
        assert self.database_dsn is not None
        return self.database_dsn.get_secret_value()

    @property
    def development(self) -> bool:
        return self.environment == "development"

    # In development a missing secret is replaced by a random one that lives as
    # long as the process (production refuses to start without it, see above).

    def signing_secret(self) -> str:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return _ephemeral("jwt")

    def mac_keyring(self, which: Literal["command", "event"]) -> MacKeyring:
        configured = self.command_keys if which == "command" else self.event_keys
        if configured is not None:
            return MacKeyring.parse(configured.get_secret_value())
        return MacKeyring({f"dev-{which}": base64.b64decode(_ephemeral(which))})

    def keyring(self, which: Literal["totp", "notification"]) -> Keyring:
        configured = self.totp_keys if which == "totp" else self.notification_keys
        if configured is not None:
            return Keyring.parse(configured.get_secret_value())
        return Keyring({f"dev-{which}": base64.b64decode(_ephemeral(which))})

    @field_validator("default_group")
    @classmethod
    def _default_group_is_known(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        if value not in info.data.get("groups", ()):
            raise ValueError("is not one of CUSTOMER_GROUPS")
        return value

    @field_validator("database_dsn")
    @classmethod
    def _database_dsn(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr:
        if value is None:
            if not _in_development(info):
                raise ValueError("required outside development")
            return SecretStr("postgresql://postgres@127.0.0.1:5432/customer_db?sslmode=disable")
        password = urlsplit(value.get_secret_value()).password
        if not _in_development(info) and password and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("uses a sample password")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        secret = _required_outside_development(value, info)
        if secret is None:
            return value
        if secret.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder, not a secret")
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(f"shorter than {MIN_JWT_SECRET_BYTES} bytes")
        return value

    @field_validator("bcrypt_cost")
    @classmethod
    def _bcrypt_cost(cls, value: int, info: ValidationInfo) -> int:
        # Low costs keep tests fast; production keeps bcrypt's strength.
        if value < 10 and not _in_development(info):
            raise ValueError("must be at least 10 outside development")
        return value

    @field_validator("totp_keys", "notification_keys")
    @classmethod
    def _keyring(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        _required_outside_development(value, info)
        if value is None:
            return None
        try:
            Keyring.parse(value.get_secret_value())
        except KeyringError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("command_keys", "event_keys")
    @classmethod
    def _mac_keyring(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        _required_outside_development(value, info)
        if value is None:
            return None
        try:
            MacKeyring.parse(value.get_secret_value())
        except KeyringError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("service_callers", mode="before")
    @classmethod
    def _service_callers(cls, value: object) -> object:
        return parse_callers(value) if isinstance(value, str) else value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _rate_limits(cls, value: object) -> object:
        return parse_limits(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> object:
        return parse_networks(value) if isinstance(value, str) else value

    @field_validator("app_api_token")
    @classmethod
    def _app_api_token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        token = _required_outside_development(
            value,
            info,
            ": without it anyone who reaches the app's port can call its actors directly",
        )
        _strong_token(token)
        return value

    @field_validator("dapr_api_token")
    @classmethod
    def _dapr_api_token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        token = _required_outside_development(
            value, info, ": a sidecar without one answers anyone who reaches it"
        )
        _strong_token(token)
        return value


@cache
def _ephemeral(purpose: str) -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _variable(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return " or ".join(str(choice) for choice in alias.choices)
    return ENV_PREFIX + field.upper()


def describe(error: ValidationError) -> str:
    """Name each bad variable and what is wrong, without echoing values."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        location = item.get("loc") or ()
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        field = str(location[0]) if location else ""
        name = _variable(field) if field in Settings.model_fields else field or "(settings)"
        lines.append(f"  {name}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
