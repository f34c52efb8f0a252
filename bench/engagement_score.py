"""The engagement score's CPU per event, for an active member of the demo program.

An event computes the score once for its rules (`engagement_at`, as of its day) and once to
settle the level and the day it falls (`settled`). Run: .venv/bin/python bench/engagement_score.py
"""

from __future__ import annotations

import timeit
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from service.core.engagement import engagement_at, settled
from service.engine import load_ruleset


def main() -> None:
    """Print the microseconds of each call for a member active every 4 days for 120 days."""
    program = load_ruleset(Path(__file__).resolve().parents[1] / "rules").program.engagement
    today = date(2026, 6, 1)
    days: dict[tuple[str, date], Decimal] = {}
    for ago in range(0, 120, 4):  # a purchase of 40 EUR and a review every 4 days
        day = today - timedelta(days=ago)
        days[("count:purchase", day)] = Decimal(1)
        days[("spend", day)] = Decimal(40)
        days[("count:review", day)] = Decimal(1)
    n = 2000
    read = timeit.timeit(lambda: engagement_at(program, days, today), number=n) / n
    settle = timeit.timeit(lambda: settled(program, days, today), number=n) / n
    print(
        f"{len(days)} day rows: engagement_at {read * 1e6:.0f} us, settled {settle * 1e6:.0f} us, "
        f"per event {(read + settle) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
