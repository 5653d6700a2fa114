"""Running experiments on durable stacks: each on its own, or several on one."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devstack.processes import StartupError
from tests.chaos.experiments import Experiment, Result, run_experiment
from tests.chaos.load import CREATE
from tests.chaos.stack import ChaosStack


def say(message: str) -> None:
    print(f"chaos: {message}", file=sys.stderr, flush=True)


def run_each_on_own_stack(experiments: Sequence[Experiment], root: Path) -> list[Result]:
    """A fresh stack per experiment: no fault or leftover of one reaches the next."""
    results = []
    for experiment in experiments:
        results += run_on_one_stack([experiment], root / experiment.name)
    return results


def run_on_one_stack(experiments: Sequence[Experiment], root: Path) -> list[Result]:
    """Start one stack (replicas: the most any experiment needs), run each, stop it."""
    run = secrets.token_hex(3)
    stack = ChaosStack.create(root)
    results: list[Result] = []
    try:
        started = time.monotonic()
        try:
            stack.start(replicas=max(e.replicas for e in experiments))
        except StartupError as exc:
            say(f"the stack did not start: {exc}")
            return [Result.not_run(e, f"the stack did not start: {exc}"[:500]) for e in experiments]
        say(f"stack up in {time.monotonic() - started:.1f} s (logs: {root / 'logs'})")
        seen: set[str] = set()
        for experiment in experiments:
            say(f"{experiment.name}: {experiment.title}")
            result = asyncio.run(
                run_experiment(stack, experiment, f"{run}-{experiment.name}", seen)
            )
            seen |= {w.customer_id for w in result.writes if w.kind == CREATE}
            verdict = "pass" if result.passed else "FAIL: " + "; ".join(result.failures)
            say(f"{experiment.name}: {verdict} ({result.seconds:.0f} s)")
            results.append(result)
    finally:
        stack.stop()
    return results
