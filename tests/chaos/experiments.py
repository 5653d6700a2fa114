"""The experiments: load, one fault in the middle of it, settle, check the truth.

``make chaos`` runs :data:`FULL` (each on a fresh durable stack); the short
variant in ``make test`` runs :data:`SHORT` (both on one stack). Both go
through :func:`run_experiment`, so the checks are the same.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections import Counter
from collections.abc import Callable

from tests.chaos.load import ACKED, CREATE, LoadPlan, Write, run_load
from tests.chaos.stack import ChaosStack
from tests.chaos.truth import (
    Findings,
    StreamEvent,
    default_address_violations,
    duplicate_customers,
    event_coverage,
    first_publications,
    lost_writes,
    outbox_markers,
    percentile,
    phantom_events,
    publish_delay,
    read_model_lagging,
    read_model_versions,
    refused_writes_that_landed,
    stored_documents,
    stream_events,
)

READ_MODEL_LIMIT = 60.0  # s after the load ends
SIDECAR_DEATH_P99_LIMIT = 15.0  # s, publish delay
LATE_EVENT = 5.0  # s: a publish delay the report lists


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    # Blocking: injects the fault and returns once the broken part is back.
    fault: Callable[[ChaosStack], None]
    replicas: int = 1
    load_seconds: float = 30.0
    fault_after: float = 8.0
    clients: int = 12
    # A sidecar dies: p99 publish delay must stay under SIDECAR_DEATH_P99_LIMIT.
    sidecar_death: bool = False
    # Writes started after recovery: the first must succeed within this (s).
    first_write_limit: float | None = None
    # Every committed version needs its own change event (a resynced snapshot
    # of the reconciler does not do).
    strict_events: bool = False
    # How long the settling may take (read model, late events) after the load.
    settle_seconds: float = READ_MODEL_LIMIT
    write_deadline: float = 60.0


@dataclasses.dataclass
class Result:
    experiment: Experiment
    writes: list[Write]
    fault_at: float  # s after the load started
    recovered_at: float  # s after the load started
    load_ended_at: float  # s after the load started (all writes settled)
    lost: Findings
    phantom: Findings
    missing: Findings
    resync_covered: Findings
    duplicate_events: int
    duplicates: Findings
    invariant: Findings
    read_model_after: float | None  # s after the load ended; None: not converged
    read_model_lagging: list[str]
    delays: list[float]
    # Events published more than LATE_EVENT s after they occurred: (occurred,
    # appended) in s after the load started.
    late: list[tuple[float, float]]
    first_write_after: float | None
    # The longest time no write was acknowledged: (from, to), s after the load started.
    longest_stall: tuple[float, float]
    # Outbox markers still in the state table after settling (see truth.py).
    markers_left: int
    events: int
    errors: Counter[str]
    failures: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # the experiment's wall time (without starting the stack)

    @classmethod
    def not_run(cls, experiment: Experiment, reason: str) -> Result:
        """An experiment that could not run (its stack did not start)."""
        return cls(
            experiment=experiment,
            writes=[],
            fault_at=0.0,
            recovered_at=0.0,
            load_ended_at=0.0,
            lost=Findings(),
            phantom=Findings(),
            missing=Findings(),
            resync_covered=Findings(),
            duplicate_events=0,
            duplicates=Findings(),
            invariant=Findings(),
            read_model_after=None,
            read_model_lagging=[],
            delays=[],
            late=[],
            first_write_after=None,
            longest_stall=(0.0, 0.0),
            markers_left=0,
            events=0,
            errors=Counter(),
            failures=[reason],
        )

    @property
    def passed(self) -> bool:
        return not self.failures

    def count(self, outcome: str) -> int:
        return sum(1 for write in self.writes if write.outcome == outcome)

    def delay(self, fraction: float) -> float | None:
        return percentile(self.delays, fraction)


async def run_experiment(
    stack: ChaosStack, experiment: Experiment, tag: str, others: set[str] | None = None
) -> Result:
    """Run ``experiment`` on ``stack`` (already started). ``others``: customer ids of
    earlier experiments on the same stack, whose events and documents are theirs."""
    began = time.time()
    writes: list[Write] = []
    plan = LoadPlan(
        tag=tag,
        clients=experiment.clients,
        seconds=experiment.load_seconds,
        write_deadline=experiment.write_deadline,
    )
    fault_error = None
    load = asyncio.create_task(run_load(stack.urls, plan, writes))
    try:
        await asyncio.sleep(experiment.fault_after)
        fault_at = time.time()
        try:
            await asyncio.to_thread(experiment.fault, stack)
        except Exception as exc:  # the experiment fails; its truth is still checked
            fault_error = f"the fault or the recovery failed: {type(exc).__name__}: {exc}"
        recovered_at = time.time()
        await load
    finally:
        if not load.done():
            load.cancel()
    load_ended = time.time()

    ours = {write.customer_id for write in writes if write.kind == CREATE}
    theirs = others or set()
    settled = await _settle(stack, experiment, ours, load_ended)
    documents, versions, events, read_model_after = settled

    # Events of this experiment's customers, and of customers nobody created.
    mine = [e for e in events if e.customer_id in ours or e.customer_id not in theirs]
    coverage = event_coverage(mine, documents, ours)
    # A refusal that left something behind breaks "nothing is half-written".
    invariant = default_address_violations(documents).merge(
        refused_writes_that_landed(writes, documents)
    )
    first_write = _first_write_after(writes, recovered_at)
    published = first_publications(e for e in mine if e.customer_id in ours)
    result = Result(
        experiment=experiment,
        writes=writes,
        fault_at=fault_at - began,
        recovered_at=recovered_at - began,
        load_ended_at=load_ended - began,
        lost=lost_writes(writes, documents),
        phantom=phantom_events(mine, documents),
        missing=coverage.missing,
        resync_covered=coverage.resync_covered,
        duplicate_events=coverage.duplicates,
        duplicates=duplicate_customers(documents),
        invariant=invariant,
        read_model_after=read_model_after,
        read_model_lagging=read_model_lagging(versions, documents, ours),
        delays=[publish_delay(e) for e in published],
        late=[
            (e.occurred_at - began, e.appended_at - began)
            for e in published
            if e.occurred_at is not None and publish_delay(e) > LATE_EVENT
        ],
        first_write_after=first_write,
        longest_stall=_longest_stall(writes, began, load_ended),
        markers_left=await outbox_markers(stack.dsn),
        events=len(mine),
        errors=Counter(error for write in writes for error in write.errors),
    )
    result.failures = _judge(result)
    if fault_error is not None:
        result.failures.insert(0, fault_error[:500])
    result.seconds = time.time() - began
    return result


async def _settle(
    stack: ChaosStack, experiment: Experiment, ours: set[str], load_ended: float
) -> tuple[dict[str, dict[str, object]], dict[str, int], list[StreamEvent], float | None]:
    """Poll until the read model holds every stored version and every version has
    its event, or the settling time is over; the last reading of each."""
    deadline = load_ended + experiment.settle_seconds
    converged_after: float | None = None
    while True:
        documents = await stored_documents(stack.dsn)
        versions = await read_model_versions(stack.dsn)
        events = await stream_events(stack.redis.address, stack.redis_password)
        if converged_after is None and not read_model_lagging(versions, documents, ours):
            converged_after = time.time() - load_ended
        coverage = event_coverage(events, documents, ours)
        complete = not coverage.missing.count and not coverage.resync_covered.count
        if (converged_after is not None and complete) or time.time() > deadline:
            return documents, versions, events, converged_after
        await asyncio.sleep(1.0)


def _first_write_after(writes: list[Write], recovered_at: float) -> float | None:
    """From recovery to the first acknowledgement of a write started after it."""
    acked = [
        w.acked_at - recovered_at
        for w in writes
        if w.outcome == ACKED and w.acked_at is not None and w.started >= recovered_at
    ]
    return min(acked) if acked else None


def _longest_stall(writes: list[Write], began: float, ended: float) -> tuple[float, float]:
    acks = sorted(w.acked_at for w in writes if w.acked_at is not None)
    moments = [began, *acks, ended]
    start, end = max(itertools.pairwise(moments), key=lambda gap: gap[1] - gap[0])
    return start - began, end - began


def _judge(result: Result) -> list[str]:
    experiment = result.experiment
    failures = []
    if result.count(ACKED) == 0:
        failures.append("no write was acknowledged")
    for name, findings in (
        ("lost acknowledged writes", result.lost),
        ("phantom events", result.phantom),
        ("missing events", result.missing),
        ("duplicate customers", result.duplicates),
        ("invariant violations", result.invariant),
    ):
        if findings.count:
            failures.append(f"{findings.count} {name}")
    if experiment.strict_events and result.resync_covered.count:
        failures.append(
            f"{result.resync_covered.count} versions have no change event "
            "(only the reconciler's resynced snapshot)"
        )
    if result.read_model_after is None or result.read_model_after > READ_MODEL_LIMIT:
        failures.append(
            f"read model not converged within {experiment.settle_seconds:.0f} s "
            f"({len(result.read_model_lagging)} customers behind)"
        )
    p99 = result.delay(0.99)
    if experiment.sidecar_death and (p99 is None or p99 >= SIDECAR_DEATH_P99_LIMIT):
        failures.append(f"p99 publish delay {p99} s, limit {SIDECAR_DEATH_P99_LIMIT:.0f} s")
    limit = experiment.first_write_limit
    if limit is not None and (result.first_write_after is None or result.first_write_after > limit):
        failures.append(f"first write after recovery {result.first_write_after} s, limit {limit} s")
    return failures


# -- the experiments ---------------------------------------------------------------------


def _kill_app(stack: ChaosStack) -> None:
    stack.kill_app(0, down=2.0)


def _kill_sidecar(stack: ChaosStack) -> None:
    stack.kill_sidecar(0, down=2.0)


def _postgres_blip(stack: ChaosStack) -> None:
    stack.restart_postgres(down=0.2)


def _postgres_down(stack: ChaosStack) -> None:
    stack.restart_postgres(down=15.0)


def _redis_pause(stack: ChaosStack) -> None:
    stack.pause_redis(5.0)


def _kill_replica(stack: ChaosStack) -> None:
    stack.kill_replica(1, down=10.0)


def _redis_outage(stack: ChaosStack) -> None:
    stack.restart_redis(down=1.0)


APP_KILL = Experiment(
    "app-kill", "API process SIGKILLed, restarted 2 s later", _kill_app, sidecar_death=False
)
SIDECAR_KILL = Experiment(
    "daprd-kill", "daprd SIGKILLed, restarted 2 s later", _kill_sidecar, sidecar_death=True
)
REDIS_OUTAGE = Experiment(
    "redis-1s",
    "Redis stopped for 1 s",
    _redis_outage,
    first_write_limit=2.0,
    strict_events=True,
)
FULL = (
    APP_KILL,
    SIDECAR_KILL,
    Experiment("postgres-blip", "Postgres stopped, started 0.2 s later", _postgres_blip),
    Experiment(
        "postgres-15s",
        "Postgres stopped for 15 s",
        _postgres_down,
        load_seconds=40.0,
    ),
    Experiment("redis-pause", "Redis paused (SIGSTOP) for 5 s", _redis_pause),
    Experiment(
        "replica-kill",
        "2 replicas; one (API, worker, daprd) SIGKILLed, back 10 s later",
        _kill_replica,
        replicas=2,
        load_seconds=35.0,
        sidecar_death=True,
    ),
    REDIS_OUTAGE,
)
# make test: both kills on one stack, bounded to ~2 minutes with the stack's start.
SHORT = (
    dataclasses.replace(
        APP_KILL, load_seconds=18.0, fault_after=5.0, clients=8, settle_seconds=30.0,
        write_deadline=30.0,
    ),
    dataclasses.replace(
        SIDECAR_KILL, load_seconds=18.0, fault_after=5.0, clients=8, settle_seconds=40.0,
        write_deadline=30.0,
    ),
)  # fmt: skip
# make test: the outbox's guarantee through a 1 s Redis outage, on a stack of its own.
SHORT_REDIS = (
    dataclasses.replace(
        REDIS_OUTAGE, load_seconds=15.0, fault_after=5.0, clients=8, settle_seconds=30.0,
        write_deadline=30.0,
    ),
)  # fmt: skip
