"""Load a ruleset from YAML files: decode, check, compile CEL, and report every problem at once.

Every problem is pinned to `file:line:col`. Nothing is half-loaded: either a whole `Ruleset` comes
back or `RulesetInvalid` lists what is wrong in all files.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from pathlib import Path as FsPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from service.core.boards import check_boards
from service.engine.bounds import program_numbers, rule_numbers
from service.engine.cel import CelEnv, build_env
from service.engine.engageload import load_engagement
from service.engine.events import BUILTIN_EVENT_TYPES, AttributeSpec, EventTypeSpec
from service.engine.experimentload import load_experiment
from service.engine.files import (
    ATTRIBUTE_TYPES,
    ProgramFile,
    RuleDef,
    TestCase,
)
from service.engine.problems import Problem, RulesetInvalid, did_you_mean
from service.engine.progress_defs import CompiledChallenge, CompiledReferral, CompiledStreak
from service.engine.progress_load import ProgressLoader
from service.engine.rulechecks import RuleChecks
from service.engine.ruleset import (
    CompiledAction,
    CompiledRule,
    Program,
    Ruleset,
    RuleTest,
)
from service.engine.sizes import oversized
from service.engine.yamldoc import Path, YamlDoc, decode, parse_yaml

__all__ = ["PROGRAM_FILE", "load_ruleset", "load_ruleset_from_files", "ruleset_version"]

PROGRAM_FILE = "program.yaml"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class _RawRuleFile(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[Any] = []
    challenges: list[Any] = []
    streaks: list[Any] = []
    referral: Any = None
    tests: list[Any] = []


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
    loader = _Loader(files, origin)
    ruleset = loader.load()
    if loader.problems or ruleset is None:
        raise RulesetInvalid(loader.problems)
    with _LOADED_LOCK:
        _LOADED[key] = ruleset
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    return ruleset


class _Loader(ProgressLoader, RuleChecks):
    def __init__(self, files: dict[str, str], origin: str | None) -> None:
        self.files = dict(files)
        self.origin = origin
        self.problems: list[Problem] = []
        self.event_types: dict[str, EventTypeSpec] = {}
        self.member_attributes: dict[str, AttributeSpec] = {}
        self.envs: dict[str, CelEnv] = {}
        self.badges: set[str] = set()
        self.tz = "UTC"
        self.declared_ids: set[str] = set()
        self.challenges: list[CompiledChallenge] = []
        self.streaks: list[CompiledStreak] = []
        self.referral: CompiledReferral | None = None
        self.challenge_refs: list[tuple[YamlDoc, Path, str]] = []
        self.event_costs: dict[str, int] = {}

    def display(self, name: str) -> str:
        return f"{self.origin.rstrip('/')}/{name}" if self.origin else name

    def parse(self, name: str) -> YamlDoc | None:
        doc, problems = parse_yaml(self.display(name), self.files[name])
        self.problems.extend(problems)
        return doc

    def load(self) -> Ruleset | None:
        if PROGRAM_FILE not in self.files:
            self.problems.append(Problem(self.display(PROGRAM_FILE), 0, 0, "file is missing"))
            return None
        too_large = oversized(self.files, {name: self.display(name) for name in self.files})
        if too_large:  # nothing is parsed: parsing is what the limits bound
            self.problems.extend(too_large)
            return None
        program = self.load_program()
        rules: list[CompiledRule] = []
        tests: list[RuleTest] = []
        for name in sorted(self.files):
            if name != PROGRAM_FILE and name.endswith((".yaml", ".yml")):
                self.load_rule_file(name, rules, tests)
        self.check_rule_ids(rules)
        self.check_challenge_refs()
        self.check_tests(tests, self.declared_ids)
        if program is None:
            return None
        rules.sort(key=lambda r: (-r.priority, r.file, r.line))
        return Ruleset(
            version=ruleset_version(self.files),
            files=self.files,
            program=program,
            event_types=self.event_types,
            rules=tuple(rules),
            tests=tuple(tests),
            envs=self.envs,
            challenges=tuple(self.challenges),
            streaks=tuple(self.streaks),
            referral=self.referral,
        )

    # -- program.yaml -------------------------------------------------------------------------

    def load_program(self) -> Program | None:
        doc = self.parse(PROGRAM_FILE)
        if doc is None:
            return None
        if not isinstance(doc.data, dict):
            self.problems.append(doc.problem((), "expected a mapping with a 'program:' section"))
            return None
        parsed, problems = decode(doc, doc.data, (), ProgramFile)
        self.problems.extend(problems)
        if parsed is None:
            return None
        self.tz = self.check_timezone(doc, parsed.program.timezone)
        self.member_attributes = self.attribute_specs(
            doc, ("member_attributes",), parsed.member_attributes
        )
        self.event_types = self.build_event_types(doc, parsed.event_types)
        for type_name in parsed.program.points.pending_days:
            if type_name not in self.event_types:
                path: Path = ("program", "points", "pending_days", type_name)
                hint = did_you_mean(type_name, self.event_types)
                self.problems.append(
                    doc.problem(path, f"unknown event type '{type_name}'{hint}", key=True)
                )
        self.check_catalog(doc, parsed)
        self.problems.extend(program_numbers(doc, parsed))
        for index, field, message in check_boards(
            [(b.id, b.metric, b.segment) for b in parsed.leaderboards],
            self.event_types,
            {n: s.type for n, s in self.member_attributes.items()},
        ):
            self.problems.append(doc.problem(("leaderboards", index, field), message))
        engagement, problems = load_engagement(doc, parsed.engagement, self.event_types)
        self.problems.extend(problems)
        components = tuple(c.id for c in engagement.components)
        attrs = {n: s.type for n, s in self.member_attributes.items()}
        for spec in self.event_types.values():
            event_attrs = {n: a.type for n, a in spec.attributes.items()}
            self.envs[spec.name] = build_env(spec.name, event_attrs, attrs, components)
        for i, badge in enumerate(parsed.badges):
            self.check_badge_levels(doc, i, badge)
        tiers = self.load_tiers(doc, parsed.tiers)
        return Program(
            name=parsed.program.name,
            timezone=self.tz,
            currency=parsed.program.currency,
            points=parsed.program.points,
            rewards=tuple(parsed.rewards),
            badges={b.id: b for b in parsed.badges},
            member_attributes=self.member_attributes,
            leaderboards=tuple(parsed.leaderboards),
            tiers=tiers,
            engagement=engagement,
        )

    def check_timezone(self, doc: YamlDoc, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(doc.problem(("program", "timezone"), f"unknown time zone '{tz}'"))
            return "UTC"
        return tz

    def attribute_specs(
        self, doc: YamlDoc, path: Path, declared: dict[str, str]
    ) -> dict[str, AttributeSpec]:
        specs: dict[str, AttributeSpec] = {}
        for name, text in declared.items():
            spec = AttributeSpec.parse(text)
            if spec.type not in ATTRIBUTE_TYPES:
                hint = did_you_mean(spec.type, ATTRIBUTE_TYPES)
                self.problems.append(
                    doc.problem((*path, name), f"unknown attribute type '{spec.type}'{hint}")
                )
                continue
            specs[name] = spec
        return specs

    def build_event_types(
        self, doc: YamlDoc, declared: dict[str, dict[str, str]]
    ) -> dict[str, EventTypeSpec]:
        types: dict[str, EventTypeSpec] = {}
        for name, builtin in BUILTIN_EVENT_TYPES.items():
            types[name] = EventTypeSpec(
                name, {a: AttributeSpec.parse(t) for a, t in builtin.items()}
            )
        for name, attrs in declared.items():
            specs = self.attribute_specs(doc, ("event_types", name), attrs)
            base = types[name].attributes if name in types else {}
            types[name] = EventTypeSpec(name, {**base, **specs})
        return types

    def load_rule_file(self, name: str, rules: list[CompiledRule], tests: list[RuleTest]) -> None:
        doc = self.parse(name)
        if doc is None:
            return
        raw, problems = decode(doc, doc.data, (), _RawRuleFile)
        self.problems.extend(problems)
        if raw is None:
            return
        for i, item in enumerate(raw.rules):
            rule_def, problems = decode(doc, item, ("rules", i), RuleDef)
            self.problems.extend(problems)
            if rule_def is not None:
                self.declared_ids.add(rule_def.id)
                compiled = self.compile_rule(doc, ("rules", i), rule_def)
                if compiled is not None:
                    rules.append(compiled)
        self.load_progress_sections(doc, raw.challenges, raw.streaks, raw.referral)
        for i, item in enumerate(raw.tests):
            case, problems = decode(doc, item, ("tests", i), TestCase)
            self.problems.extend(problems)
            if case is not None:
                tests.append(RuleTest(doc.file, doc.pos(("tests", i)).line, case))

    def compile_rule(self, doc: YamlDoc, path: Path, rule: RuleDef) -> CompiledRule | None:
        env = self.envs.get(rule.on)
        if env is None:
            if self.event_types:  # otherwise program.yaml failed and already said so
                hint = did_you_mean(rule.on, self.event_types)
                self.problems.append(
                    doc.problem((*path, "on"), f"unknown event type '{rule.on}'{hint}")
                )
            return None
        before = len(self.problems)
        when = None
        if isinstance(rule.when, str):
            when = self.compile_expr(doc, (*path, "when"), env, rule.when, ("BOOL",))
        elif rule.when is False:
            self.problems.append(
                doc.problem((*path, "when"), "'when: false' never fires; remove the rule")
            )
        compiled = [
            self.compile_action(doc, (*path, "actions", i), env, action)
            for i, action in enumerate(rule.actions)
        ]
        actions = tuple(a for a in compiled if a is not None)
        points_at = [i for i, action in enumerate(rule.actions) if action.points is not None]
        if len(points_at) > 1:  # one lot per event and rule: add the amounts in one formula
            self.problems.append(
                doc.problem(
                    (*path, "actions", points_at[1]),
                    "a rule gives points once: put the amounts in one 'points' formula",
                )
            )
        if not rule.actions:
            self.problems.append(
                doc.problem((*path, "actions"), "a rule needs at least one action")
            )
        self.check_template(doc, (*path, "reason"), env, rule.reason)
        start, end = self.schedule(doc, path, rule)
        caps = self.caps(doc, path, rule)
        experiment = load_experiment(doc, path, rule, self.problems)
        self.problems.extend(rule_numbers(doc, path, rule))
        if len(self.problems) > before:
            return None
        return CompiledRule(
            id=rule.id,
            on=rule.on,
            file=doc.file,
            line=doc.pos(path).line,
            priority=rule.priority,
            when=when,
            actions=actions,
            reason=rule.reason,
            start=start,
            end=end,
            stop=rule.stop,
            caps=caps,
            budget=rule.caps.budget if rule.caps else None,
            experiment=experiment,
        )

    def compile_action(
        self, doc: YamlDoc, path: Path, env: CelEnv, action: Any
    ) -> CompiledAction | None:
        chosen = [
            f
            for f in ("points", "badge", "challenge", "attribute")
            if getattr(action, f) is not None
        ]
        if len(chosen) != 1:
            found = ", ".join(chosen) or "none"
            self.problems.append(
                doc.problem(
                    path,
                    "an action needs exactly one of points, badge, challenge, attribute"
                    f" (found {found})",
                )
            )
            return None
        kind = chosen[0]
        if kind == "points":
            expr = self.compile_expr(
                doc, (*path, "points"), env, str(action.points), ("INT", "DOUBLE")
            )
            return CompiledAction("points", "points", expr) if expr else None
        if kind == "badge":
            if action.badge not in self.badges:
                hint = did_you_mean(action.badge, self.badges)
                self.problems.append(
                    doc.problem((*path, "badge"), f"undeclared badge '{action.badge}'{hint}")
                )
                return None
            return CompiledAction("badge", action.badge)
        if kind == "challenge":
            self.challenge_refs.append((doc, (*path, "challenge", "id"), action.challenge.id))
            expr = self.compile_expr(
                doc, (*path, "challenge", "amount"), env, action.challenge.amount, ("INT",)
            )
            return CompiledAction("challenge", action.challenge.id, expr) if expr else None
        name = action.attribute.name
        spec = self.member_attributes.get(name)
        if spec is None:
            hint = did_you_mean(name, self.member_attributes)
            self.problems.append(
                doc.problem(
                    (*path, "attribute", "name"), f"undeclared member attribute '{name}'{hint}"
                )
            )
            return None
        want = env.env.compile("member.attributes." + name).return_type().name()
        expr = self.compile_expr(
            doc, (*path, "attribute", "value"), env, action.attribute.value, (want,)
        )
        return CompiledAction("attribute", name, expr) if expr else None

    def check_template(self, doc: YamlDoc, path: Path, env: CelEnv, template: str | None) -> None:
        for name in _PLACEHOLDER.findall(template or ""):
            if name != "points" and name not in env.names:
                hint = did_you_mean(name, [*env.names, "points"])
                self.problems.append(
                    doc.problem(path, f"unknown placeholder '{{{name}}}' in reason{hint}")
                )

    def check_rule_ids(self, rules: list[CompiledRule]) -> None:
        seen: dict[str, CompiledRule] = {}
        experiments: dict[str, CompiledRule] = {}
        for rule in rules:
            if rule.experiment is not None:
                owner = experiments.setdefault(rule.experiment.id, rule)
                if owner is not rule:
                    self.problems.append(
                        Problem(
                            rule.file,
                            rule.line,
                            1,
                            f"experiment '{rule.experiment.id}' is already the experiment of "
                            f"rule '{owner.id}' ({owner.file}:{owner.line})",
                        )
                    )
            first = seen.setdefault(rule.id, rule)
            if first is not rule:
                where = f"{first.file}:{first.line}"
                self.problems.append(
                    Problem(
                        rule.file,
                        rule.line,
                        1,
                        f"duplicate rule id '{rule.id}' (first defined at {where})",
                    )
                )

    def check_challenge_refs(self) -> None:
        declared = {c.id for c in self.challenges}
        for doc, path, challenge_id in self.challenge_refs:
            if challenge_id not in declared:
                hint = did_you_mean(challenge_id, declared)
                self.problems.append(
                    doc.problem(path, f"undeclared challenge '{challenge_id}'{hint}")
                )

    def check_tests(self, tests: list[RuleTest], rule_ids: set[str]) -> None:
        for test in tests:
            for rule_id in (*test.case.expect.fired, *test.case.expect.not_fired):
                if rule_id not in rule_ids:
                    hint = did_you_mean(rule_id, rule_ids)
                    message = f"test '{test.case.name}' names unknown rule '{rule_id}'{hint}"
                    self.problems.append(Problem(test.file, test.line, 1, message))
