"""Where a request came from, judged from its path and headers alone.

Three ways in share the app's port:

- **direct**: a front end or a gateway over plain HTTP; no app API token.
- **service invocation**: another app's call delivered by our sidecar. The
  sidecar adds the app API token to everything it delivers, and stamps remote
  calls with ``dapr-caller-app-id``, ``dapr-callee-app-id`` and ``Forwarded``
  (it overwrites what the caller sent; a caller's own copy under another
  spelling arrives as a second value). A call through our own sidecar to
  ourselves arrives unstamped.
- **sidecar callbacks**: actor calls, reminders, timers, deactivation, event
  deliveries and configuration reads, on ``/actors/``, ``/events/``, ``/dapr/``.
  They carry the app token and none of the invocation stamps.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
import re
from collections.abc import Mapping, Sequence

from service.callers import Scope

SIDECAR_ONLY_PREFIXES = ("/actors/", "/dapr/", "/events/")
SIDECAR_ONLY_PATHS = frozenset({"/actors", "/dapr", "/events", "/healthz"})
# Probes and scrapes answer anyone who reaches the port (they hold no data).
OPEN_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/api/v1/customers/health"})
# What daprd adds to service invocation and never to its own callbacks.
INVOCATION_STAMPS = frozenset({b"dapr-callee-app-id", b"forwarded", b"x-forwarded-for"})
CALLER = b"dapr-caller-app-id"
CALLEE = b"dapr-callee-app-id"
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")

Headers = Sequence[tuple[bytes, bytes]]


class Way(enum.Enum):
    DIRECT = "direct"
    INVOCATION = "invocation"
    CALLBACK = "callback"


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    way: Way
    # The calling app, when the sidecar vouches for it; None otherwise.
    caller: str | None = None
    # Its configured scope; None for direct calls and for unlisted callers.
    scope: Scope | None = None


DIRECT = Origin(Way.DIRECT)
CALLBACK = Origin(Way.CALLBACK)


class Refused(Exception):
    def __init__(self, status: int, slug: str, title: str) -> None:
        super().__init__(title)
        self.status, self.slug, self.title = status, slug, title


def is_canonical(path: str) -> bool:
    """Absolute, no empty, ``.`` or ``..`` segments, no control characters."""
    if not path.startswith("/") or "\\" in path:
        return False
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return False
    segments = path[1:].split("/")
    inner = segments[:-1]  # a trailing slash leaves one empty last segment
    return all(segment not in ("", ".", "..") for segment in inner) and segments[-1] not in (
        ".",
        "..",
    )


def is_sidecar_only(path: str) -> bool:
    lowered = path.lower()
    return lowered.startswith(SIDECAR_ONLY_PREFIXES) or lowered.rstrip("/") in SIDECAR_ONLY_PATHS


def _values(headers: Headers, name: bytes) -> list[str]:
    return [value.decode("latin-1").strip() for key, value in headers if key == name]


def carries_app_token(headers: Headers, app_token: bytes | None) -> bool:
    presented = [value for key, value in headers if key == b"dapr-api-token"]
    if len(presented) > 1:
        raise Refused(400, "bad-request", "The request carries more than one dapr-api-token")
    if app_token is None or not presented:
        return False
    return hmac.compare_digest(presented[0], app_token)


def classify(
    path: str,
    headers: Headers,
    app_token: bytes | None,
    app_id: str,
    callers: Mapping[str, Scope],
) -> Origin:
    """The request's origin, or :class:`Refused` if it may not come that way.

    Without a configured app token (development only) nothing can be told
    apart, and every request counts as direct.
    """
    if not is_canonical(path):
        raise Refused(404, "http-404", "Not found")
    through_sidecar = carries_app_token(headers, app_token)
    if is_sidecar_only(path):
        if app_token is None:
            return CALLBACK
        if not through_sidecar:
            raise Refused(401, "unauthenticated", "Only the Dapr sidecar may call this route")
        if any(key in INVOCATION_STAMPS for key, _ in headers):
            raise Refused(403, "forbidden", "This route is not open to service invocation")
        return CALLBACK
    if not through_sidecar:
        return DIRECT
    calling, called = _values(headers, CALLER), _values(headers, CALLEE)
    if len(calling) > 1 or len(called) > 1:
        raise Refused(403, "ambiguous-caller", "The call names more than one caller")
    caller = None
    if calling and called == [app_id] and _APP_ID.fullmatch(calling[0]):
        caller = calling[0]
    return Origin(Way.INVOCATION, caller, callers.get(caller) if caller else None)
