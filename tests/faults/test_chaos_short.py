"""The fault suite's short variant (``make chaos`` runs the whole of it).

On a durable stack of its own: the API process SIGKILLed mid-load and
restarted, then daprd SIGKILLed mid-load and restarted, each under retrying
clients, with the same experiment code and checks as ``make chaos``: no lost
acknowledged write, no phantom or missing event, one live customer per email,
the default-address invariant, the read model converged, p99 publish delay
after the sidecar's death under 15 s. About 2 minutes with the stack's start.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.chaos.experiments import SHORT
from tests.chaos.report import details, table
from tests.chaos.suite import run_on_one_stack


def test_app_and_sidecar_kills_under_load(tmp_path: Path) -> None:
    started = time.monotonic()
    results = run_on_one_stack(SHORT, tmp_path / "chaos")
    elapsed = time.monotonic() - started
    report = f"{table(results)}\n\n{details(results)}\n({elapsed:.0f} s with the stack's start)"
    print(report)
    assert all(result.passed for result in results), report
