"""Where the CPU went during a phase: each process's share, from /proc.

Every process the bench started is a descendant of it; each is named by its
role (the API, the worker, daprd, Postgres with all its backends, Redis,
placement) and the load generator is the bench process itself. Driving a
stack it did not start (``--url``), the bench samples every process of the
machine by the same roles, so anything else running shows in the figures.
On its own stack, ``elsewhere`` is what the rest of the machine used meanwhile.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_INIT = 1
_sampled_root: int | None = None  # None: the bench's own process tree


def sample_whole_machine() -> None:
    global _sampled_root
    _sampled_root = _INIT


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


def _tree(root: int) -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, ticks) for ``root`` and every process below it."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    below, frontier = {root}, {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier} - below
        below |= frontier
    return {pid: stats[pid] for pid in below if pid in stats}


def _roles(root: int, tree: dict[int, tuple[int, int]]) -> dict[int, str]:
    """Each process's role; a process with none of its own (a worker process
    of the API's supervisor) takes its parent's."""
    roles: dict[int, str] = {}

    def of(pid: int) -> str:
        if pid not in roles:
            own = "load generator" if pid == os.getpid() else role(_cmdline(pid))
            parent = tree[pid][0] if pid in tree else None
            if own == "other" and parent in tree and parent not in (root, os.getpid()):
                own = of(parent)
            roles[pid] = own
        return roles[pid]

    for pid in tree:
        of(pid)
    return roles


class CpuSampler:
    """CPU seconds per role between ``start()`` and ``stop()``, as % of one core."""

    def __init__(self, root: int | None = None) -> None:
        self._root = root or _sampled_root or os.getpid()
        self._before: dict[int, tuple[int, int]] = {}
        self._machine_before = 0
        self._started = 0.0

    def start(self) -> None:
        self._before = _tree(self._root)
        self._machine_before = _machine_ticks()
        self._started = time.monotonic()

    def stop(self) -> dict[str, float]:
        after = _tree(self._root)
        elapsed = max(time.monotonic() - self._started, 1e-9)
        roles = _roles(self._root, after)
        shares: dict[str, float] = defaultdict(float)
        for pid, (_, ticks) in after.items():
            used = ticks - self._before.get(pid, (0, 0))[1]
            shares[roles[pid]] += 100.0 * used / _TICKS / elapsed
        # What the machine spent outside the sampled processes (another job
        # running beside the bench): it competed for the same two cores.
        machine = 100.0 * (_machine_ticks() - self._machine_before) / _TICKS / elapsed
        shares["elsewhere"] = max(0.0, machine - sum(shares.values()))
        return dict(shares)


def _machine_ticks() -> int:
    """Busy ticks of every CPU since boot (all but idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal
