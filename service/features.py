"""Switches an operator turns off (``CUSTOMER_ENABLE_*``), as route guards.

``CUSTOMER_ENABLE_SEGMENTS=false``: segment routes answer 404 (the feature is not
there, as a route that does not exist), and the worker neither evaluates
segments nor moves memberships (worker/app.py). ``CUSTOMER_ENABLE_2FA=false``:
no new enrollment (403); customers who have 2FA keep it, sign in with it and
may switch it off.
"""

from __future__ import annotations

from fastapi import Depends

from service.dependencies import AppSettings
from service.problems import Problem

SEGMENTS_DISABLED = Problem(
    404, "segments-disabled", "Segments are switched off", "this deployment keeps no segments"
)
TWO_FACTOR_DISABLED = Problem(
    403,
    "two-factor-disabled",
    "Two-factor enrollment is switched off",
    "customers who have two-factor authentication keep it; no new one is enrolled",
)


async def _segments_enabled(settings: AppSettings) -> None:
    if not settings.enable_segments:
        raise SEGMENTS_DISABLED


async def _two_factor_enrollment_open(settings: AppSettings) -> None:
    if not settings.enable_2fa:
        raise TWO_FACTOR_DISABLED


SegmentsEnabled = Depends(_segments_enabled)
TwoFactorEnrollmentOpen = Depends(_two_factor_enrollment_open)
