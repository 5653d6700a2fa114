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
import ipaddress
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
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = b"x-forwarded-for"


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


# -- the client's address (rate limits) ---------------------------------------------------


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 192.0.2.7"`` -> the networks (an address is its own network)."""
    networks = []
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or network") from None
    return tuple(networks)


def client_address(
    peer: str | None, headers: Headers, origin: Origin, trusted: Sequence[Network]
) -> str:
    """Where a request came from, as rate limits count it.

    Everything Dapr delivers comes from the sidecar (loopback), so:

    - direct: the TCP peer; if the peer is a trusted proxy, the rightmost
      ``X-Forwarded-For`` address that is not one (a client may write the
      header, but only its left part);
    - a ``forward`` caller (a gateway through Dapr): the rightmost address the
      gateway forwarded that is not a trusted proxy; daprd appends the calling
      sidecar's own address last, which is not the client's;
    - any other app through Dapr: that app; nobody else's header is believed.
    """
    if origin.way is Way.DIRECT:
        chain = [peer or "unknown"]
        if _within(peer, trusted):
            chain = [*_forwarded(headers), *chain]
        return _rightmost_untrusted(chain, trusted) or _as_client(chain[0])
    if origin.scope is Scope.FORWARD:
        chain = _forwarded(headers)[:-1]
        if (found := _rightmost_untrusted(chain, trusted)) is not None:
            return found
    return f"app:{origin.caller or 'unknown'}"


def _forwarded(headers: Headers) -> list[str]:
    values = (value.decode("latin-1") for key, value in headers if key == FORWARDED_FOR)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _rightmost_untrusted(chain: Sequence[str], trusted: Sequence[Network]) -> str | None:
    for entry in reversed(chain):
        if not _within(entry, trusted):
            return _as_client(entry)
    return None


def _within(address: str | None, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _as_client(entry: str) -> str:
    """An IPv6 client counts as its /64 (one subscriber's prefix)."""
    try:
        ip = ipaddress.ip_address(entry)
    except ValueError:
        return entry[:100]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
