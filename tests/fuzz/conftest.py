"""The fuzz run uses the integration tests' stack (one per session)."""

from __future__ import annotations

from tests.integration.conftest import customer_service, infra, stack_root

__all__ = ["customer_service", "infra", "stack_root"]
