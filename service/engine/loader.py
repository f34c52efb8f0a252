"""Load a ruleset from YAML files: decode, check, compile CEL, and report every problem at once.

Every problem is pinned to `file:line:col`. Nothing is half-loaded: either a whole `Ruleset` comes
back or `RulesetInvalid` lists what is wrong in all files.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path as FsPath

from service.engine.load_context import LoadContext
from service.engine.problems import Problem, RulesetInvalid
from service.engine.program_load import PROGRAM_FILE, load_program
from service.engine.rule_load import load_rule_file
from service.engine.ruleset import CompiledRule, Ruleset, RuleTest
from service.engine.ruleset_checks import check_challenge_refs, check_rule_ids, check_tests
from service.engine.sizes import oversized

__all__ = ["PROGRAM_FILE", "load_ruleset", "load_ruleset_from_files", "ruleset_version"]


def ruleset_version(files: dict[str, str]) -> str:
    """The sha256 (hex) over the sorted file names and their contents."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def load_ruleset(directory: FsPath) -> Ruleset:
    """Load `program.yaml` and every other `*.yaml` in `directory`; raise `RulesetInvalid`."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}
    return load_ruleset_from_files(files, origin=str(directory))


_LOADED: OrderedDict[tuple[str | None, str], Ruleset] = OrderedDict()
"""The last few rulesets this process loaded, by their origin and version: a ruleset
is immutable once loaded, so the same files (a replica reloading the version it runs, every
app started on one rules folder) are parsed and compiled once."""
_LOADED_MAX = 8
_LOADED_LOCK = threading.Lock()  # rulesets load on worker threads too


def load_ruleset_from_files(files: dict[str, str], origin: str | None = None) -> Ruleset:
    """Load a ruleset from in-memory texts (name -> YAML); problems name `origin/name`."""
    key = (origin, ruleset_version(files))  # the origin names the files of the rules
    with _LOADED_LOCK:
        cached = _LOADED.get(key)
        if cached is not None:
            _LOADED.move_to_end(key)
            return cached
    ctx = LoadContext(files, origin)
    ruleset = _load(ctx)
    if ctx.problems or ruleset is None:
        raise RulesetInvalid(ctx.problems)
    with _LOADED_LOCK:
        _LOADED[key] = ruleset
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    return ruleset


def _load(ctx: LoadContext) -> Ruleset | None:
    """Every file loaded into one ruleset (None when program.yaml is missing or refused);
    every problem found is in `ctx.problems`."""
    if PROGRAM_FILE not in ctx.files:
        ctx.problems.append(Problem(ctx.display(PROGRAM_FILE), 0, 0, "file is missing"))
        return None
    too_large = oversized(ctx.files, {name: ctx.display(name) for name in ctx.files})
    if too_large:  # nothing is parsed: parsing is what the limits bound
        ctx.problems.extend(too_large)
        return None
    program = load_program(ctx)
    rules: list[CompiledRule] = []
    tests: list[RuleTest] = []
    for name in sorted(ctx.files):
        if name != PROGRAM_FILE and name.endswith((".yaml", ".yml")):
            load_rule_file(ctx, name, rules, tests)
    check_rule_ids(ctx, rules)
    check_challenge_refs(ctx)
    check_tests(ctx, tests)
    if program is None:
        return None
    rules.sort(key=lambda r: (-r.priority, r.file, r.line))
    return Ruleset(
        version=ruleset_version(ctx.files),
        files=ctx.files,
        program=program,
        event_types=ctx.event_types,
        rules=tuple(rules),
        tests=tuple(tests),
        envs=ctx.envs,
        challenges=tuple(ctx.challenges),
        streaks=tuple(ctx.streaks),
        referral=ctx.referral,
    )
