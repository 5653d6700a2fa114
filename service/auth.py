"""May this caller touch this customer? The routes' guards.

A role ``customer`` acts on its own id only, ``admin`` on anyone, and a
service with the read scope only looks up (service/authentication.py says who
the caller is). A caller reaching beyond what it may do gets 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.authentication import Principal, Role
from service.dependencies import Caller
from service.problems import Problem

__all__ = ["Caller"]


def _forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", "Not allowed", detail)


def _is_owner(request: Request, caller: Principal) -> bool:
    customer_id = str(request.path_params.get("customer_id", ""))
    return caller.role is Role.CUSTOMER and caller.subject == customer_id


async def _owner_or_admin(request: Request, caller: Caller) -> Principal:
    """For routes under /customers/{customer_id}: that customer, or an admin."""
    if caller.is_admin or _is_owner(request, caller):
        return caller
    raise _forbidden("a customer may only act on itself")


async def _owner_admin_or_reader(request: Request, caller: Caller) -> Principal:
    """Look-ups of one customer: also services with the read scope."""
    if caller.role is Role.READER:
        return caller
    return await _owner_or_admin(request, caller)


async def _admin(caller: Caller) -> Principal:
    if caller.is_admin:
        return caller
    raise _forbidden("this operation needs the admin role")


async def _admin_or_reader(caller: Caller) -> Principal:
    if caller.role is Role.READER:
        return caller
    return await _admin(caller)


OwnerOrAdmin = Depends(_owner_or_admin)
OwnerAdminOrReader = Depends(_owner_admin_or_reader)
AdminOnly = Depends(_admin)
AdminOrReader = Depends(_admin_or_reader)
Owner = Annotated[Principal, OwnerOrAdmin]
