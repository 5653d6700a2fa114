"""The fault suite's short variants (``make chaos`` runs the whole of it).

On durable stacks of their own: the API process SIGKILLed mid-load and
restarted, then daprd SIGKILLed mid-load and restarted; and Redis stopped for
1 s; each under retrying clients, with the same experiment code and checks as
``make chaos``: no lost acknowledged write, no phantom or missing event, one
live customer per email, the default-address invariant, the read model
converged, p99 publish delay after the sidecar's death under 15 s. About 2
minutes each with the stack's start.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.chaos.experiments import SHORT, SHORT_REDIS, Experiment
from tests.chaos.report import details, table
from tests.chaos.suite import run_on_one_stack


def run_short(experiments: tuple[Experiment, ...], root: Path) -> None:
    started = time.monotonic()
    results = run_on_one_stack(experiments, root)
    elapsed = time.monotonic() - started
    report = f"{table(results)}\n\n{details(results)}\n({elapsed:.0f} s with the stack's start)"
    print(report)
    assert all(result.passed for result in results), report


def test_app_and_sidecar_kills_under_load(tmp_path: Path) -> None:
    run_short(SHORT, tmp_path / "chaos")


def test_a_one_second_redis_outage_loses_no_event_and_stalls_no_write(tmp_path: Path) -> None:
    """Every committed version's own event (no resynced snapshot standing in), and the
    first write started after Redis is back succeeds within 2 s."""
    run_short(SHORT_REDIS, tmp_path / "chaos-redis")
