"""The house rules of service/, checked on its source: short functions, no private name taken
from another module, no module named after the vague words the code no longer uses, no
catch-all handed to every use case (nor the app's state read by one)."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

SERVICE = Path(__file__).resolve().parent.parent / "service"
MAX_LINES = 60

LONG_ALLOWED: set[tuple[str, str]] = set()
"""(module, function) pairs allowed over MAX_LINES: none."""

VAGUE_NAMES = ("gamify*", "gamification*", "game_*", "gameload*", "rules_runtime*")


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(SERVICE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(SERVICE.rglob("*.py"))
    ]


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES and (name, node.name) not in LONG_ALLOWED:
                    long.append(f"{name}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_no_private_name_is_imported_from_another_module():
    private = []
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("service"):
                private += [
                    f"{name}:{node.lineno} {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
    assert private == []


def test_no_module_is_named_after_a_vague_word():
    vague = [
        path.relative_to(SERVICE).as_posix()
        for path in SERVICE.rglob("*")
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in VAGUE_NAMES)
    ]
    assert vague == []


def test_no_services_catch_all_module():
    assert [p.name for p in SERVICE.rglob("services*")] == []


def test_use_cases_never_read_the_app_state():
    """A use case takes a `Runtime` and names anything else it uses; what the app's lifespan
    built (`http/app_state.py`) and the request accessors are the HTTP layer's alone."""
    reaching = []
    for name, tree in _modules():
        if not name.startswith(("operations/", "pipeline/", "views/", "worker.py", "cli")):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in (
                "service.http.app_state",
                "service.api.requests",
            ):
                reaching.append(f"{name}:{node.lineno} {node.module}")
    assert reaching == []
