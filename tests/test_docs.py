"""The README's links into docs/ lead somewhere, the site's quick start is the README's, and
the webhook page's verification helper works as printed.

The pages under docs/ are checked by `mkdocs build --strict` in `.ci/run` (a nav entry without
its page, a page missing from nav, a broken link or anchor between pages); the README lies
outside the site, so its links are checked here, as GitHub resolves them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub and MkDocs both make them."""
    out: set[str] = set()
    fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        heading = re.match(r"^#{1,6} (.*)$", line)
        if heading and not fence:
            text = re.sub(r"[^\w\s-]", "", heading.group(1).replace("`", "")).strip().lower()
            out.add(re.sub(r"[-\s]+", "-", text))
    return out


def test_every_relative_link_of_the_readme_finds_its_page_and_anchor():
    links = [
        link
        for link in LINK.findall(README.read_text(encoding="utf-8"))
        if not re.match(r"^[a-z]+:", link)
    ]
    assert any(link.startswith("docs/") for link in links), "the README links no docs page"
    broken = []
    for link in links:
        path, _, anchor = link.partition("#")
        target = ROOT / path if path else README
        if not target.exists():
            broken.append(f"{link}: no {path}")
        elif anchor and anchor not in anchors(target):
            broken.append(f"{link}: no heading #{anchor} in {path or 'README.md'}")
    assert not broken, broken


def test_every_docs_page_is_linked_from_the_readme():
    linked = set(LINK.findall(README.read_text(encoding="utf-8")))
    pages = sorted(f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md"))
    missing = [p for p in pages if not any(link.split("#")[0] == p for link in linked)]
    assert not missing, f"the README's 'Where to read next' does not link {missing}"


def section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_sites_quick_start_is_the_readmes():
    """docs/index.md repeats the README's Quick start for the site's readers: word for word, its
    links pointing into docs/ from where it stands."""
    readme = section(README.read_text(encoding="utf-8"), "Quick start")
    index = section((ROOT / "docs" / "index.md").read_text(encoding="utf-8"), "Quick start")
    assert index == readme.replace("](docs/", "](")


def test_the_webhook_verification_helper_of_the_docs_verifies_what_the_receiver_does():
    """The receiver-side helper in docs/webhooks.md, run as printed, against a message signed
    as the Standard Webhooks specification says (the tests' receiver's own lines)."""
    import base64
    import hashlib
    import hmac

    from webhook_receiver import verify_signature

    page = (ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [code] = re.findall(
        r"```python\n(.*?)```", section(page, "Verifying a message (receiver side)"), re.S
    )
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the page's own code, as a receiver would paste it
    verify = namespace["verify"]
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    body = b'{"type": "tier.changed", "data": {"member_id": "alice"}}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1767225600"}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    key = base64.b64decode(secret.removeprefix("whsec_"))
    good = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for signature, valid in [(good, True), (f"v1,AAAA {good}", True), ("v1,AAAA", False)]:
        case = {**headers, "webhook-signature": signature}
        assert verify(secret, case, body) is valid
        assert verify_signature(secret, case, body) is valid
    assert not verify(secret, {**headers, "webhook-signature": good}, body + b" ")
