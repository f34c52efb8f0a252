"""A conservative static bound on what a CEL expression may cost, checked at load time.

cel-cpp stops a comprehension after an iteration budget (about 10,000 iterations), but not the
work or memory of each iteration: measured on the 2-core machine, two nested `map`s over 90-element
literal lists (8,100 iterations, within the budget) that join a 1 MB event string ran 37 s and
grew the process to 15 GB. So expressions are bounded by their text before they are compiled:

- at most `MAX_SOURCE_CHARS` characters;
- comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) nested at most
  `MAX_COMPREHENSION_DEPTH` deep;
- at most `MAX_ITERATIONS` iterations in all, counting a literal list's elements as its size and
  any other range (`event.items`, `member.badges`) as `ASSUMED_RANGE` elements, multiplied along
  each nesting.

The scan is lexical (string literals skipped), so it never runs the expression.
"""

from __future__ import annotations

import re

from service.engine.cel import CelCompileError

__all__ = [
    "ASSUMED_RANGE",
    "MAX_COMPREHENSION_DEPTH",
    "MAX_ITERATIONS",
    "MAX_SOURCE_CHARS",
    "CostRefused",
    "check_cost",
    "estimate",
]

MAX_SOURCE_CHARS = 2000
MAX_COMPREHENSION_DEPTH = 2
MAX_ITERATIONS = 10_000
ASSUMED_RANGE = 1000
"""The size assumed for a list that is not a literal (the event's items, a member's badges)."""

_MACROS = frozenset(
    {"all", "exists", "exists_one", "map", "filter", "transformList", "transformMap", "sortBy"}
)
_CALLED = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
"""A method name right before a `(`: `.map(`, `. exists (`."""


class CostRefused(CelCompileError):
    """The expression may cost too much; a `CelCompileError`, so the loader positions it."""

    def __init__(self, source: str, offset: int, message: str) -> None:
        line = source.count("\n", 0, offset) + 1
        col = offset - (source.rfind("\n", 0, offset) + 1) + 1
        super().__init__(line, col, message)


class _Scan:
    """Positions of brackets and comprehension calls outside string literals."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.code: list[tuple[int, str]] = []  # (offset, char) of every char outside strings
        self._skip_strings()

    def _skip_strings(self) -> None:
        text, i = self.source, 0
        while i < len(text):
            char = text[i]
            if char in "\"'":
                quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else char
                raw = i > 0 and text[i - 1] in "rR"
                i += len(quote)
                while i < len(text) and not text.startswith(quote, i):
                    i += 2 if text[i] == "\\" and not raw else 1
                i += len(quote)
                self.code.append((i - 1, "s"))  # a string literal is one value
                continue
            self.code.append((i, char))
            i += 1


def _literal_size(code: list[tuple[int, str]], close: int) -> int | None:
    """Elements of the list literal whose `]` is at index `close` of `code`, else None."""
    depth, commas, empty = 0, 0, True
    for j in range(close - 1, -1, -1):
        char = code[j][1]
        if char in ")]}":
            depth += 1
        elif char in "([{":
            if depth == 0:
                if char != "[":
                    return None
                # a `[` right after a name or `)` is an index, not a literal
                before = next((c for _, c in reversed(code[:j]) if not c.isspace()), "")
                if before and (before.isalnum() or before in "_)]"):
                    return None
                return 0 if empty else commas + 1
            depth -= 1
        elif char == "," and depth == 0:
            commas += 1
        elif not char.isspace():
            empty = False
    return None


def estimate(source: str) -> tuple[int, int]:
    """(deepest comprehension nesting, iterations in the worst case) of `source`."""
    scan = _Scan(source)
    code = scan.code
    text = "".join(c for _, c in code)
    stack: list[int] = []  # per open bracket: the range size if it opens a comprehension, else 0
    deepest, total = 0, 0
    for k, (_, char) in enumerate(code):
        if char in "([{":
            size = 0
            if char == "(":
                found = _CALLED.search(text, max(0, k - 40), k)
                if found and found.group(1) in _MACROS:
                    receiver_end = found.start() - 1
                    while receiver_end >= 0 and text[receiver_end].isspace():
                        receiver_end -= 1
                    literal = (
                        _literal_size(code, receiver_end)
                        if receiver_end >= 0 and text[receiver_end] == "]"
                        else None
                    )
                    size = max(1, literal if literal is not None else ASSUMED_RANGE)
            stack.append(size)
            if size:
                nesting = [s for s in stack if s]
                deepest = max(deepest, len(nesting))
                product = 1
                for s in nesting:
                    product *= s
                total += product
        elif char in ")]}" and stack:
            stack.pop()
    return deepest, total


def check_cost(source: str) -> None:
    """Raise `CostRefused` when `source` is too long, nests comprehensions too deeply, or may
    iterate too often."""
    if len(source) > MAX_SOURCE_CHARS:
        raise CostRefused(
            source,
            MAX_SOURCE_CHARS,
            f"expression too long: {len(source)} characters (at most {MAX_SOURCE_CHARS})",
        )
    deepest, iterations = estimate(source)
    if deepest > MAX_COMPREHENSION_DEPTH:
        raise CostRefused(
            source,
            0,
            f"comprehensions nested {deepest} deep (at most {MAX_COMPREHENSION_DEPTH}): "
            "too costly to evaluate",
        )
    if iterations > MAX_ITERATIONS:
        raise CostRefused(
            source,
            0,
            f"may iterate {iterations} times (at most {MAX_ITERATIONS}; a list that is not "
            f"a literal counts as {ASSUMED_RANGE}): too costly to evaluate",
        )
