"""Throttles: windowed counts and what they allow, the limits' configuration,
and where a request comes from (the client address rate limits count by)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from domain.throttles import (
    DEFAULT_LIMITS,
    Action,
    Counter,
    Limit,
    Lockout,
    account_key,
    address_key,
    locked,
    locks_now,
    over_limit,
    parse_limits,
)
from service.callers import Scope
from service.origin import DIRECT, Origin, Way, client_address, parse_networks

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LOCKOUT = Lockout(threshold=5, window=timedelta(minutes=15))


def test_a_limit_allows_its_count_then_answers_how_long_to_wait() -> None:
    resets = NOW + timedelta(seconds=42.2)
    assert over_limit(Counter(3, resets), 3, NOW) is None
    assert over_limit(Counter(4, resets), 3, NOW) == 43
    # A window that has passed allows again (the store starts it over at one).
    assert over_limit(Counter(9, NOW), 3, NOW) is None


def test_the_failure_that_reaches_the_threshold_locks_for_a_whole_window() -> None:
    window_end = NOW + LOCKOUT.window
    assert [locks_now(Counter(n, window_end), LOCKOUT) for n in range(1, 7)] == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert locked(None, LOCKOUT, NOW) is None
    assert locked(Counter(4, window_end), LOCKOUT, NOW) is None
    assert locked(Counter(5, window_end), LOCKOUT, NOW) == 15 * 60
    assert locked(Counter(5, window_end), LOCKOUT, window_end) is None


def test_keys_are_hashes_of_what_they_count() -> None:
    key = address_key(Action.LOGIN, "203.0.113.7")
    assert "203.0.113.7" not in key
    assert key != address_key(Action.REGISTER, "203.0.113.7")
    assert account_key(Action.LOGIN, "email-abc") != address_key(Action.LOGIN, "email-abc")


def test_limits_are_configured_per_action_and_the_others_keep_their_defaults() -> None:
    limits = parse_limits("login=100/50, second_factor=7/3")
    assert limits[Action.LOGIN] == Limit(100, 50)
    assert limits[Action.SECOND_FACTOR] == Limit(7, 3)
    assert limits[Action.REGISTER] == DEFAULT_LIMITS[Action.REGISTER]
    for bad, reason in [
        ("login", "action=per-address/per-account"),
        ("login=5", "action=per-address/per-account"),
        ("login=5/x", "action=per-address/per-account"),
        ("logon=5/5", "not one of"),
        ("login=5/5,login=6/6", "listed twice"),
        ("login=0/5", "at least 1"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_limits(bad)


# -- the client's address ----------------------------------------------------------------

PROXIES = parse_networks("10.0.0.0/8, 2001:db8:ffff::/48")
GATEWAY = Origin(Way.INVOCATION, "api-gateway", Scope.FORWARD)


def forwarded(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", value.encode()) for value in values]


def test_a_direct_request_counts_by_its_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    spoofed = forwarded("198.51.100.1")
    assert client_address("203.0.113.7", spoofed, DIRECT, PROXIES) == "203.0.113.7"
    assert client_address("203.0.113.7", spoofed, DIRECT, ()) == "203.0.113.7"
    # Behind trusted proxies: the rightmost address that is not one of them.
    chain = forwarded("198.51.100.1, 203.0.113.9", "10.1.2.3")
    assert client_address("10.0.0.5", chain, DIRECT, PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.5", [], DIRECT, PROXIES) == "10.0.0.5"


def test_a_forward_caller_is_believed_and_the_sidecars_own_stamp_is_not_the_client() -> None:
    # daprd appends the calling sidecar's address last.
    headers = forwarded("198.51.100.1, 203.0.113.9", "127.0.0.1")
    assert client_address("127.0.0.1", headers, GATEWAY, ()) == "203.0.113.9"
    assert client_address("127.0.0.1", forwarded("127.0.0.1"), GATEWAY, ()) == "app:api-gateway"


def test_no_other_caller_through_dapr_is_believed() -> None:
    headers = forwarded("198.51.100.1", "127.0.0.1")
    crm = Origin(Way.INVOCATION, "crm", Scope.ADMIN)
    unlisted = Origin(Way.INVOCATION, None, None)
    assert client_address("127.0.0.1", headers, crm, PROXIES) == "app:crm"
    assert client_address("127.0.0.1", headers, unlisted, PROXIES) == "app:unknown"


def test_an_ipv6_client_counts_as_its_64_prefix() -> None:
    one = client_address("2001:db8:1:2:aaaa::1", [], DIRECT, ())
    other = client_address("2001:db8:1:2:bbbb::9", [], DIRECT, ())
    assert one == other == "2001:db8:1:2::/64"
    assert ipaddress.ip_network(one).prefixlen == 64


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert parse_networks(" 192.0.2.7 ,") == (ipaddress.ip_network("192.0.2.7/32"),)
    with pytest.raises(ValueError, match="not an address"):
        parse_networks("10.0.0.0/8, proxy.internal")
