"""Inputs an attacker (or a careless client) sends, shared by the hygiene tests
and the fuzz run: control characters, deep nesting, huge bodies, extreme
moments, forged cursors, other spellings of an email."""

from __future__ import annotations

import base64
import json
import unicodedata
from typing import Any

import httpx

NUL = "\x00"
# One of each kind the service refuses in text: NUL, other C0, DEL, C1, a lone surrogate.
CONTROL_CHARACTERS = ("\x00", "\x01", "\x1b", "\x7f", "\x85", "\ud800")
EXTREME_MOMENTS = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "1899-12-31T23:59:59Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "2200-01-01T00:00:00Z",
)
EXTREME_DAYS = ("0001-01-01", "1899-12-31", "9999-12-31")


def nested(depth: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` with ``depth`` objects."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_json(depth: int, field: str) -> bytes:
    """``{"<field>": {"a": {"a": ... 1}}}`` as bytes, for depths a JSON encoder refuses."""
    return (f'{{"{field}":' + '{"a":' * depth + "1" + "}" * depth + "}").encode()


def nested_lists(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def forged_cursor(parts: Any) -> str:
    """A cursor as the service encodes them (base64url JSON), holding anything."""
    raw = json.dumps(parts, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED_CURSORS = (
    forged_cursor(["created_at", "2026-01-01T00:00:00+00:00", 123]),
    forged_cursor(["created_at", "2026-01-01T00:00:00+00:00", None]),
    forged_cursor(
        ["created_at", "0001-01-01T00:00:00+14:00", "6f1c7a52-1d8e-4b8e-9c1a-3e0f4d2b7a10"]
    ),
    forged_cursor(
        ["created_at", "9999-12-31T23:59:59-14:00", "6f1c7a52-1d8e-4b8e-9c1a-3e0f4d2b7a10"]
    ),
    forged_cursor(["name", "a\x00b", "6f1c7a52-1d8e-4b8e-9c1a-3e0f4d2b7a10"]),
    forged_cursor(["created_at", {"a": 1}, "6f1c7a52-1d8e-4b8e-9c1a-3e0f4d2b7a10"]),
    forged_cursor(["created_at", "2026-01-01T00:00:00+00:00"]),
    forged_cursor({"sort": "created_at"}),
    forged_cursor(nested_lists(200)),
    "%00",
    "ä",
    "=",
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def problem_fields(response: httpx.Response) -> set[str]:
    """The fields a problem document names in its ``errors``."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {str(error["field"]) for error in response.json().get("errors", [])}
