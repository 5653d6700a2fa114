"""A short fuzz run inside the suite (``make fuzz`` runs the long one): requests
generated from the OpenAPI document, made hostile, with an admin's and a
customer's token; no answer may be a server error."""

from __future__ import annotations

import os

from devstack.stack import App
from tests.fuzz.engine import prepare_target, run
from tests.integration.conftest import admin_token, customer_token

REQUESTS = int(os.environ.get("FUZZ_QUICK_REQUESTS", "300"))


def test_a_short_fuzz_run_gets_no_server_error(customer_service: App) -> None:
    target = prepare_target(customer_service.app_url, admin_token(), customer_token)

    tally = run(target, budget=REQUESTS, seed=2)

    print(f"\nfuzz: {tally.summary()}")
    assert tally.requests >= REQUESTS * 0.5
    assert tally.failures == [], "\n".join(tally.failures[:20])
