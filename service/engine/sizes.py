"""How large a rule file and a whole ruleset may be, checked before any YAML is parsed.

A refusal names the file and the line where the limit is crossed. The HTTP publish route has
its own, looser gate on the request (`service.operations.rules`); these hold for every way in
(`loyalty rules check`, the rules folder at start-up, a stored version).
"""

from __future__ import annotations

from collections.abc import Mapping

from service.engine.problems import Problem

__all__ = ["MAX_FILE_BYTES", "MAX_RULESET_BYTES", "oversized"]

MAX_FILE_BYTES = 256 * 1024
"""Most bytes (UTF-8) in one file: the demo's largest is about 4 KiB."""
MAX_RULESET_BYTES = 1024 * 1024
"""Most bytes (UTF-8) in all files of a ruleset together (the publish route's limit too)."""


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def oversized(files: Mapping[str, str], display: Mapping[str, str]) -> list[Problem]:
    """Problems for each file over `MAX_FILE_BYTES` and for the file in which the ruleset
    (files in name order) passes `MAX_RULESET_BYTES`; `display` maps a name to how it is shown."""
    problems: list[Problem] = []
    total = 0
    for name in sorted(files):
        data = files[name].encode()
        if len(data) > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    display[name],
                    _line_at(data, MAX_FILE_BYTES),
                    1,
                    f"file too large: {len(data):,} bytes (at most {MAX_FILE_BYTES:,} per file)",
                )
            )
        if total <= MAX_RULESET_BYTES < total + len(data):
            problems.append(
                Problem(
                    display[name],
                    _line_at(data, MAX_RULESET_BYTES - total),
                    1,
                    f"the ruleset passes {MAX_RULESET_BYTES:,} bytes in all here "
                    f"({sum(len(t.encode()) for t in files.values()):,} in all files)",
                )
            )
        total += len(data)
    return problems
