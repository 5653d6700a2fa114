"""``python -m worker``: the worker process of a replica (see worker/__init__.py)."""

from __future__ import annotations

import asyncio
import sys

from observability.logging import configure_logging
from service.settings import ConfigurationError, load_settings
from worker.app import install_signal_handlers, run

EXIT_BAD_CONFIGURATION = 78  # EX_CONFIG


async def _main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await run(settings, stop)


def main() -> int:
    try:
        asyncio.run(_main())
    except ConfigurationError as exc:
        print(f"customer-service worker: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    return 0


if __name__ == "__main__":
    sys.exit(main())
