"""CEL through cel-expr-python (Google's cel-cpp): typed environments, compiled once, safe to run.

Each event type gets its own environment in which every field a rule may read is a declared,
typed variable with a qualified name (`event.amount: double`, `member.reviews: int`,
`member.attributes.region: string`). The checker then refuses `event.ammount` at compile time
with a line and column, and arithmetic is type-checked (`event.amount * 10` is refused: write
`10.0`). A missing optional attribute is simply not bound; reading it is a runtime error and the
rule does not fire.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

import msgspec
from cel_expr_python import cel
from cel_expr_python.ext.ext_math import ExtMath

from service.engine.problems import did_you_mean

__all__ = [
    "ENGAGEMENT_FIELDS",
    "CelCompileError",
    "CelEnv",
    "CompiledExpr",
    "attribute_cel_type",
    "build_env",
    "run",
]

_T = cel.Type
_SCALARS: dict[str, Any] = {
    "string": _T.STRING,
    "int": _T.INT,
    "decimal": _T.DOUBLE,
    "bool": _T.BOOL,
    "timestamp": _T.TIMESTAMP,
    "list<string>": _T.List(_T.STRING),
    "list<item>": _T.List(_T.Map(_T.STRING, _T.DYN)),
}

MEMBER_FIELDS: dict[str, str] = {
    "id": "string",
    "tier": "string",
    "purchases": "int",
    "reviews": "int",
    "referrals": "int",
    "lifetime_points": "int",
    "days_since_last_purchase": "int",
    "birthday_month": "int",
    "badges": "list<string>",
    "timezone": "string",
}
EVENT_FIELDS: dict[str, str] = {
    "type": "string",
    "id": "string",
    "member_id": "string",
    "occurred_at": "timestamp",
}
TIER_FIELDS: dict[str, str] = {"name": "string", "multiplier": "decimal"}
ENGAGEMENT_FIELDS: dict[str, str] = {"score": "decimal", "level": "string"}
"""`member.engagement.*`, besides one `decimal` (its share, 0..1) per component of the program."""


def _floor(x: float) -> int:
    return math.floor(x)


def _ceil(x: float) -> int:
    return math.ceil(x)


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _int_identity(x: int) -> int:
    return x


# Declared for the type checker only (positions in error messages are the author's). What runs
# is the same expression with these calls rewritten to cel-cpp's own math (`_native_math`):
# cel-expr-python 0.1.3 leaks about 100 bytes on every call of a Python-implemented function.
_FUNCTIONS = [
    cel.FunctionDecl(
        name,
        [
            cel.Overload(f"{name}_double", _T.INT, [_T.DOUBLE], impl=impl),
            cel.Overload(f"{name}_int", _T.INT, [_T.INT], impl=_int_identity),
        ],
    )
    for name, impl in (("floor", _floor), ("ceil", _ceil), ("round", _round))
]


_NATIVE_MATH = {
    "floor": ("int(math.floor(double(", ")))"),
    "ceil": ("int(math.ceil(double(", ")))"),
    "round": ("int(math.floor(double(", ") + 0.5))"),  # half up, as `_round`
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _native_math(source: str) -> str:
    """`source` with every `floor(a)`, `ceil(a)` and `round(a)` call written with cel-cpp's
    math extension (`int(math.floor(double(a)))`, ...), same results, no Python call. Strings
    and comments are copied as they are."""
    out: list[str] = []
    closers: list[str] = []  # for each open parenthesis, what closes it
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char in "'\"":
            end = _string_end(source, i)
            out.append(source[i:end])
            i = end
        elif source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            out.append(source[i:end])
            i = end
        elif char.isalpha() or char == "_":
            word = _IDENTIFIER.match(source, i)
            assert word is not None
            name, i = word.group(), word.end()
            j = i
            while j < n and source[j].isspace():
                j += 1
            previous = "".join(out).rstrip()[-1:]
            if name in _NATIVE_MATH and j < n and source[j] == "(" and previous != ".":
                opener, closer = _NATIVE_MATH[name]
                out.append(opener)
                closers.append(closer)
                i = j + 1
            else:
                out.append(name)
        elif char == "(":
            out.append(char)
            closers.append(")")
            i += 1
        elif char == ")":
            out.append(closers.pop() if closers else ")")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _string_end(source: str, start: int) -> int:
    """The index just past the string literal that opens at `start` (a quote character)."""
    raw = start > 0 and source[start - 1] in "rR"
    quote = source[start] * 3 if source.startswith(source[start] * 3, start) else source[start]
    i = start + len(quote)
    while i < len(source):
        if source[i] == "\\" and not raw:
            i += 2
        elif source.startswith(quote, i):
            return i + len(quote)
        else:
            i += 1
    return len(source)


def attribute_cel_type(attr_type: str) -> Any:
    """Return the CEL type for a declared attribute type (without the optional `?`)."""
    return _SCALARS[attr_type.rstrip("?")]


class CelCompileError(Exception):
    """An expression was refused; `line`/`col` are 1-based positions inside the expression."""

    def __init__(self, line: int, col: int, message: str) -> None:
        self.line, self.col, self.message = line, col, message
        super().__init__(f"{line}:{col}: {message}")


class CompiledExpr(msgspec.Struct, frozen=True):
    """A compiled CEL expression and its checked result type (`BOOL`, `INT`, `DOUBLE`, ...)."""

    source: str
    program: Any
    """What runs (with `floor`, `ceil` and `round` rewritten, see `CelEnv.runner`)."""
    result_type: str
    checked: Any = None
    """The program as written and type-checked: what positions in messages refer to."""


class CelEnv(msgspec.Struct, frozen=True):
    """A CEL environment for one event type, with the names its rules may read."""

    event_type: str
    env: Any
    """Type-checks expressions as written (with `floor`, `ceil` and `round` declared)."""
    runner: Any
    """Runs them, with those calls rewritten to cel-cpp's math extension (`_native_math`)."""
    event_attributes: tuple[str, ...]
    member_attributes: tuple[str, ...]
    names: frozenset[str]
    declared: dict[str, str] = {}
    """Each variable's attribute type (`event.order_id` -> `string`), for the cost model."""

    def compile(self, source: str, expected: tuple[str, ...]) -> CompiledExpr:
        """Compile and type-check `source`; its result type must be one of `expected`."""
        try:
            program = self.env.compile(source)
        except RuntimeError as exc:
            line, col, message = _first_error(str(exc))
            raise CelCompileError(line, col, self._explain(message)) from None
        result = program.return_type().name()
        if result not in expected and result != "DYN":
            want = " or ".join(t.lower() for t in expected)
            raise CelCompileError(1, 1, f"expression gives {result.lower()}, expected {want}")
        checked, native = program, _native_math(source)
        if native != source:
            # The rewrite only renames calls; should cel-cpp refuse it all the same, the checked
            # program still gives the right answers (with the binding's leak).
            with contextlib.suppress(RuntimeError):
                program = self.runner.compile(native)
        return CompiledExpr(source, program, result, checked)

    def _explain(self, message: str) -> str:
        found = re.match(r"undeclared reference to '([^']+)'", message)
        if not found:
            return message
        name = found.group(1)
        head, _, rest = name.partition(".")
        if head == "event" and rest:
            attr = rest.split(".")[0]
            choices = [*EVENT_FIELDS, *self.event_attributes]
            return (
                f"unknown attribute 'event.{attr}' on {self.event_type} events"
                f"{did_you_mean(attr, choices)}"
            )
        if head == "member" and rest.startswith("attributes."):
            attr = rest.removeprefix("attributes.").split(".")[0]
            return (
                f"undeclared member attribute '{attr}'{did_you_mean(attr, self.member_attributes)}"
            )
        if head == "member" and rest == "engagement":
            return (
                "member.engagement is the composite score: read member.engagement.level, "
                "member.engagement.score or member.engagement.<component>"
            )
        if head == "member" and rest.startswith("engagement."):
            part = rest.removeprefix("engagement.").split(".")[0]
            prefix = "member.engagement."
            choices = [n.removeprefix(prefix) for n in self.declared if n.startswith(prefix)]
            return (
                f"unknown engagement component 'member.engagement.{part}'"
                f"{did_you_mean(part, choices)}"
            )
        if head == "member" and rest:
            field = rest.split(".")[0]
            choices = [*MEMBER_FIELDS, "attributes"]
            return f"unknown member field '{field}'{did_you_mean(field, choices)}"
        if head == "tier" and rest:
            return f"unknown tier field '{rest}'{did_you_mean(rest, TIER_FIELDS)}"
        hint = did_you_mean(name, ["event", "member", "tier", "now"])
        return f"undeclared reference to '{name}'{hint}"


_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


def _first_error(text: str) -> tuple[int, int, str]:
    found = _ERROR.search(text)
    if not found:
        return 1, 1, text.strip()
    message = found.group(3).replace(" (in container '')", "").strip()
    return int(found.group(1)), int(found.group(2)), message


def build_env(
    event_type: str,
    event_attributes: dict[str, str],
    member_attributes: dict[str, str],
    engagement_components: tuple[str, ...] = (),
) -> CelEnv:
    """Declare `event.*`, `member.*`, `member.engagement.*` (the score, the level and each
    component's share), `tier.*` and `now` as typed CEL variables of an event type."""
    engagement = {**ENGAGEMENT_FIELDS, **dict.fromkeys(engagement_components, "decimal")}
    variables: dict[str, Any] = {"now": _T.TIMESTAMP}
    declared: dict[str, str] = {"now": "timestamp"}
    for prefix, fields in (
        ("event.", {**EVENT_FIELDS, **event_attributes}),
        ("member.", MEMBER_FIELDS),
        ("member.attributes.", member_attributes),
        ("member.engagement.", engagement),
        ("tier.", TIER_FIELDS),
    ):
        for name, attr_type in fields.items():
            variables[prefix + name] = attribute_cel_type(attr_type)
            declared[prefix + name] = attr_type
    env = cel.NewEnv(variables=variables, functions=_FUNCTIONS)
    runner = cel.NewEnv(variables=variables, extensions=[ExtMath()])
    return CelEnv(
        event_type,
        env,
        runner,
        tuple(event_attributes),
        tuple(member_attributes),
        frozenset(variables),
        declared,
    )


def run(expr: CompiledExpr, activation: Any) -> tuple[Any, str | None]:
    """Evaluate; return `(value, None)` or `(None, error text)` — never raises on CEL errors."""
    try:
        value = expr.program.eval(activation)
    except Exception as exc:  # a binding failure must not crash the caller
        return None, f"{type(exc).__name__}: {exc}"
    kind = value.type().name()
    if kind == "ERROR":
        return None, _runtime_message(str(value.value()))
    return value.plain_value(), None


def _runtime_message(text: str) -> str:
    missing = re.search(r'No value with name "([^"]+)" found', text)
    if missing:
        return f"'{missing.group(1)}' has no value for this event or member"
    return re.sub(r"^[A-Z_]+: ", "", text)
