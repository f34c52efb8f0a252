"""A static bound on what evaluating a CEL expression may cost, checked when the ruleset loads.

cel-cpp stops a comprehension after an iteration budget, but nothing bounds the work or memory
of each iteration, and a running evaluation cannot be interrupted: two nested `map`s over
99-element literal lists (9,801 iterations) that concatenate 32 copies of a 1,000-character
`event.order_id` took seconds and gigabytes in one call, with the event loop stalled. So every
expression is measured before it may run, on its checked form (`celast`: macros expanded,
comments and spacing gone), with the largest value each input may hold (`events.py` bounds them
at the edge):

- each value gets a `Shape`: a scalar, a text of at most n characters, a list or map of at most
  n entries of a given shape; a comprehension's result grows by what one iteration adds, times
  the iterations;
- the cost is the sum, over every node, of how often it runs times (a step, plus the bytes it
  builds, plus the bytes a comparison, search or conversion reads): an upper bound, in bytes,
  of the work and of the memory one evaluation can take;
- refused: an expression over `MAX_SOURCE_CHARS`, comprehensions nested over
  `MAX_COMPREHENSION_DEPTH`, over `MAX_ITERATIONS` iterations, a cost over `MAX_COST`, or a
  function whose result the model cannot bound.

The loader adds the costs of every expression that runs on one event type and refuses a ruleset
over `MAX_EVENT_COST` (`gameload`), so no event can cost more than that in the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.engine.cel import CelCompileError, CompiledExpr
from service.engine.celast import Node, checked_tree
from service.engine.events import MAX_LIST, MAX_STRING

__all__ = [
    "MAX_COMPREHENSION_DEPTH",
    "MAX_COST",
    "MAX_EVENT_COST",
    "MAX_ITERATIONS",
    "MAX_SOURCE_CHARS",
    "CostRefused",
    "Measure",
    "Shape",
    "check_length",
    "measure",
    "variable_shape",
]

MAX_SOURCE_CHARS = 2000
MAX_COMPREHENSION_DEPTH = 2
MAX_ITERATIONS = 10_000
MAX_COST = 20_000_000
"""Most cost of one expression. A unit is about a nanosecond (1 to 3 measured): a `filter` over
a purchase's items, at 1,000 items of 1,000-character strings, costs about 14 million."""
MAX_EVENT_COST = 40_000_000
"""Most cost of all the expressions that run on one event type together."""

# The weights, in about nanoseconds of cel-cpp 0.1.3 on the 2-core machine (2026-12-02):
_STEP = 25
"""Evaluating one node once (a variable, a field, an operator), whatever it builds."""
_SLOT = 25
"""Making, copying or comparing one entry of a list or map. cel-cpp copies a comprehension's
list at every iteration (`map` and `filter` are quadratic: 1,000 elements take 12-25 ms)."""
_CHAR = 1
"""Building or reading one character (or byte) of a text."""
_MATCH_CHAR = 4
"""Searching one character with `matches` (a 1,000-character text: about 3.7 us)."""
_PATTERN_CHAR = 512
"""Compiling one character of a regular expression that is not a literal, at every call
(a 1,000-character pattern: about 400 us)."""
_HUGE = 10**18
"""Lengths and costs are clamped here so that the arithmetic stays cheap."""


@dataclass(frozen=True)
class Shape:
    """The largest a value can be: `kind` is scalar, text, list or map; `length` counts
    characters (bytes for bytes) or entries; `item` is an entry's shape, `key` a map key's."""

    kind: str
    length: int = 0
    item: Shape | None = None
    key: Shape | None = None
    fields: tuple[tuple[str, Shape], ...] = ()
    """A map with known keys (a purchase's item): each key's own shape."""

    @property
    def weight(self) -> int:
        """The cost of reading (or building) the whole value once."""
        if self.kind == "text":
            return min(_HUGE, self.length * _CHAR)
        if self.kind == "list":
            return min(_HUGE, self.length * (_SLOT + _weight(self.item)))
        if self.kind == "map":
            return min(_HUGE, self.length * (_SLOT + _weight(self.key) + _weight(self.item)))
        return 0


SCALAR = Shape("scalar")
_TEXT = Shape("text", MAX_STRING)
_ITEM = Shape(
    "map",
    4,
    _TEXT,
    Shape("text", 8),
    (("sku", _TEXT), ("category", _TEXT), ("quantity", SCALAR), ("price", SCALAR)),
)
_BIG = Shape("list", MAX_LIST, _ITEM)
"""The largest value an input can be: what an unknown non-scalar is taken to be."""


def _weight(shape: Shape | None) -> int:
    return 0 if shape is None else shape.weight


def _join(a: Shape | None, b: Shape | None) -> Shape | None:
    """The smallest shape (in this model) that holds both."""
    if a is None or b is None:
        return b if a is None else a
    if a.kind != b.kind:
        return a if a.weight >= b.weight else b
    fields = a.fields if a.fields == b.fields else ()
    return Shape(
        a.kind, max(a.length, b.length), _join(a.item, b.item), _join(a.key, b.key), fields
    )


def _joined(a: Shape | None, b: Shape | None) -> Shape:
    return _join(a, b) or SCALAR


def variable_shape(attr_type: str) -> Shape:
    """The largest value a declared variable of `attr_type` (`string`, `list<item>`) holds."""
    base = attr_type.rstrip("?")
    if base == "string":
        return _TEXT
    if base == "list<string>":
        return Shape("list", MAX_LIST, _TEXT)
    if base == "list<item>":
        return _BIG
    return SCALAR


class CostRefused(CelCompileError):
    """The expression may cost too much; a `CelCompileError`, so the loader positions it."""

    def __init__(self, source: str, offset: int, message: str) -> None:
        offset = max(0, min(offset, len(source)))
        line = source.count("\n", 0, offset) + 1
        col = offset - (source.rfind("\n", 0, offset) + 1) + 1
        super().__init__(line, col, message)


def check_length(source: str) -> None:
    """Refuse an expression too long to be worth compiling."""
    if len(source) > MAX_SOURCE_CHARS:
        raise CostRefused(
            source,
            MAX_SOURCE_CHARS,
            f"expression too long: {len(source)} characters (at most {MAX_SOURCE_CHARS})",
        )


# Calls that read nothing beyond their arguments' handles, and build nothing.
_FREE = frozenset({"_&&_", "_||_", "!_", "@not_strictly_false", "_?_:_", "_[_]", "dyn"})
_SCALAR_TYPE = "other"


class Measure:
    """The cost, iterations and comprehension depth of one checked expression."""

    def __init__(
        self, root: Node, types: Mapping[int, str], variables: Mapping[str, Shape]
    ) -> None:
        self.types = types
        self.variables = variables
        self.cost = 0
        self.iterations = 0
        self.unbounded: Node | None = None
        self._count = True
        self.depth, self.deepest = _depth(root)
        if self.depth <= MAX_COMPREHENSION_DEPTH:  # otherwise measuring is exponential
            self.shape(root, {}, 1)

    def _add(self, times: int, amount: int) -> None:
        if self._count:
            self.cost = min(_HUGE, self.cost + times * amount)

    def shape(self, node: Node, scope: Mapping[str, Shape], times: int) -> Shape:
        """The shape of `node`'s value; adds its cost, run `times` times, to the total."""
        self._add(times, _STEP)
        kind = node.kind
        if kind == "const":
            return Shape("text", node.size) if node.size else SCALAR
        if kind == "ident":
            found = scope.get(node.name) or self.variables.get(node.name)
            return found or self._fallback(node)
        if kind == "select":
            operand = self.shape(node.args[0], scope, times) if node.args else SCALAR
            known = dict(operand.fields)
            if node.target:  # has(x.f)
                return SCALAR
            if node.name in known:
                return known[node.name]
            if operand.kind == "map" and operand.item is not None:
                return operand.item
            return self._fallback(node)
        if kind == "list":
            item: Shape | None = None
            for each in node.args:
                item = _join(item, self.shape(each, scope, times))
            self._add(times, _SLOT * len(node.args))
            return Shape("list", len(node.args), item)
        if kind == "map":
            key: Shape | None = None
            value: Shape | None = None
            for i, each in enumerate(node.args):
                found = self.shape(each, scope, times)
                key, value = (
                    (_join(key, found), value) if i % 2 == 0 else (key, _join(value, found))
                )
            self._add(times, _SLOT * (len(node.args) // 2))
            return Shape("map", len(node.args) // 2, value, key)
        if kind == "loop":
            return self._loop(node, scope, times)
        return self._call(node, scope, times)

    def _fallback(self, node: Node) -> Shape:
        return SCALAR if self.types.get(node.id, _SCALAR_TYPE) == _SCALAR_TYPE else _BIG

    def _loop(self, node: Node, scope: Mapping[str, Shape], times: int) -> Shape:
        over, init, condition, step, result = node.args
        source = self.shape(over, scope, times)
        count = min(_HUGE, source.length) if source.kind in ("list", "map") else 1
        inner = dict(scope)
        inner[node.name] = (source.key if source.kind == "map" else source.item) or SCALAR
        if node.name2:  # two-variable form: (index or key, value)
            inner[node.name] = SCALAR if source.kind == "list" else inner[node.name]
            inner[node.name2] = source.item or SCALAR
        start = self.shape(init, scope, times)
        each = min(_HUGE, times * count)
        if self._count:
            self.iterations = min(_HUGE, self.iterations + each)
        # What one iteration adds to the accumulator, found with the accumulator at its start.
        counting, self._count = self._count, False
        once = self.shape(step, {**inner, node.accu: start}, 1)
        self._count = counting
        final = _grow(start, once, count)
        # Each iteration sees the accumulator half grown, on average.
        half = {**inner, node.accu: _grow(start, once, count // 2)}
        self.shape(condition, half, each)
        self.shape(step, half, each)
        return self.shape(result, {**scope, node.accu: final}, times)

    def _call(self, node: Node, scope: Mapping[str, Shape], times: int) -> Shape:
        args = [self.shape(a, scope, times) for a in node.args]
        name = node.name
        if name == "_?_:_" and len(args) == 3:
            return _joined(args[1], args[2])
        if name == "_[_]" and len(args) == 2:
            container = args[0]
            if container.kind in ("list", "map") and container.item is not None:
                return container.item
            return self._fallback(node)
        if name == "dyn" and args:
            return args[0]
        if name == "_+_" and len(args) == 2:
            return self._plus(node, args, times)
        if name in ("string", "bytes") and args:
            return self._convert(node, args[0], times)
        self._add(times, _reads(node, args))
        if name in _FREE or self.types.get(node.id, _SCALAR_TYPE) == _SCALAR_TYPE:
            return SCALAR
        if self.unbounded is None:  # a function that builds a value the model does not know
            self.unbounded = node
        return _BIG

    def _convert(self, node: Node, value: Shape, times: int) -> Shape:
        if value.kind in ("list", "map"):
            return self._fallback(node)
        length = value.length if value.kind == "text" else 40
        built = Shape("text", length * (4 if node.name == "bytes" else 1))
        self._add(times, built.weight + value.weight)
        return built

    def _plus(self, node: Node, args: list[Shape], times: int) -> Shape:
        left, right = args
        if left.kind != right.kind:
            return self._fallback(node)
        if left.kind not in ("text", "list"):
            return SCALAR
        total = Shape(
            left.kind, min(_HUGE, left.length + right.length), _join(left.item, right.item)
        )
        # texts are copied; lists shallowly (entries are shared, only their slots are copied)
        self._add(times, total.weight if left.kind == "text" else _SLOT * total.length)
        return total


def _reads(node: Node, args: list[Shape]) -> int:
    """What a call reads of its arguments: all of them, but for a list's size and for
    `matches`, whose pattern is compiled at every call unless it is a literal."""
    name = node.name
    if name in _FREE:
        return 0
    if name == "size":  # a list's or map's size is kept; a text's is counted
        return sum(a.weight for a in args if a.kind == "text")
    if name == "matches" and len(args) == 2:
        compiled = 0 if node.args[1].kind == "const" else args[1].weight * _PATTERN_CHAR
        return args[0].weight * _MATCH_CHAR + compiled
    return sum(a.weight for a in args)


def _grow(start: Shape, once: Shape, count: int) -> Shape:
    """The accumulator after `count` iterations that each turn `start` into `once`."""
    if start.kind == once.kind and start.kind in ("text", "list"):
        added = max(0, once.length - start.length)
        length = min(_HUGE, start.length + count * added)
        return Shape(start.kind, length, _join(start.item, once.item))
    return _joined(start, once)


def _depth(node: Node) -> tuple[int, Node | None]:
    """The deepest nesting of comprehensions (counted through their bodies: a chain
    `xs.map(...).map(...)` is two in a row, not nested) and the innermost one reaching it."""
    outer: tuple[int, Node | None] = (0, None)
    body: tuple[int, Node | None] = (0, None)
    for i, child in enumerate(node.args):
        found = _depth(child)
        if node.kind == "loop" and i in (2, 3):  # the condition and the step run per element
            body = found if found[0] > body[0] else body
        elif found[0] > outer[0]:
            outer = found
    if node.kind == "loop":
        body = (body[0] + 1, body[1] or node)
    return body if body[0] >= outer[0] else outer


def measure(expr: CompiledExpr, variables: Mapping[str, Shape]) -> int:
    """The cost of `expr` (as written and as it runs); `CostRefused` when it is over a limit."""
    cost = 0
    for program in dict.fromkeys((expr.checked, expr.program)):
        if program is None:
            continue
        tree = checked_tree(program.serialize())
        found = Measure(tree.root, tree.types, variables)
        where = tree.positions if program is expr.checked else {}
        _refuse(expr.source, found, where)
        cost = max(cost, found.cost)
    return cost


def _refuse(source: str, found: Measure, positions: Mapping[int, int]) -> None:
    def at(node: Node | None) -> int:
        return positions.get(node.id, 0) if node is not None else 0

    if found.depth > MAX_COMPREHENSION_DEPTH:
        raise CostRefused(
            source,
            at(found.deepest),
            f"comprehensions nested {found.depth} deep (at most {MAX_COMPREHENSION_DEPTH}): "
            "too costly to evaluate",
        )
    if found.unbounded is not None:
        raise CostRefused(
            source,
            at(found.unbounded),
            f"cannot bound what '{found.unbounded.name}' builds: too costly to evaluate",
        )
    if found.iterations > MAX_ITERATIONS:
        raise CostRefused(
            source,
            0,
            f"may iterate {found.iterations:,} times (at most {MAX_ITERATIONS:,}; a list "
            f"that is not a literal counts as {MAX_LIST:,}): too costly to evaluate",
        )
    if found.cost > MAX_COST:
        raise CostRefused(
            source,
            0,
            f"may cost {found.cost:,} to evaluate (at most {MAX_COST:,}, about ns; a string "
            f"from an event counts as {MAX_STRING:,} characters, a list as {MAX_LIST:,} "
            "elements): too costly to evaluate",
        )
