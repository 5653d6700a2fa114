"""Plain JSON for actor calls.

The SDK's default serializer turns every string that starts like a date into
a ``datetime`` (a first name "2020-01-01 Ltd" included) and scans in pure
Python. Actor payloads here are plain JSON; the domain parses its own dates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dapr.serializers.base import Serializer


class PlainJSONSerializer(Serializer):  # type: ignore[misc]
    def serialize(self, obj: object, custom_hook: Callable[[object], bytes] | None = None) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()

    def deserialize(
        self,
        data: bytes,
        data_type: type | None = object,
        custom_hook: Callable[[bytes], object] | None = None,
    ) -> Any:
        return json.loads(data) if data else None
