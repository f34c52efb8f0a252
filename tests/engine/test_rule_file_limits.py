"""A rule file cannot make loading expensive: no YAML aliases, bounded nesting, bounded sizes.

Each refusal names the file and the line; nothing of the ruleset is loaded then (the previous
version keeps running, see tests/test_rules_admin.py).
"""

from __future__ import annotations

import pytest

from service.engine import RulesetInvalid, load_ruleset_from_files
from service.engine.sizes import MAX_FILE_BYTES, MAX_RULESET_BYTES
from service.engine.yamldoc import MAX_DEPTH

PROGRAM = "program:\n  name: Limits\n  timezone: UTC\n"
RULE = "rules:\n  - {id: one, on: checkin, actions: [{points: 1}]}\n"

# The probe's file: ten levels of ten aliases each, 350 bytes, 10**10 values once expanded.
LAUGHS = (
    "a: &a ["
    + ",".join("x" * 10)
    + "]\n"
    + "".join(
        f"{b}: &{b} [" + ",".join([f"*{a}"] * 10) + "]\n"
        for a, b in zip("abcdefghi", "bcdefghij", strict=True)
    )
)


def problems_of(files: dict[str, str]) -> list[str]:
    with pytest.raises(RulesetInvalid) as info:
        load_ruleset_from_files({"program.yaml": PROGRAM, **files}, origin="rules")
    return [str(p) for p in info.value.problems]


def test_yaml_aliases_are_refused_with_file_and_line():
    rules = "rules: &none []\ntests: *none\n"
    assert problems_of({"a.yaml": rules}) == [
        "rules/a.yaml:1:8: anchors and aliases (&name, *name) are not allowed in rule files:"
        " write the value out"
    ]
    alias_only = RULE + "tests: *undefined\n"
    [problem] = problems_of({"a.yaml": alias_only})
    assert problem.startswith("rules/a.yaml:3:8: anchors and aliases")


def test_the_probes_alias_bomb_is_refused_at_its_first_anchor():
    assert len(LAUGHS.encode()) < 400
    assert problems_of({"bomb.yaml": LAUGHS}) == [
        "rules/bomb.yaml:1:4: anchors and aliases (&name, *name) are not allowed in rule files:"
        " write the value out"
    ]


def test_an_anchor_in_program_yaml_is_refused_too():
    program = PROGRAM + "badges: &b []\n"
    with pytest.raises(RulesetInvalid) as info:
        load_ruleset_from_files({"program.yaml": program}, origin="rules")
    assert [str(p)[:30] for p in info.value.problems] == ["rules/program.yaml:4:9: anchor"]


def test_nesting_past_the_limit_is_refused_not_a_recursion_error():
    deep = "rules: " + "[" * 5000 + "]" * 5000 + "\n"
    [problem] = problems_of({"deep.yaml": deep})
    assert problem.startswith("rules/deep.yaml:1:")
    assert f"nested more than {MAX_DEPTH} levels deep" in problem


def test_a_file_over_the_size_limit_is_refused_with_the_line_where_it_passes():
    line = "# " + "x" * 1021 + "\n"  # 1 KiB a line
    big = RULE + line * 300
    assert len(big.encode()) > MAX_FILE_BYTES
    [problem] = problems_of({"big.yaml": big})
    assert problem == (
        f"rules/big.yaml:258:1: file too large: {len(big.encode()):,} bytes"
        f" (at most {MAX_FILE_BYTES:,} per file)"
    )


def test_a_ruleset_over_the_size_limit_is_refused_in_the_file_where_it_passes():
    line = "# " + "x" * 1021 + "\n"
    part = RULE + line * 250  # under the per-file limit
    files = {f"r{i}.yaml": part.replace("id: one", f"id: r{i}") for i in range(5)}
    assert all(len(t.encode()) <= MAX_FILE_BYTES for t in files.values())
    total = len(PROGRAM.encode()) + sum(len(t.encode()) for t in files.values())
    assert total > MAX_RULESET_BYTES
    [problem] = problems_of(files)
    assert problem.startswith("rules/r4.yaml:")
    assert f"the ruleset passes {MAX_RULESET_BYTES:,} bytes in all here" in problem
    # one byte fewer in all, and it loads
    files["r4.yaml"] = files["r4.yaml"][: -(total - MAX_RULESET_BYTES)]
    load_ruleset_from_files({"program.yaml": PROGRAM, **files})
