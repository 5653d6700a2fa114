"""``python -m service``: validate the configuration, then serve with uvicorn.

``CUSTOMER_HTTP_WORKERS`` processes serve the one port daprd delivers to (its
app port) and callers reach directly: every process is the whole app (the
API, and the actor host for the sidecar's actor calls), so the API runs on
every core whichever way a call arrives: straight from a client, or through
Dapr service invocation. Actors can live in several processes behind one
sidecar because they keep nothing between calls (actors/hosting.py): daprd
runs one call per actor at a time, whichever process takes it.

With more than one process, this one is uvicorn's supervisor (PID 1 in the
container): it restarts a worker that dies, and SIGTERM stops every worker,
each letting its in-flight requests finish (up to 30 s) and running its
lifespan shutdown. A worker dies with the supervisor (service/workers.py).
"""

from __future__ import annotations

import sys

import uvicorn

from observability.logging import configure_logging
from service.settings import ConfigurationError, load_settings

EXIT_BAD_CONFIGURATION = 78  # EX_CONFIG


def main() -> int:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(f"customer-service: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION
    configure_logging(settings.log_level)
    uvicorn.run(
        "service.workers:app_in_worker",
        factory=True,
        workers=settings.http_workers,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the JSON logging configured above
        log_level=settings.log_level,
        access_log=False,  # the middleware logs each request with its trace id
        timeout_graceful_shutdown=30,
        # Longer than daprd keeps an idle connection to the app (Go's 90 s), so
        # daprd always closes first and never reuses one this side just closed.
        timeout_keep_alive=settings.http_keepalive_seconds,
        server_header=False,
        # uvicorn would take the client's address from X-Forwarded-For of any
        # request from 127.0.0.1, and everything daprd delivers comes from there:
        # the gate decides whose forwarded address is believed (service/origin.py).
        proxy_headers=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
