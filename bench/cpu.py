"""Where the CPU went during a phase: each process's share, from /proc.

Every process the bench started is a descendant of it; each is named by its
role (the API, the worker, daprd, Postgres with all its backends, Redis,
placement) and the load generator is the bench process itself.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system ticks), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def role(command: str) -> str:
    if "daprd" in command:
        return "daprd"
    if "placement" in command:
        return "placement"
    if "postgres" in command:
        return "postgres"
    if "redis-server" in command:
        return "redis"
    if "-m worker" in command:
        return "worker"
    if "-m service" in command:
        return "api"
    if "bench.baseline" in command:
        return "baseline"
    return "other"


def _tree(root: int) -> dict[int, int]:
    """pid -> ticks for ``root`` and every process below it."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    below, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier} - below
        below |= frontier
    return {pid: stats[pid][1] for pid in below if pid in stats}


class CpuSampler:
    """CPU seconds per role between ``start()`` and ``stop()``, as % of one core."""

    def __init__(self, root: int | None = None) -> None:
        self._root = root or os.getpid()
        self._before: dict[int, int] = {}
        self._started = 0.0

    def start(self) -> None:
        self._before = _tree(self._root)
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        after = _tree(self._root)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        shares: dict[str, float] = defaultdict(float)
        for pid, ticks in after.items():
            used = ticks - self._before.get(pid, 0)
            name = "load generator" if pid == self._root else role(_cmdline(pid))
            shares[name] += 100.0 * used / _TICKS / elapsed
        return dict(shares)
