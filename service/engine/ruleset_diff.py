"""What changed between two rulesets: each file added, removed, changed or the same (with a
unified diff, `a/earn.yaml` -> `b/earn.yaml`, for each that differs), and which rules were
added, removed or changed."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Literal

import msgspec

from service.engine.cel import CompiledExpr
from service.engine.ruleset import CompiledRule, Ruleset

__all__ = ["FileChange", "FileStatus", "RuleChanges", "file_changes", "rule_changes"]

FileStatus = Literal["added", "removed", "changed", "same"]

_NO_NEWLINE = "\\ No newline at end of file\n"


class FileChange(msgspec.Struct, frozen=True, kw_only=True):
    """One file name of either ruleset, and how it differs from `a` to `b`."""

    file: str
    status: FileStatus
    diff: str | None = None
    """The unified diff from `a/NAME` to `b/NAME` (`/dev/null` for a file that is added or
    removed); None when the file is the same."""


class RuleChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Rule ids of `b` that `a` lacks, of `a` that `b` lacks, and of both but written
    differently (a rule that only moved, to another line or file, is not changed)."""

    added: list[str]
    removed: list[str]
    changed: list[str]


def _lines(text: str) -> list[str]:
    """The lines of `text`, each ending in a newline; a last line without one says so, as
    `diff` does."""
    lines = [f"{line}\n" for line in text.split("\n")]
    if text.endswith("\n") or not text:
        lines.pop()
    else:
        lines[-1] += _NO_NEWLINE
    return lines


def _unified(name: str, old: str | None, new: str | None) -> str:
    return "".join(
        difflib.unified_diff(
            _lines(old or ""),
            _lines(new or ""),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}" if new is not None else "/dev/null",
        )
    )


def file_changes(a: Mapping[str, str], b: Mapping[str, str]) -> list[FileChange]:
    """Every file name of `a` or `b`, by name, with how it changed from `a` to `b`."""
    changes = []
    for name in sorted(a.keys() | b.keys()):
        old, new = a.get(name), b.get(name)
        if old == new:
            changes.append(FileChange(file=name, status="same"))
            continue
        status: FileStatus = "added" if old is None else "removed" if new is None else "changed"
        changes.append(FileChange(file=name, status=status, diff=_unified(name, old, new)))
    return changes


def _as_written(value: object) -> object:
    """A comparable value of a compiled rule's part: expressions by their source text."""
    if isinstance(value, CompiledExpr):
        return value.source
    if isinstance(value, msgspec.Struct):
        return tuple((f, _as_written(getattr(value, f))) for f in value.__struct_fields__)
    if isinstance(value, tuple | list):
        return tuple(_as_written(item) for item in value)
    return value


def _rule_as_written(rule: CompiledRule) -> object:
    moved = msgspec.structs.replace(rule, file="", line=0)  # where it is written is no change
    return _as_written(moved)


def rule_changes(a: Ruleset, b: Ruleset) -> RuleChanges:
    """The rules `b` adds, removes and changes compared with `a`, each list by id."""
    old = {rule.id: rule for rule in a.rules}
    new = {rule.id: rule for rule in b.rules}
    return RuleChanges(
        added=sorted(new.keys() - old.keys()),
        removed=sorted(old.keys() - new.keys()),
        changed=sorted(
            rule_id
            for rule_id in old.keys() & new.keys()
            if _rule_as_written(old[rule_id]) != _rule_as_written(new[rule_id])
        ),
    )
