"""The dependency rule, checked: the domain imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).parents[2] / "src" / "domain"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    offenders = {str(path.relative_to(DOMAIN)): sorted(imported_roots(path) - allowed) for path in DOMAIN.rglob("*.py")}
    assert {name: bad for name, bad in offenders.items() if bad} == {}
    assert len(offenders) >= 10  # the walk really saw the domain


def test_the_check_catches_a_framework_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("import litestar\nfrom sqlalchemy import select\nfrom domain import errors\n")
    assert imported_roots(module) - set(sys.stdlib_module_names) - {"domain"} == {"litestar", "sqlalchemy"}
