"""Access tokens: what is checked, and the cache of verified tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from security.access_tokens import Claims, InvalidToken, TokenIssuer, VerifiedTokens

ISSUER = TokenIssuer("s" * 40, "customer-service", "shop", timedelta(minutes=15))
NOW = datetime.now(UTC)


def made_by(secret: str, issuer: str, audience: str, minutes: int) -> str:
    return TokenIssuer(secret, issuer, audience, timedelta(minutes=minutes)).issue("c", [], NOW)


def test_a_token_names_its_subject_and_roles() -> None:
    claims = ISSUER.verify(ISSUER.issue("c1", ["customer"], NOW))
    assert (claims.subject, claims.roles) == ("c1", frozenset({"customer"}))


@pytest.mark.parametrize(
    "token",
    [
        TokenIssuer("x" * 40, "customer-service", "shop", timedelta(minutes=5)).issue("c", [], NOW),
        TokenIssuer("s" * 40, "someone-else", "shop", timedelta(minutes=5)).issue("c", [], NOW),
        TokenIssuer("s" * 40, "customer-service", "other", timedelta(minutes=5)).issue(
            "c", [], NOW
        ),
        TokenIssuer("s" * 40, "customer-service", "shop", timedelta(minutes=-5)).issue(
            "c", [], NOW
        ),
        jwt.encode({"sub": "c", "iss": "customer-service", "aud": "shop"}, "s" * 40),  # no exp
        jwt.encode({"sub": "c"}, "", algorithm="none"),
    ],
)
def test_foreign_expired_or_unsigned_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        ISSUER.verify(token)


class CountingVerifier:
    def __init__(self, expires_at: float) -> None:
        self.calls = 0
        self.expires_at = expires_at

    def __call__(self, token: str) -> Claims:
        self.calls += 1
        if token == "bad":
            raise InvalidToken("bad")
        return Claims("c", frozenset(), self.expires_at)


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    issuer = CountingVerifier(expires_at=1000.0)
    tokens = VerifiedTokens(issuer)
    tokens.verify("t", now=10.0)
    tokens.verify("t", now=20.0)
    assert issuer.calls == 1
    tokens.verify("t", now=1001.0)  # expired in the cache: checked again
    assert issuer.calls == 2


def test_a_refused_token_is_never_remembered() -> None:
    issuer = CountingVerifier(expires_at=1000.0)
    tokens = VerifiedTokens(issuer)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            tokens.verify("bad", now=10.0)
    assert issuer.calls == 2


def test_the_cache_is_bounded() -> None:
    issuer = CountingVerifier(expires_at=1000.0)
    tokens = VerifiedTokens(issuer, size=2)
    for token in ("a", "b", "c", "a"):
        tokens.verify(token, now=1.0)
    assert issuer.calls == 4  # "a" was evicted by "c"


@pytest.mark.parametrize(
    "roles", [[], ["service"], ["customer", "service"], ["superuser"], "admin", None]
)
def test_only_known_roles_are_accepted(roles: object) -> None:
    claims = {
        "iss": "customer-service",
        "aud": "shop",
        "sub": "c1",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 60,
    }
    if roles is not None:
        claims["roles"] = roles
    with pytest.raises(InvalidToken):
        ISSUER.verify(jwt.encode(claims, "s" * 40, algorithm="HS256"))


def test_admin_is_the_admin_role_and_nothing_else() -> None:
    assert ISSUER.verify(ISSUER.issue("ops", ["admin"], NOW)).is_admin
    assert not ISSUER.verify(ISSUER.issue("c1", ["customer"], NOW)).is_admin


def test_a_token_may_live_a_day_at_most() -> None:
    day = TokenIssuer("s" * 40, "customer-service", "shop", timedelta(hours=24))
    longer = TokenIssuer("s" * 40, "customer-service", "shop", timedelta(hours=24, minutes=1))
    assert ISSUER.verify(day.issue("c1", ["customer"], NOW)).subject == "c1"
    with pytest.raises(InvalidToken):
        ISSUER.verify(longer.issue("c1", ["customer"], NOW))
