"""Which service may call through Dapr, and with what scope.

``CUSTOMER_SERVICE_CALLERS`` maps a Dapr app id to a scope:

- ``forward``: a gateway passing on an end user's request; judged exactly as
  if the user called directly (a Bearer token where a route needs one).
- ``read``: look-ups of customers, addresses and preferences.
- ``admin``: everything an admin token may do.

Any other app, and any call through the sidecar without a caller id, is
refused unless it carries a valid Bearer token of its own.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

# Dapr app ids: letters, digits, '-', '_' and '.' (daprd validates the same way).
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


class Scope(enum.StrEnum):
    FORWARD = "forward"
    READ = "read"
    ADMIN = "admin"


def parse_callers(text: str) -> dict[str, Scope]:
    """``"api-gateway=forward, crm=admin"`` -> {app id: scope}."""
    callers: dict[str, Scope] = {}
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        app_id, sep, scope = (piece.strip() for piece in entry.partition("="))
        if not sep or not _APP_ID.fullmatch(app_id):
            raise ValueError(f"{entry!r} is not app-id=scope")
        if app_id in callers:
            raise ValueError(f"{app_id!r} is listed twice")
        try:
            callers[app_id] = Scope(scope)
        except ValueError:
            allowed = ", ".join(s.value for s in Scope)
            raise ValueError(f"{app_id!r}: scope {scope!r} is not one of {allowed}") from None
    return callers


def describe_callers(callers: Mapping[str, Scope]) -> str:
    return ",".join(f"{app_id}={scope.value}" for app_id, scope in callers.items())
