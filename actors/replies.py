"""What actor methods return: plain JSON, never an exception.

The FastAPI actor host turns any exception into a 500 carrying ``repr(ex)``,
so expected refusals travel as values and the caller maps their ``code``.
"""

from __future__ import annotations

from typing import Any


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def refused(
    code: str, detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "detail": detail, **extra}
    if errors:
        error["errors"] = errors
    return {"ok": False, "error": error}
