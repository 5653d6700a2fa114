"""Bad configuration stops the service at start-up, naming each bad variable."""

from __future__ import annotations

import os
import subprocess
import sys

from devstack.stack import PROJECT_ROOT


def start_service(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER_")}
    return subprocess.run(
        [sys.executable, "-m", "service"],
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_each_bad_variable_is_named_and_start_up_fails() -> None:
    secret = "your-secret-key"
    result = start_service(
        {
            "CUSTOMER_ENVIRONMENT": "production",
            "CUSTOMER_HTTP_PORT": "http",
            "CUSTOMER_BCRYPT_COST": "4",
            "CUSTOMER_JWT_SECRET": secret,
            "CUSTOMER_DATABASE_DSN": "postgres://customer_user:customer_pass@db:5432/customer_db",
        }
    )

    assert result.returncode == 78
    for variable in (
        "CUSTOMER_HTTP_PORT",
        "CUSTOMER_BCRYPT_COST",
        "CUSTOMER_JWT_SECRET",
        "CUSTOMER_DATABASE_DSN",
    ):
        assert variable in result.stderr
    assert "customer_pass" not in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_to_start_without_a_jwt_secret() -> None:
    result = start_service(
        {
            "CUSTOMER_ENVIRONMENT": "production",
            "CUSTOMER_DATABASE_DSN": "postgresql://svc:s3cr3t-from-vault@db:5432/customer_db",
        }
    )

    assert result.returncode == 78
    assert "CUSTOMER_JWT_SECRET: required outside development" in result.stderr
