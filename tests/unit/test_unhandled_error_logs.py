"""An unhandled error is logged for operators without the secrets it touched.

In process, with the real app and a dependency made to fail while a
password-reset token and a Bearer token are in scope (the shipped app has no
route that fails on purpose)."""

from __future__ import annotations

import types
import uuid

import pytest
from fastapi.testclient import TestClient

from observability.logging import configure_logging
from security import one_time
from service.app import create_app
from service.dependencies import services
from service.settings import Settings
from service.sign_in import SignIn
from tests.support.credentials import admin_token

RESET_TOKEN = f"{uuid.uuid4()}.{'r' * 43}"
BEARER = admin_token()


def test_no_secret_reaches_the_log_of_an_unhandled_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_lookup(token: str) -> str | None:
        authorization = f"Bearer {BEARER}"  # what the failing code held
        raise RuntimeError(f"could not look up {token!r} for {authorization}")

    monkeypatch.setattr(one_time, "customer_of", failing_lookup)
    configure_logging("info")
    app = create_app(Settings(environment="development"))
    # The lifespan is not run here: the sign-in flows have no sidecar, keys or database.
    idle = SignIn(None, None, None, None, 0, None, None, None)  # type: ignore[arg-type]
    app.dependency_overrides[services] = lambda: types.SimpleNamespace(sign_in=idle)
    client = TestClient(app, raise_server_exceptions=False)

    response = client.post(
        "/api/v1/customers/password-reset/confirm",
        json={"token": RESET_TOKEN, "new_password": "a long new password"},
        headers={"authorization": f"Bearer {BEARER}"},
    )

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    log = capsys.readouterr().out
    assert "unhandled error" in log  # the error is logged ...
    assert "RuntimeError" in log  # ... with its type and traceback
    for secret in (RESET_TOKEN, RESET_TOKEN.split(".")[1], BEARER, BEARER.split(".")[1]):
        assert secret not in log
        assert secret not in response.text
