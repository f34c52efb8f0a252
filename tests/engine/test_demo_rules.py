"""The shipped demo program in rules/ loads, and every test written in its files passes."""

from __future__ import annotations

import shutil
from pathlib import Path

from service.engine import load_ruleset, run_rule_tests
from service.engine import testing as rule_testing

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def test_every_test_in_the_demo_rule_files_passes() -> None:
    results = run_rule_tests(load_ruleset(RULES_DIR))
    assert len(results) >= 9
    assert [f"{r.name}: {r.message}" for r in results if not r.passed] == []


def test_check_command_summarises_a_good_ruleset() -> None:
    code, lines = rule_testing.check_command(RULES_DIR)
    assert code == 0
    assert lines[0].startswith("ok: 9 rules in 7 files, version ")


def test_check_command_lists_problems_with_positions(tmp_path: Path) -> None:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    earn = tmp_path / "rules" / "earn.yaml"
    earn.write_text(earn.read_text().replace("event.amount > 0.0", "event.ammount > 0.0"))
    code, lines = rule_testing.check_command(tmp_path / "rules")
    assert code == 1
    assert lines[0].startswith(f"{tmp_path}/rules/earn.yaml:")
    assert lines[0].endswith(
        "unknown attribute 'event.ammount' on purchase events (did you mean 'amount'?)"
    )
    assert lines[-1] == "1 problem(s) found"


def test_test_command_reports_pass_and_fail(tmp_path: Path) -> None:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    code, lines = rule_testing.test_command(tmp_path / "rules")
    assert code == 0
    assert "PASS a bronze member earns 10 points per euro" in lines
    referrals = tmp_path / "rules" / "referrals.yaml"
    referrals.write_text(
        referrals.read_text().replace("expect: {points: 500", "expect: {points: 400")
    )
    code, lines = rule_testing.test_command(tmp_path / "rules")
    assert code == 1
    assert "FAIL a referral earns 500 points: expected 400 points, got 500" in "\n".join(lines)
    assert lines[-1].endswith("passed, 1 failed")
