"""Address bodies: syntax errors and country rules in one answer.

Country rules (required parts, postal-code formats) are the domain's and run
in the actor on a body whose syntax is fine. When the syntax is not, the
answer would list only the syntax errors, and the next try would reveal the
country's: so the route class that serves the address create and update
runs the country rules on the parts that were fine (with the stored address
under an update) and lists both at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from actors.customer_protocol import GET_ADDRESSES, Read
from domain.address_format import ADDRESS_PARTS, country_rule_errors
from service.dependencies import services
from service.problems import Problem
from service.schemas import AddressCreate, AddressUpdate

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class AddressRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        models = {param.field_info.annotation for param in self.dependant.body_params}
        if not models & {AddressCreate, AddressUpdate}:
            return handler
        updating = AddressUpdate in models

        async def with_country_rules(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                extra = await _country_errors(request, exc, updating)
                if not extra:
                    raise
                raise RequestValidationError([*exc.errors(), *extra], body=exc.body) from None

        return with_country_rules


async def _country_errors(
    request: Request, exc: RequestValidationError, updating: bool
) -> list[dict[str, Any]]:
    refused: set[str] = set()
    for error in exc.errors():
        location = tuple(error.get("loc", ()))
        if location[:1] != ("body",) or len(location) < 2:
            return []  # not a body field (path, header, or no JSON object at all)
        refused.add(str(location[1]))
    try:
        sent = await request.json()
    except ValueError:
        return []
    if not isinstance(sent, dict):
        return []
    fields = {name: value for name, value in sent.items() if name in ADDRESS_PARTS}
    if updating:
        stored = await _stored_address(request)
        if stored is None:
            return []
        fields = {**{k: v for k, v in stored.items() if k in ADDRESS_PARTS}, **fields}
    return [
        {
            "type": error.code,
            "loc": ("body", error.field),
            "msg": error.message,
            "input": None,
        }
        for error in country_rule_errors(fields, frozenset(refused))
    ]


async def _stored_address(request: Request) -> dict[str, Any] | None:
    """The address being updated, if the caller may see it and it exists."""
    try:
        customer_id = uuid.UUID(str(request.path_params["customer_id"]))
        address_id = str(uuid.UUID(str(request.path_params["address_id"])))
    except (KeyError, ValueError):
        return None
    try:
        # As the caller may see it: a customer's ended session sees nothing.
        principal = getattr(request.state, "principal", None)
        built = await services(request)
        customers = built.customers.acting_for(getattr(principal, "access", None))
        shown = await customers.ask(str(customer_id), GET_ADDRESSES, Read())
    except Problem:
        return None
    return shown.address(address_id)
