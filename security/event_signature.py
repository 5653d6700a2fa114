"""Signatures on the events this service publishes, checked by its projector.

Anything that can publish on the topic could otherwise write the read model.
The signature covers the event type and a canonical form of the parsed
``data`` without the signature field. daprd re-encodes event JSON on the way
(sorted keys, ``<>&`` escaped, ``1.0`` written ``1``), so the form is built
from the parsed value, not from the bytes: keys sorted, ASCII escapes, and
every number as Go writes the float64 it decodes. Input validation keeps
numbers within 2**53, where that float64 is exact.
"""

from __future__ import annotations

import json
from typing import Any

from security.macs import MacKeyring, framed

FIELD = "signature"
_DOMAIN = "customer-service/event/v1"
MAX_EXACT_INTEGER = 2**53
# encoding/json writes floats of magnitude below 1e21 in plain notation.
GO_PLAIN_LIMIT = 1e21


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        # As Go writes a float64: integral values below 1e21 without a fraction
        # or exponent, everything else as the nearest double.
        number = float(value)
        if number.is_integer() and abs(number) < GO_PLAIN_LIMIT:
            return int(number)
        return number
    return value


def canonical(data: Any) -> bytes:
    text = json.dumps(_normalized(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode()


def _message(event_type: str, data: dict[str, Any]) -> bytes:
    unsigned = {key: value for key, value in data.items() if key != FIELD}
    return framed(_DOMAIN, event_type, canonical(unsigned))


def signed(keys: MacKeyring, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its signature added."""
    return {**data, FIELD: keys.sign(_message(event_type, data))}


def is_authentic(keys: MacKeyring, event_type: str, data: object) -> bool:
    if not isinstance(data, dict):
        return False
    signature = data.get(FIELD)
    if not isinstance(signature, str):
        return False
    try:
        message = _message(event_type, data)
    except (TypeError, ValueError):
        return False
    return keys.verify(message, signature)
