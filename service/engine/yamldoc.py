"""YAML with positions: compose nodes, build plain values, remember where each value sits.

Anchors and aliases (`&a`, `*a`) are refused where they appear: an alias is a reference, and
building plain values from references expands them without limit (ten levels of ten aliases in
350 bytes become ten billion values). Nesting deeper than `MAX_DEPTH` is refused too, before
the recursion it would need.

Decoding into msgspec structs goes through `decode`, which turns a `ValidationError` path such as
`$.rules[2].actions[0].points` back into the `file:line:col` of that node, with a did-you-mean on
unknown fields.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import msgspec
import yaml

from service.engine.problems import Problem, did_you_mean

__all__ = ["MAX_DEPTH", "Path", "Pos", "YamlDoc", "decode", "parse_yaml"]

Path = tuple[str | int, ...]
_T = typing.TypeVar("_T")

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists in one YAML file (the demo's deepest is 6)."""


class _Refused(yaml.MarkedYAMLError):
    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _PlainLoader(yaml.SafeLoader):
    """The safe loader without anchors or aliases, and with a bound on nesting."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                event.start_mark,
                "anchors and aliases (&name, *name) are not allowed in rule files: "
                "write the value out",
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class Pos(msgspec.Struct, frozen=True):
    """Where a node starts (1-based) and, for block scalars, where its text starts."""

    line: int
    col: int
    style: str | None = None
    text_line: int = 0
    text_col: int = 0


class YamlDoc(msgspec.Struct):
    """A parsed YAML document: its plain data and the position of each value and key."""

    file: str
    data: Any
    values: dict[Path, Pos]
    keys: dict[Path, Pos]

    def pos(self, path: Path) -> Pos:
        """Return the position of the value at `path`, or of its nearest known ancestor."""
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, Pos(1, 1))

    def key_pos(self, path: Path) -> Pos:
        """Return the position of the key that introduces `path` (its value's when unknown)."""
        return self.keys.get(path) or self.pos(path)

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """Build a problem pinned at the value (or key) at `path`."""
        where = self.key_pos(path) if key else self.pos(path)
        return Problem(self.file, where.line, where.col, message)


class _Builder:
    def __init__(self, file: str, lines: list[str]) -> None:
        self.file = file
        self.lines = lines
        self.values: dict[Path, Pos] = {}
        self.keys: dict[Path, Pos] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def pos(self, node: yaml.Node) -> Pos:
        mark = node.start_mark
        style = getattr(node, "style", None)
        if style in ("|", ">"):
            text_line = mark.line + 1
            while text_line < len(self.lines) and not self.lines[text_line].strip():
                text_line += 1
            text = self.lines[text_line] if text_line < len(self.lines) else ""
            indent = len(text) - len(text.lstrip(" "))
            return Pos(mark.line + 1, mark.column + 1, style, text_line + 1, indent + 1)
        offset = 1 if style in ("'", '"') else 0
        return Pos(mark.line + 1, mark.column + 1, style, mark.line + 1, mark.column + 1 + offset)

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.values[path] = self.pos(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                # Keys stay text: YAML 1.1 would read `on:` as the boolean true.
                key = str(key_node.value)
                if key in out:
                    where = self.pos(key_node)
                    self.problems.append(
                        Problem(self.file, where.line, where.col, f"duplicate key '{key}'")
                    )
                self.keys[(*path, key)] = self.pos(key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            # a scalar YAML reads as a date that cannot be (`2026-13-45`), or an unknown tag
            where = self.pos(node)
            reason = getattr(exc, "problem", None) or str(exc)
            message = f"cannot read {str(node.value)[:40]!r}: {reason}"
            self.problems.append(Problem(self.file, where.line, where.col, message))
            return str(node.value)


def parse_yaml(file: str, text: str) -> tuple[YamlDoc | None, list[Problem]]:
    """Parse one YAML document; on a syntax error return no document and the problem."""
    try:
        node = yaml.compose(text, Loader=_PlainLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = "" if isinstance(exc, _Refused) else "YAML syntax error: "
        return None, [Problem(file, line, col, f"{what}{exc.problem}")]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control, C1)
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        found = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        return None, [Problem(file, line, col, f"YAML does not allow {found} ({exc.reason})")]
    builder = _Builder(file, text.splitlines())
    data = {} if node is None else builder.build(node, ())
    doc = YamlDoc(file, data, builder.values, builder.keys)
    return doc, builder.problems


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[(.*?)\]")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]*)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]*)`")


def _parse_path(text: str) -> Path:
    path: list[str | int] = []
    for name, index, other in _SEGMENT.findall(text):
        if name:
            path.append(name)
        elif index:
            path.append(int(index))
        else:
            path.append(other.strip("'\""))
    return tuple(path)


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None) and (_is_struct(arg) or typing.get_origin(arg)):
                return arg
    return tp


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _type_at(tp: Any, path: Path) -> Any:
    for segment in path:
        tp = _unwrap(tp)
        if _is_struct(tp):
            fields = {f.encode_name: f.type for f in msgspec.structs.fields(tp)}
            if segment not in fields:
                return None
            tp = fields[str(segment)]
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    return _unwrap(tp)


def _describe(tp: Any) -> str:
    if not _is_struct(tp):
        return "mapping"
    name = tp.__name__.removesuffix("Def").removesuffix("File") or tp.__name__
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def decode(doc: YamlDoc, value: Any, path: Path, tp: type[_T]) -> tuple[_T | None, list[Problem]]:
    """Convert `value` (found at `path` in `doc`) to `tp`; on failure, one positioned problem."""
    try:
        return msgspec.convert(value, tp), []
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        message = match.group("msg") if match else str(exc)
        inner = _parse_path(match.group("path") or "") if match else ()
        where = (*path, *inner)
        unknown = _UNKNOWN.match(message)
        if unknown:
            field = unknown.group("field")
            owner = _type_at(tp, inner)
            names = (
                [f.encode_name for f in msgspec.structs.fields(owner)] if _is_struct(owner) else []
            )
            hint = did_you_mean(field, names)
            text = f"unknown field '{field}' in {_describe(owner)}{hint}"
            return None, [doc.problem((*where, field), text, key=True)]
        missing = _MISSING.match(message)
        if missing:
            owner = _type_at(tp, inner)
            text = f"missing required field '{missing.group('field')}' in {_describe(owner)}"
            return None, [doc.problem(where, text)]
        return None, [doc.problem(where, message.replace("`", "'"))]
