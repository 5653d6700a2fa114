"""``python -m readmodel.migrate``: apply the SQL files in migrations/ with yoyo.

yoyo keeps what it applied in its own tables (``_yoyo_migration``) and takes a
lock, so two runners (a Job and a developer) cannot apply a file twice.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

# The repository's folder, or where the image puts it (CUSTOMER_MIGRATIONS_DIR).
MIGRATIONS = Path(
    os.environ.get(
        "CUSTOMER_MIGRATIONS_DIR", str(Path(__file__).resolve().parent.parent / "migrations")
    )
)
DEVELOPMENT_DSN = "postgresql://postgres@127.0.0.1:5432/customer_db"


def yoyo_url(dsn: str) -> str:
    """yoyo names the driver in the scheme: postgresql+psycopg://..."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def apply_migrations(dsn: str, directory: Path = MIGRATIONS) -> list[str]:
    """Apply what is not applied yet; return the ids applied now."""
    backend = get_backend(yoyo_url(dsn))
    migrations = read_migrations(str(directory))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    return [migration.id for migration in pending]


def main() -> int:
    dsn = os.environ.get("CUSTOMER_DATABASE_DSN", DEVELOPMENT_DSN)
    applied = apply_migrations(dsn)
    print(f"migrations: {len(applied)} applied" + (f" ({', '.join(applied)})" if applied else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
