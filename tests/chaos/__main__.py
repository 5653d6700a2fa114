"""``python -m tests.chaos`` (``make chaos``): the fault suite on durable stacks.

Seven experiments, each on a fresh stack of its own (Postgres with fsync,
Redis with appendfsync always, placement, the service with its worker and
daprd), loopback only, under load from retrying clients; one table at the
end; exit status 1 if any check failed. ``--only NAME`` runs some of them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from tests.chaos.experiments import FULL
from tests.chaos.report import details, table
from tests.chaos.suite import run_each_on_own_stack, say


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwinds through every try/finally: each stack stops its processes.
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos")
    names = [experiment.name for experiment in FULL]
    parser.add_argument("--only", action="append", choices=names, help="run only these")
    parser.add_argument("--root", type=Path, help="folder for logs (default: a new temp folder)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    chosen = [e for e in FULL if not args.only or e.name in args.only]
    root = args.root or Path(tempfile.mkdtemp(prefix="customer-service-chaos-"))
    started = time.monotonic()
    results = run_each_on_own_stack(chosen, root)
    print(table(results))
    print()
    print(details(results))
    say(f"{len(results)} experiments in {time.monotonic() - started:.0f} s; logs in {root}")
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
