"""``make fuzz``: the full fuzz run (FUZZ_REQUESTS, default 2,500 requests).

Not collected by ``make test`` (its name is not ``test_*.py``); the suite runs
a short variant instead (tests/integration/test_fuzz_quick.py). Run it alone:
``.venv/bin/python -m pytest tests/fuzz/fuzz_api.py -s``; FUZZ_SEED picks
another sequence of inputs.
"""

from __future__ import annotations

import os

from devstack.stack import App
from tests.fuzz.engine import prepare_target, run
from tests.integration.conftest import admin_token, customer_token

REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "2500"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))


def test_thousands_of_generated_and_hostile_requests_get_no_server_error(
    customer_service: App,
) -> None:
    target = prepare_target(customer_service.app_url, admin_token(), customer_token)

    tally = run(target, budget=REQUESTS, seed=SEED)

    print(f"\nfuzz (seed {SEED}): {tally.summary()}")
    for failure in tally.failures[:50]:
        print("  " + failure)
    assert tally.requests >= REQUESTS * 0.8
    assert tally.failures == []
