"""``python -m service.admin_token``: mint an admin access token for an operator.

It signs with the configured ``CUSTOMER_JWT_SECRET`` (run it where the service's
configuration is, e.g. ``kubectl exec``); the token is printed, never logged.
Normally admin tokens come from the platform's auth service, which shares the
secret; this is for operators and break-glass access.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from security.access_tokens import ADMIN, TokenIssuer
from service.settings import ConfigurationError, load_settings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m service.admin_token")
    parser.add_argument("--subject", required=True, help="who the token is for (audit trail)")
    parser.add_argument("--minutes", type=int, default=60, help="lifetime (max 1440)")
    args = parser.parse_args()
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 78
    minutes = max(1, min(args.minutes, 1440))
    issuer = TokenIssuer(
        settings.signing_secret(),
        settings.jwt_issuer,
        settings.jwt_audience,
        timedelta(minutes=minutes),
    )
    print(issuer.issue(args.subject, [ADMIN], datetime.now(UTC)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
