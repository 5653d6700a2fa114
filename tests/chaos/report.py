"""One table for every experiment, then what lies behind each number that failed."""

from __future__ import annotations

from collections.abc import Sequence

from tests.chaos.experiments import LATE_EVENT, Result
from tests.chaos.load import ACKED, GAVE_UP, REFUSED

COLUMNS = (
    "experiment",
    "writes att/ack",
    "lost",
    "phantom",
    "missing",
    "dup cust",
    "inv viol",
    "read model (s)",
    "delay p50/p99/max (s)",
    "1st write (s)",
    "result",
)


def _seconds(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def row(result: Result) -> list[str]:
    missing = str(result.missing.count)
    if result.resync_covered.count:
        missing += f" (+{result.resync_covered.count} resync)"
    delays = "/".join(_seconds(result.delay(f)) for f in (0.5, 0.99, 1.0))
    return [
        result.experiment.name,
        f"{len(result.writes)}/{result.count(ACKED)}",
        str(result.lost.count),
        str(result.phantom.count),
        missing,
        str(result.duplicates.count),
        str(result.invariant.count),
        _seconds(result.read_model_after),
        delays,
        _seconds(result.first_write_after, 2),
        "pass" if result.passed else "FAIL",
    ]


def table(results: Sequence[Result]) -> str:
    rows = [list(COLUMNS), *(row(result) for result in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def details(results: Sequence[Result]) -> str:
    out = []
    for result in results:
        experiment = result.experiment
        out.append(
            f"{experiment.name}: {experiment.title}; {experiment.clients} clients, "
            f"{experiment.replicas} replica(s); fault at {result.fault_at:.1f} s, back at "
            f"{result.recovered_at:.1f} s, writes settled at {result.load_ended_at:.1f} s, "
            f"{result.seconds:.0f} s in all"
        )
        out.append(
            f"  writes: {result.count(ACKED)} acknowledged, {result.count(REFUSED)} refused "
            f"(4xx), {result.count(GAVE_UP)} given up; events read: {result.events}, "
            f"duplicate change events: {result.duplicate_events}"
        )
        stall_from, stall_to = result.longest_stall
        out.append(
            f"  longest time without an acknowledged write: {stall_to - stall_from:.1f} s "
            f"({stall_from:.1f}-{stall_to:.1f} s)"
        )
        if result.markers_left:
            out.append(
                f"  outbox markers left in dapr_state: {result.markers_left} (events the "
                "outbox discarded after their commit, or published without deleting the marker)"
            )
        if result.late:
            occurred = [o for o, _ in result.late]
            appended = [a for _, a in result.late]
            delays = [a - o for o, a in result.late]
            out.append(
                f"  late events (publish delay > {LATE_EVENT:.0f} s): {len(result.late)} of "
                f"{len(result.delays)}, {min(delays):.1f}-{max(delays):.1f} s; they occurred "
                f"at {min(occurred):.1f}-{max(occurred):.1f} s and were published at "
                f"{min(appended):.1f}-{max(appended):.1f} s"
            )
        refusals = sorted(
            {f"{w.status} {w.problem}" for w in result.writes if w.outcome == REFUSED}
        )
        if refusals:
            out.append(f"  refusals: {', '.join(refusals)}")
        if result.errors:
            common = ", ".join(f"{kind} x{n}" for kind, n in result.errors.most_common(6))
            out.append(f"  failed attempts (retried): {common}")
        if result.resync_covered.count:
            out.append(
                f"  versions whose only event is the reconciler's customer.resynced: "
                f"{result.resync_covered.count}: {'; '.join(result.resync_covered.cases)}"
            )
        for name, findings in (
            ("lost", result.lost),
            ("phantom", result.phantom),
            ("missing", result.missing),
            ("duplicate customers", result.duplicates),
            ("invariant", result.invariant),
        ):
            if findings.count:
                out.append(f"  {name} ({findings.count}): {'; '.join(findings.cases)}")
        if result.read_model_lagging:
            out.append(f"  read model behind: {'; '.join(result.read_model_lagging[:8])}")
        for failure in result.failures:
            out.append(f"  FAILED: {failure}")
    return "\n".join(out)
