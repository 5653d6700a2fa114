"""``python -m service``: serve the app with uvicorn on CUSTOMER_HTTP_HOST:PORT."""

from __future__ import annotations

import logging

import uvicorn

from service.app import create_app
from service.settings import get_settings


def main() -> None:
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
