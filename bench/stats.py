"""Percentiles and the report table."""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True, slots=True)
class Seed:
    """The seed specification's figures: P95 latency and throughput target."""

    p95_ms: float | None
    throughput: float | None


@dataclasses.dataclass
class PhaseResult:
    name: str
    latencies: list[float]  # seconds, successful requests only
    errors: int
    elapsed: float
    # % of one core per process role during the phase (empty: not measured).
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.1f}{unit}"


CPU_ROLES = ("api", "worker", "daprd", "postgres", "redis", "load generator")


def report(results: list[PhaseResult], seeds: dict[str, Seed], concurrency: int) -> str:
    header = (
        f"{'phase':<16}{'requests':>9}{'errors':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'req/s':>9}   {'seed p95':>9}{'seed req/s':>11}"
    )
    lines = [f"concurrency {concurrency}", header, "-" * len(header)]
    for result in results:
        seed = seeds.get(result.name, Seed(None, None))
        lines.append(
            f"{result.name:<16}{len(result.latencies):>9}{result.errors:>7}"
            f"{_fmt(result.percentile(50)):>9}{_fmt(result.percentile(95)):>9}"
            f"{_fmt(result.percentile(99)):>9}{_fmt(result.throughput):>9}"
            f"   {_fmt(seed.p95_ms, ' ms'):>9}{_fmt(seed.throughput, '/s'):>11}"
        )
    measured = [result for result in results if result.cpu]
    if measured:
        lines += ["", "CPU, % of one core (2 cores = 200 %)"]
        cpu_header = (
            f"{'phase':<16}"
            + "".join(f"{role:>15}" for role in CPU_ROLES)
            + f"{'other':>8}{'elsewhere':>11}"
        )
        lines += [cpu_header, "-" * len(cpu_header)]
        for result in measured:
            other = sum(v for k, v in result.cpu.items() if k not in (*CPU_ROLES, "elsewhere"))
            lines.append(
                f"{result.name:<16}"
                + "".join(f"{result.cpu.get(role, 0.0):>15.0f}" for role in CPU_ROLES)
                + f"{other:>8.0f}{result.cpu.get('elsewhere', 0.0):>11.0f}"
            )
    return "\n".join(lines)
