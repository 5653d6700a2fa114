"""Markers: everything under tests/integration and tests/faults runs real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

_INTEGRATION = (Path(__file__).parent / "integration", Path(__file__).parent / "faults")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(folder in Path(str(item.fspath)).parents for folder in _INTEGRATION):
            item.add_marker(pytest.mark.integration)
