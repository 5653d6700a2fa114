"""Configuration: every bad variable named, default secrets refused in production."""

from __future__ import annotations

import base64

import pytest

from domain.throttles import Action, Limit
from service.settings import ConfigurationError, Settings, load_settings

STRONG_SECRET = "k" * 40
REAL_DSN = "postgresql://svc:vault-issued-credential@db:5432/customer_db"
KEYRING = (
    "k2:" + base64.b64encode(b"2" * 32).decode() + ",k1:" + base64.b64encode(b"1" * 32).decode()
)


def production_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("CUSTOMER_DATABASE_DSN", REAL_DSN)
    monkeypatch.setenv("APP_API_TOKEN", "t" * 32)
    monkeypatch.setenv("DAPR_API_TOKEN", "d" * 32)
    monkeypatch.setenv("CUSTOMER_TOTP_KEYS", KEYRING)
    monkeypatch.setenv("CUSTOMER_NOTIFICATION_KEYS", KEYRING)
    monkeypatch.setenv("CUSTOMER_COMMAND_KEYS", KEYRING)
    monkeypatch.setenv("CUSTOMER_EVENT_KEYS", KEYRING)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CUSTOMER_") or name in {
            "DAPR_HTTP_PORT",
            "DAPR_API_TOKEN",
            "APP_API_TOKEN",
        }:
            monkeypatch.delenv(name)


def test_development_needs_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_ENVIRONMENT", "development")

    settings = load_settings()

    assert settings.database_url.startswith("postgresql://postgres@127.0.0.1:5432/")
    assert settings.jwt_secret is None


def test_production_with_real_secrets_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("CUSTOMER_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("DAPR_HTTP_PORT", "3600")

    settings = load_settings()

    assert settings.environment == "production"
    assert settings.log_level == "warning"
    assert settings.sidecar_url == "http://127.0.0.1:3600"
    assert settings.bcrypt_cost == 12
    assert settings.signing_secret() == STRONG_SECRET
    assert settings.keyring("totp").current == "k2"  # the first key seals


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("CUSTOMER_TOTP_KEYS", None, "required outside development"),
        ("CUSTOMER_NOTIFICATION_KEYS", None, "required outside development"),
        ("CUSTOMER_TOTP_KEYS", "k1:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
        ("CUSTOMER_NOTIFICATION_KEYS", "no-colon", "id:base64"),
        ("CUSTOMER_BCRYPT_COST", "4", "at least 10 outside development"),
        ("CUSTOMER_COMMAND_KEYS", None, "required outside development"),
        ("CUSTOMER_EVENT_KEYS", None, "required outside development"),
        ("CUSTOMER_COMMAND_KEYS", "k1:" + base64.b64encode(b"short").decode(), "at least 32"),
        ("CUSTOMER_EVENT_KEYS", "k1:" + base64.b64encode(b"e" * 32).decode() + ",k1:", "twice"),
        ("CUSTOMER_SERVICE_CALLERS", "crm=superuser", "not one of forward, read, admin"),
        ("CUSTOMER_SERVICE_CALLERS", "crm", "is not app-id=scope"),
        ("CUSTOMER_SERVICE_CALLERS", "crm=read,crm=admin", "listed twice"),
        ("APP_API_TOKEN", "short-token", "shorter than 32 bytes"),
        ("APP_API_TOKEN", "changeme", "is a placeholder"),
        ("DAPR_API_TOKEN", None, "required outside development"),
        ("DAPR_API_TOKEN", "x" * 8, "shorter than 32 bytes"),
    ],
)
def test_production_refuses_missing_or_weak_sign_in_secrets(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str | None, reason: str
) -> None:
    production_secrets(monkeypatch)
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigurationError) as refused:
        load_settings()

    assert variable in str(refused.value)
    assert reason in str(refused.value)


def test_service_callers_map_app_ids_to_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("CUSTOMER_SERVICE_CALLERS", " api-gateway=forward, crm=admin,orders=read ")

    callers = load_settings().service_callers

    assert {app: scope.value for app, scope in callers.items()} == {
        "api-gateway": "forward",
        "crm": "admin",
        "orders": "read",
    }


def test_no_service_may_call_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    assert load_settings().service_callers == {}


def test_the_seeds_order_service_address_names_its_app_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("CUSTOMER_ORDER_SERVICE_ADDR", "orders")
    assert load_settings().order_service_app_id == "orders"


def test_development_signs_with_secrets_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTOMER_ENVIRONMENT", "development")
    settings = load_settings()
    assert len(settings.signing_secret()) >= 32
    assert settings.keyring("totp").current == "dev-totp"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "required outside development"),
        ("your-secret-key", "is a placeholder"),
        ("short", "shorter than 32 bytes"),
    ],
)
def test_production_refuses_a_missing_default_or_weak_jwt_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None, reason: str
) -> None:
    monkeypatch.setenv("CUSTOMER_DATABASE_DSN", REAL_DSN)
    if secret is not None:
        monkeypatch.setenv("CUSTOMER_JWT_SECRET", secret)

    with pytest.raises(ConfigurationError) as refused:
        load_settings()

    assert f"CUSTOMER_JWT_SECRET: {reason}" in str(refused.value)


def test_every_bad_variable_is_named_at_once_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMER_HTTP_PORT", "99999")
    monkeypatch.setenv("CUSTOMER_ENABLE_2FA", "perhaps")
    monkeypatch.setenv("CUSTOMER_LOG_LEVEL", "chatty")
    monkeypatch.setenv("CUSTOMER_JWT_SECRET", "changeme")
    monkeypatch.setenv("CUSTOMER_DATABASE_DSN", "postgres://u:customer_pass@db/customer_db")

    with pytest.raises(ConfigurationError) as refused:
        load_settings()

    message = str(refused.value)
    for variable in (
        "CUSTOMER_HTTP_PORT",
        "CUSTOMER_ENABLE_2FA",
        "CUSTOMER_LOG_LEVEL",
        "CUSTOMER_JWT_SECRET",
        "CUSTOMER_DATABASE_DSN",
    ):
        assert variable in message
    assert "changeme" not in message
    assert "customer_pass" not in message


def test_production_refuses_to_leave_the_actor_routes_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production_secrets(monkeypatch)
    monkeypatch.delenv("APP_API_TOKEN")

    with pytest.raises(ConfigurationError) as refused:
        load_settings()

    assert "APP_API_TOKEN or CUSTOMER_APP_API_TOKEN: required outside development" in str(
        refused.value
    )


def test_sessions_and_throttles_have_production_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    settings = load_settings()

    assert (settings.refresh_token_days, settings.refresh_grace_seconds) == (30, 5.0)
    assert (settings.lockout_threshold, settings.lockout_minutes) == (5, 15)
    assert settings.deliveries_per_hour == 3
    assert settings.rate_limits[Action.LOGIN] == Limit(20, 10)
    assert settings.trusted_proxies == ()


def test_rate_limits_and_trusted_proxies_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    production_secrets(monkeypatch)
    monkeypatch.setenv("CUSTOMER_RATE_LIMITS", "login=100/50")
    monkeypatch.setenv("CUSTOMER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
    settings = load_settings()
    assert settings.rate_limits[Action.LOGIN] == Limit(100, 50)
    assert settings.rate_limits[Action.REGISTER] == Limit(10, 3)
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.7/32"]

    monkeypatch.setenv("CUSTOMER_RATE_LIMITS", "login=lots")
    monkeypatch.setenv("CUSTOMER_TRUSTED_PROXIES", "proxy.internal")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "CUSTOMER_RATE_LIMITS: 'login=lots' is not action=per-address/per-account" in str(
        refused.value
    )
    assert "CUSTOMER_TRUSTED_PROXIES: 'proxy.internal' is not an address" in str(refused.value)


def test_settings_that_did_nothing_are_gone() -> None:
    read = set(Settings.model_fields)
    assert not read & {"enable_analytics", "auth_service_addr", "loyalty_service_addr"}
    assert {"enable_segments", "enable_2fa"} <= read


@pytest.mark.parametrize(
    "variable", ["CUSTOMER_ERASURE_GRACE_DAYS", "CUSTOMER_DELETED_RETENTION_DAYS"]
)
def test_the_erasure_grace_and_the_retention_must_be_more_than_nothing(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("CUSTOMER_ENVIRONMENT", "development")
    for refused_value in ("0", "-1"):
        monkeypatch.setenv(variable, refused_value)
        with pytest.raises(ConfigurationError) as refused:
            load_settings()
        assert variable in str(refused.value)
    # Fractions of a day (the tests wait seconds) are fine.
    monkeypatch.setenv(variable, repr(6 / 86400))
    settings = load_settings()
    days = (
        settings.erasure_grace_days
        if variable == "CUSTOMER_ERASURE_GRACE_DAYS"
        else settings.deleted_retention_days
    )
    assert days == 6 / 86400
