"""Problems found in rule files, each pinned to `file:line:col`, and the error that carries them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import msgspec

__all__ = ["Problem", "RulesetInvalid", "did_you_mean"]


class Problem(msgspec.Struct, frozen=True, order=True):
    """One thing wrong in a rule file; `line` and `col` are 1-based (0 when unknown)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class RulesetInvalid(Exception):
    """A ruleset was refused; `problems` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest choice to `name`, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
