"""Query parameters a route does not declare are refused, never ignored.

A misspelt or not-yet-supported list filter (``?nickname=``, ``?city=``) silently
ignored answers a different question than the one asked: ``400`` with every
unknown name instead. Routes that declare no query parameters at all are
left alone (a cache-busting ``?_=123`` on them changes nothing).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from domain.input_rules import printable
from service.problems import Problem

_DECLARED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters of ``route`` and its dependencies (computed once per route)."""
    key = id(route)
    if key not in _DECLARED:
        _DECLARED[key] = frozenset(_query_names(route.dependant))
    return _DECLARED[key]


async def reject_unknown_query_parameters(request: Request) -> None:
    """An app-wide dependency: 400 ``unknown-query-parameter`` listing each one."""
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute):
        return
    declared = declared_query_parameters(route)
    if not declared:
        return
    unknown = sorted(set(request.query_params.keys()) - declared)
    if not unknown:
        return
    known = ", ".join(sorted(declared))
    raise Problem(
        400,
        "unknown-query-parameter",
        "Unknown query parameter",
        f"{len(unknown)} unknown query parameter(s); this route takes: {known}",
        errors=[
            {
                "field": printable(name),
                "in": "query",
                "message": "unknown parameter",
                "code": "unknown",
            }
            for name in unknown
        ],
    )
