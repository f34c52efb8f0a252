"""The rule guide's "Write your first challenge" (docs/rules.md), followed literally, works step
by step.

The steps are read from docs/rules.md itself (nothing of them is copied here): each numbered step's
YAML is written where its text says, each shell command is run as written by bash in a fresh
copy of the project's `rules/` folder, against the real app on a live server (the guide's
`http://127.0.0.1:8000` is the only thing replaced: by the live server's address), with `$KEY`
made by the README's Quick start's own command. Each step's documented outcome is checked, and the
outcome the step's text promises must be the one it gets. Change the walkthrough and this
test runs the new text.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import bearer
from test_rules_admin import DEMO_VERSION, RULES_DIR, count_rows

from service.core.clock import FixedClock

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"  # the Quick start, whose command makes `$KEY`
GUIDE = ROOT / "docs" / "rules.md"  # the walkthrough
SECTION = "## Write your first challenge"
DOCS_SERVER = "http://127.0.0.1:8000"
INDENT = "    "  # a step's text and code blocks, inside its numbered item


@dataclass
class Step:
    number: int
    text: str
    blocks: list[tuple[str, str]] = field(default_factory=list)
    """(language, code) of each fenced block, dedented."""

    def code(self, language: str) -> list[str]:
        return [code for lang, code in self.blocks if lang == language]


def walkthrough(guide: str) -> list[Step]:
    """The numbered steps of the guide's walkthrough, with their code blocks."""
    assert SECTION in guide, f"docs/rules.md has no '{SECTION}' section"
    body = guide.split(SECTION + "\n", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    block: list[str] | None = None
    language = ""
    for line in body.splitlines():
        start = re.match(r"^(\d+)\. (.*)$", line)
        if block is None and start:
            steps.append(Step(int(start.group(1)), start.group(2)))
            continue
        if not steps:
            continue
        fence = re.match(rf"^{INDENT}```(\w*)\s*$", line)
        if fence and block is None:
            block, language = [], fence.group(1)
        elif fence and block is not None:
            steps[-1].blocks.append((language, "\n".join(block) + "\n"))
            block = None
        elif block is not None:
            assert line.startswith(INDENT) or not line.strip(), f"code not indented: {line!r}"
            block.append(line[len(INDENT) :])
        else:
            steps[-1].text += "\n" + line
    assert block is None, "a code block of the walkthrough is not closed"
    return steps


def commands(script: str) -> list[str]:
    """The shell commands of a block, one each (continuation lines and quotes joined)."""
    out: list[str] = []
    pending = ""
    for line in script.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            shlex.split(pending)
        except ValueError:  # a quote is still open: the command goes on
            continue
        out.append(pending.strip())
        pending = ""
    assert not pending, f"unfinished command: {pending!r}"
    return out


def quick_start_key_command(readme: str) -> str:
    [line] = [x for x in readme.splitlines() if x.startswith("KEY=$(")]
    return line


@dataclass
class Shell:
    """Runs the guide's commands in the copy of the project, as a reader's second shell would."""

    folder: Path
    env: dict[str, str]
    server: str

    async def run(self, command: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            command.replace(DOCS_SERVER, self.server),
            cwd=self.folder,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def ok(self, command: str) -> str:
        code, out, err = await self.run(command)
        assert code == 0, f"`{command}` exited {code}:\n{out}\n{err}"
        return out


@pytest.fixture
def clock() -> FixedClock:
    """The reader follows the walkthrough today: the server's clock is the machine's."""
    return FixedClock(datetime.now(UTC))


def fresh_clone(tmp_path: Path) -> Path:
    """The project as cloned: the demo `rules/` folder and an installed `.venv/bin/loyalty`."""
    folder = tmp_path / "loyalty-service"
    shutil.copytree(RULES_DIR, folder / "rules")
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "loyalty").symlink_to(Path(sys.executable).parent / "loyalty")
    return folder


async def wait_for_version(server: Any, admin: str, changed_from: str) -> str:
    """The guide promises the switch within seconds of `rules publish`."""
    started = time.monotonic()
    while True:
        shown = (await server.get("/v1/admin/rules", headers=bearer(admin))).json()
        if shown["version"] != changed_from:
            version: str = shown["version"]
            return version
        assert time.monotonic() - started < 10, "the service did not switch within 10 s"
        await asyncio.sleep(0.05)


async def test_write_your_first_challenge_works_as_written(
    live_app, make_key, db, database_url, tmp_path
):
    assert shutil.which("curl"), "the walkthrough's steps call curl"
    readme = README.read_text(encoding="utf-8")
    steps = walkthrough(GUIDE.read_text(encoding="utf-8"))
    assert [s.number for s in steps] == [1, 2, 3, 4, 5], "the walkthrough has five steps"
    server = await live_app()
    admin = await make_key("admin")  # only for watching the service, never for a step
    folder = fresh_clone(tmp_path)
    env = {**os.environ, "DATABASE_URL": database_url}
    shell = Shell(folder, env, str(server.base_url).rstrip("/"))
    key = (await shell.ok(quick_start_key_command(readme) + '\nprintf %s "$KEY"')).strip()
    assert key, "the Quick start's command made no key"
    shell.env["KEY"] = key

    # 1. the challenge goes in the file the step names
    one, two, three, four, five = steps
    [path] = re.findall(r"`(rules/[\w.-]+\.ya?ml)`", one.text)
    [challenge] = one.code("yaml")
    rule_file = folder / path
    assert not rule_file.exists(), f"step 1 says to create {path}, which the demo already has"
    rule_file.write_text(challenge, encoding="utf-8")

    # 2. the test goes at the end of the same file
    assert "same file" in two.text
    [test_block] = two.code("yaml")
    rule_file.write_text(challenge + test_block, encoding="utf-8")
    [test_name] = re.findall(r"- name: (.+)", test_block)

    # 3. check, then test
    [script] = three.code("sh")
    check, test = commands(script)
    assert "rules check" in check and "rules test" in test
    summary = re.search(r"`(ok: \d+ rules in \d+ files), version \.\.\.`", three.text)
    assert summary, "step 3 says what check prints"
    assert (await shell.ok(check)).startswith(summary.group(1) + ", version ")
    out = await shell.ok(test)
    assert f"PASS {test_name}" in out
    tally = re.search(r"`(\d+ passed, 0 failed)`", three.text)
    assert tally and tally.group(1) in out, out

    assert "`on: reveiw`" in three.text  # the typo the step promises to catch
    rule_file.write_text(
        (challenge + test_block).replace("on: review", "on: reveiw", 1), encoding="utf-8"
    )
    code, out, _ = await shell.run(check)
    assert code == 1
    assert re.search(rf"{re.escape(path)}:\d+:\d+: .*did you mean 'review'\?", out), out
    rule_file.write_text(challenge + test_block, encoding="utf-8")

    # 4. a real review for alice, then a dry run of the next one under the draft
    [script] = four.code("sh")
    post, dry_run = commands(script)
    assert "/v1/events" in post and "rules dry-run" in dry_run
    booked = json.loads(await shell.ok(post))
    assert booked["member_id"] == "alice" and booked["points"] == 125
    assert "125 points" in four.text
    before = await count_rows(db)
    answer = json.loads(await shell.ok(dry_run))
    assert await count_rows(db) == before, "the dry run wrote something"
    assert '`"ruleset": "draft"`' in four.text and answer["ruleset"] == "draft"
    assert answer["ruleset_version"] != DEMO_VERSION
    assert "25 points" in four.text and answer["points"] == 25
    skipped = {s["rule_id"]: s["reason"] for s in answer["skipped"]}
    assert "`first-review-bonus` is skipped" in four.text
    assert skipped["first-review-bonus"] == "condition_false"
    [progress] = [e for e in answer["effects"] if e.get("challenge") == "two-reviews-a-week"]
    assert '`"progress": 1`' in four.text and '`"target": 2`' in four.text
    assert (progress["type"], progress["progress"], progress["target"]) == ("challenge", 1, 2)
    shown = (await server.get("/v1/admin/rules", headers=bearer(admin))).json()
    assert shown["version"] == DEMO_VERSION, "the dry run published the draft"

    # 5. publish, then alice's challenges list the new one
    [script] = five.code("sh")
    publish, look = commands(script)
    assert "rules publish" in publish and "/challenges" in look
    out = await shell.ok(publish)
    assert out.strip().splitlines()[-1] == answer["ruleset_version"]  # the draft tried in 4
    await wait_for_version(server, admin, DEMO_VERSION)
    challenges = json.loads(await shell.ok(look))
    active = {c["id"]: c for c in challenges["active"]}
    assert "`two-reviews-a-week`" in five.text and "seconds_left" in five.text
    mine = active["two-reviews-a-week"]
    assert (mine["progress"], mine["target"]) == (0, 2)  # the reviews before it do not count
    assert mine["seconds_left"] > 0
