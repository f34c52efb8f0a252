"""Micro-benchmark (not a test): evaluations per second of `evaluate` over the demo ruleset.

Run: .venv/bin/python bench/rules_eval.py [seconds]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from service.engine import Event, MemberCounters, MemberSnapshot, evaluate, load_ruleset
from service.engine.cel import run
from service.engine.evaluate import cel_activation_data

ROOT = Path(__file__).resolve().parents[1]


def main(seconds: float = 3.0) -> None:
    ruleset = load_ruleset(ROOT / "rules")
    now = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    event = Event(
        id="bench-1",
        type="purchase",
        member_id="m-1",
        occurred_at=now,
        attributes={
            "order_id": "A-1",
            "amount": Decimal("120.00"),
            "currency": "EUR",
            "items": [
                {"sku": "S-1", "category": "shoes", "quantity": 1, "price": Decimal("80.00")},
                {"sku": "T-9", "category": "socks", "quantity": 2, "price": Decimal("20.00")},
            ],
        },
    )
    member = MemberSnapshot(
        member_id="m-1",
        tier="gold",
        tier_multiplier=1.5,
        attributes={"region": "north"},
        counters=MemberCounters(purchases=12, last_purchase_at=datetime(2026, 5, 1, tzinfo=UTC)),
        badges=frozenset({"first-review"}),
    )
    result = evaluate(ruleset, member, event, now)
    print(
        f"ruleset {ruleset.short_version}: {len(ruleset.rules)} rules, fired {result.fired}, "
        f"{result.points} points"
    )

    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            evaluate(ruleset, member, event, now)
        count += 1000
    elapsed = time.perf_counter() - start
    print(f"evaluate(): {count / elapsed:,.0f} evaluations/s ({elapsed / count * 1e6:.1f} us each)")

    rule = ruleset.rule("base-earn")
    assert rule is not None
    formula = rule.actions[0].expr
    assert formula is not None
    activation = ruleset.envs["purchase"].env.Activation(
        cel_activation_data(ruleset, member, event, now)
    )
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            run(formula, activation)
        count += 1000
    elapsed = time.perf_counter() - start
    print(f"base-earn formula alone (prepared activation): {count / elapsed:,.0f} evals/s")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
