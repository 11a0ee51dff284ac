"""A definition (Symbol) and what every language's walker reads off a tree-sitter node: its text, name, lines, first sentence and the comment block above it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import tree_sitter as ts


@dataclass
class Symbol:
    """One definition, with the lines it spans."""

    name: str
    kind: str  # class, function, method, struct, interface, trait, enum, type, module, constant
    line: int  # the line naming it
    start: int  # first line, decorators and attributes included
    end: int
    parent: str = ""  # the class, impl type or receiver a method belongs to
    exported: bool = True  # public by the language's convention
    doc: str = ""  # first sentence of its docstring or leading doc comment
    decorators: list[str] = field(default_factory=list)  # decorators / attributes, as written
    decorator_lines: list[int] = field(default_factory=list)  # the line of each decorator
    bases: str = ""  # base classes, extends/implements clause, as written
    variants: list[tuple[str, int]] = field(default_factory=list)  # enum variants and lines


def node_text(node: ts.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text else ""


def node_name(node: ts.Node) -> str:
    return node_text(node.child_by_field_name("name"))


def node_lines(node: ts.Node) -> tuple[int, int]:
    end = node.end_point.row + (1 if node.end_point.column else 0)
    return node.start_point.row + 1, max(end, node.start_point.row + 1)


def first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0].strip()
    return first[:240]


def leading_comment(node: ts.Node) -> str:
    """The comment block directly above a node (attributes and decorators may sit between)."""
    parts: list[str] = []
    row = node.start_point.row
    prev = node.prev_sibling
    while prev is not None:
        if prev.type in ("attribute_item", "decorator", "annotation"):
            row = prev.start_point.row
            prev = prev.prev_sibling
            continue
        if "comment" not in prev.type or prev.end_point.row < row - 1:
            break
        parts.insert(0, node_text(prev))
        row = prev.start_point.row
        prev = prev.prev_sibling
    lines = []
    for part in parts:
        for line in part.split("\n"):
            line = re.sub(r"^\s*(///?!?|/\*\*?|\*/|\*|#)\s?", "", line).rstrip("*/ ").strip()
            lines.append(line)
    return first_sentence(" ".join(lines))


def make_symbol(node: ts.Node, name_node: ts.Node, kind: str, **extra: Any) -> Symbol:
    start, end = node_lines(node)
    return Symbol(node_text(name_node), kind, name_node.start_point.row + 1, start, end, **extra)
