"""The access line of each request, written straight to the log's stream.

Every request logs one line. Through structlog's processor chain and the
standard library's handler a line costs about 40 µs, most of it spent on what
an access line never needs (redacting keys that cannot hold a secret,
rendering exceptions): a few percent of a core at a thousand requests a
second. This writes the same JSON shape (level, time, logger, message, trace
id) in about a quarter of that, under the handler's lock, so lines never
interleave with the others.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from observability.logging import add_trace_id


class AccessLog:
    def __init__(self, name: str) -> None:
        self._name = name
        self._logger = logging.getLogger(name)

    def write(self, fields: dict[str, Any]) -> None:
        if not self._logger.isEnabledFor(logging.INFO):
            return
        line = {
            **fields,
            "level": "info",
            "logger": self._name,
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        add_trace_id(None, "info", line)
        line["message"] = "request"
        text = json.dumps(line) + "\n"
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.acquire()
                try:
                    handler.stream.write(text)
                    handler.stream.flush()
                except (OSError, ValueError):  # a closed or full stream: as logging does
                    handler.handleError(logging.makeLogRecord({"msg": "request"}))
                finally:
                    handler.release()
