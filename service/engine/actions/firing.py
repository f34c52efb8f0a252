"""One rule firing, as its actions see it: the CEL variables, the event, the badges already held
and the points the rule may still give; and the rendering of the rule's reason."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from datetime import datetime
from typing import Any

from service.engine.events import Event

__all__ = ["MAX_POINTS", "PLACEHOLDER", "Firing", "render_reason"]

MAX_POINTS = 10**15
"""The most points one action may award: far past any real reward, far inside the ledger's
64-bit columns."""

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
"""A `{name}` in a rule's reason."""


def _display(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@functools.lru_cache(maxsize=1024)
def _template_parts(template: str) -> tuple[str, ...]:
    # Even indexes are literal text, odd indexes placeholder names.
    return tuple(PLACEHOLDER.split(template))


def render_reason(template: str, data: dict[str, Any], event: Event, points: int | None) -> str:
    """A reason template with its placeholders filled in (`{points}` with `points`)."""
    parts = _template_parts(template)
    if len(parts) == 1:
        return template
    out: list[str] = []
    for i, part in enumerate(parts):
        if not i % 2:
            out.append(part)
        elif part == "points":
            out.append(str(points))
        elif part.startswith("event.") and part[6:] in event.attributes:
            out.append(_display(event.attributes[part[6:]]))  # money as written, not as a double
        else:
            out.append(_display(data.get(part, "{" + part + "}")))
    return "".join(out)


class Firing:
    """A rule's actions running for one event; `left` is the points its caps and budget leave
    (None: unlimited), `given` what its actions gave so far."""

    def __init__(
        self,
        *,
        rule_id: str,
        reason: str | None,
        budget: int | None,
        version: str,
        data: dict[str, Any],
        event: Event,
        held: Collection[str],
        left: int | None,
    ) -> None:
        self.rule_id, self.template, self.budget = rule_id, reason, budget
        self.version, self.data, self.event = version, data, event
        self.held = held
        """Badges the member holds or the rules fired before this one granted."""
        self.left = left
        self.given = 0

    def reason(self, default: str, points: int | None = None) -> str:
        """The rule's reason (or `default`) rendered for this event."""
        return render_reason(self.template or default, self.data, self.event, points)
