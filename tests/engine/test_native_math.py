"""`floor`, `ceil` and `round` run on cel-cpp's own math, not on Python callbacks (which leak
about 100 bytes per call in cel-expr-python 0.1.3), with the same results."""

from __future__ import annotations

import math
import tracemalloc

import pytest

from service.engine.cel import _native_math, build_env, run


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("floor(x)", "int(math.floor(double(x)))"),
        ("ceil(x * 2.0)", "int(math.ceil(double(x * 2.0)))"),
        ("round(x)", "int(math.floor(double(x) + 0.5))"),
        (
            "floor(ceil(x) * 1.5) + 1",
            "int(math.floor(double(int(math.ceil(double(x))) * 1.5))) + 1",
        ),
        ("floor (x)", "int(math.floor(double(x)))"),
        ("(floor(x))", "(int(math.floor(double(x))))"),
        (
            "'floor(x)' + \"ceil(\" + r'\\' + floor(y)",
            "'floor(x)' + \"ceil(\" + r'\\' + int(math.floor(double(y)))",
        ),
        ("'''round(''' == s", "'''round(''' == s"),
        ("x > 1 // floor(x) in a comment\n&& y", "x > 1 // floor(x) in a comment\n&& y"),
        ("a.floor(x)", "a.floor(x)"),
        ("floored(x) + myfloor(x)", "floored(x) + myfloor(x)"),
        ("size(items) > 0", "size(items) > 0"),
    ],
)
def test_calls_are_rewritten_and_nothing_else(source, expected):
    assert _native_math(source) == expected


def _env():
    return build_env("purchase", {"amount": "decimal", "quantity": "int"}, {})


@pytest.mark.parametrize("name", ["floor", "ceil", "round"])
def test_the_native_program_gives_what_python_math_gives(name):
    env = _env()
    on_double = env.compile(f"{name}(event.amount * 1.0)", ("INT",))
    on_int = env.compile(f"{name}(event.quantity)", ("INT",))
    reference = {"floor": math.floor, "ceil": math.ceil, "round": lambda x: math.floor(x + 0.5)}
    for value in (0.0, 0.49, 0.5, 0.51, 1.5, 2.5, 12.9, 1e12 + 0.5, -0.5, -1.5, -2.5, -12.9):
        activation = env.env.Activation({"event.amount": value, "event.quantity": int(value)})
        assert run(on_double, activation) == (reference[name](value), None), value
        assert run(on_int, activation) == (int(value), None), value


def test_running_a_formula_keeps_no_python_objects_behind():
    env = _env()
    formula = env.compile("floor(event.amount * 10.0) + ceil(1.5) + round(2.5)", ("INT",))
    activation = env.env.Activation({"event.amount": 12.34, "event.quantity": 1})
    for _ in range(200):
        run(formula, activation)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5_000):
            run(formula, activation)
        grown = tracemalloc.take_snapshot().compare_to(before, "filename")
    finally:
        tracemalloc.stop()
    # With Python callbacks this was 15,000 objects (three calls per run) and ~500 kB.
    assert sum(stat.count_diff for stat in grown) < 100
