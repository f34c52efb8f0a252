"""The checked form of a CEL expression as a small tree, read from cel-cpp's own bytes.

`Expression.serialize()` gives a `google.protobuf.Any` holding a `cel.expr.CheckedExpr`. The
binding has no Python view of it and protobuf is not a dependency, so this module reads the
few fields it needs straight from the wire format. Macros are already expanded
(`xs.map(x, f)` is a `Comprehension`), comments and spacing are gone: what is measured here is
what runs.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Checked", "Node", "checked_tree"]


@dataclass
class Node:
    """One expression node: `kind` is const, ident, select, call, list, map or loop."""

    id: int
    kind: str
    name: str = ""
    """ident: the name; select: the field; call: the function; loop: the iteration variable."""
    args: list[Node] = field(default_factory=list)
    """select: [operand]; call: [target?, *args]; list: elements; map: [key, value, ...];
    loop: [range, init, condition, step, result]."""
    target: bool = False
    """call: whether `args[0]` is the receiver (`x.f(y)`); select: whether it is `has(x.f)`."""
    size: int = 0
    """const: the length of a string or bytes literal."""
    accu: str = ""
    """loop: the accumulator's name."""
    name2: str = ""
    """loop: the second iteration variable, if any."""


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) of a message: ints for varints and fixed, bytes for the rest."""
    out: list[tuple[int, Any]] = []
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = struct.unpack_from("<Q", data, i)[0], i + 8
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = struct.unpack_from("<I", data, i)[0], i + 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
        out.append((number, value))
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _node(data: bytes) -> Node:
    fields = _fields(data)
    node_id = next((v for k, v in fields if k == 2), 0)
    for number, value in fields:
        if number == 3:
            return _const(node_id, value)
        if number == 4:
            return Node(node_id, "ident", name=_text(dict(_fields(value)).get(1, b"")))
        if number == 5:
            return _select(node_id, value)
        if number == 6:
            return _call(node_id, value)
        if number == 7:
            return Node(node_id, "list", args=[_node(v) for k, v in _fields(value) if k == 1])
        if number == 8:
            return _struct(node_id, value)
        if number == 9:
            return _loop(node_id, value)
    return Node(node_id, "const")  # an unset expression: nothing to measure


def _const(node_id: int, data: bytes) -> Node:
    for number, value in _fields(data):
        if number == 6:  # string: its length in characters
            return Node(node_id, "const", size=len(_text(value)))
        if number == 7:  # bytes
            return Node(node_id, "const", size=len(value))
    return Node(node_id, "const")


def _select(node_id: int, data: bytes) -> Node:
    fields = _fields(data)
    operand = [_node(v) for k, v in fields if k == 1]
    name = next((_text(v) for k, v in fields if k == 2), "")
    test_only = any(k == 3 and v for k, v in fields)  # has(x.f)
    return Node(node_id, "select", name=name, args=operand, target=test_only)


def _call(node_id: int, data: bytes) -> Node:
    fields = _fields(data)
    target = [_node(v) for k, v in fields if k == 1]
    function = next((_text(v) for k, v in fields if k == 2), "")
    args = [_node(v) for k, v in fields if k == 3]
    return Node(node_id, "call", name=function, args=target + args, target=bool(target))


def _struct(node_id: int, data: bytes) -> Node:
    parts: list[Node] = []
    for number, entry in _fields(data):
        if number != 2:
            continue
        fields = _fields(entry)
        key = next((_node(v) for k, v in fields if k == 3), None)
        if key is None:  # a message field name: no value is built for it
            key = Node(0, "const")
        value = next((_node(v) for k, v in fields if k == 4), Node(0, "const"))
        parts.extend((key, value))
    return Node(node_id, "map", args=parts)


def _loop(node_id: int, data: bytes) -> Node:
    fields = dict(_fields(data))
    empty = Node(0, "const")

    def part(number: int) -> Node:
        return _node(fields[number]) if number in fields else empty

    return Node(
        node_id,
        "loop",
        name=_text(fields.get(1, b"")),
        name2=_text(fields.get(8, b"")),
        accu=_text(fields.get(3, b"")),
        args=[part(2), part(4), part(5), part(6), part(7)],
    )


@dataclass
class Checked:
    """A checked expression: its tree, each node's result type (`text` for strings and bytes,
    `list`, `map`, `dyn` when the checker could not tell, `other` for scalars) and where each
    node starts in the source (in characters)."""

    root: Node
    types: dict[int, str]
    positions: dict[int, int]


_PRIMITIVE_TEXT = (5, 6)  # STRING, BYTES


def _type_kind(data: bytes) -> str:
    for number, value in _fields(data):
        if number in (3, 4):  # primitive, wrapper
            return "text" if value in _PRIMITIVE_TEXT else "other"
        if number == 6:
            return "list"
        if number == 7:
            return "map"
        if number in (1, 10, 14):  # dyn, type parameter, abstract (optional)
            return "dyn"
        return "other"
    return "dyn"


def checked_tree(serialized: bytes) -> Checked:
    """Read `Expression.serialize()` (an `Any` holding a `CheckedExpr`)."""
    any_fields = dict(_fields(serialized))
    checked = _fields(any_fields.get(2, b""))
    root = next((_node(v) for k, v in checked if k == 4), Node(0, "const"))
    types: dict[int, str] = {}
    positions: dict[int, int] = {}
    for number, value in checked:
        if number == 3:
            entry = dict(_fields(value))
            types[entry.get(1, 0)] = _type_kind(entry.get(2, b""))
        elif number == 5:
            for info_number, info in _fields(value):
                if info_number == 4:
                    entry = dict(_fields(info))
                    positions[entry.get(1, 0)] = entry.get(2, 0)
    return Checked(root, types, positions)
