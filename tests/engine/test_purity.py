"""The pure core stays pure: nothing under service/core, service/engine or service/decide imports
I/O layers."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[2] / "service"
FORBIDDEN = (
    "litestar",
    "sqlalchemy",
    "asyncpg",
    "service.store",
    "service.api",
    "service.app",
    "service.http",
    "service.operations",
    "service.pipeline",
    "service.views",
    "service.runtime",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_core_engine_and_decide_import_no_io_layers() -> None:
    offenders = []
    files = [f for pure in ("core", "engine", "decide") for f in (SERVICE / pure).rglob("*.py")]
    assert files
    for path in files:
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN):
                offenders.append(f"{path.relative_to(SERVICE.parent)} imports {name}")
    assert offenders == []
