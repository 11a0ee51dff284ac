"""Markdown reading shared by the note chunker, the template parser and the renderer.

Which lines are headings, code fences and HTML comments is decided once, by markdown-it-py (a
CommonMark parser whose tokens carry line maps), in `blocks`. Everything finer is read line by line
with the patterns below, because rendering must put every untouched byte back where it was (the
round trip), which no Markdown AST promises.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TypeVar

from markdown_it import MarkdownIt

# A placeholder is `[text]` not followed by `(` (that would be a link) and not a footnote `[^1]`
# or a task box `[ ]` / `[x]`.
PLACEHOLDER_RE = re.compile(r"\[(?![\^ xX]\])(?!\^)([^\[\]\n]*[^\[\]\s][^\[\]\n]*)\](?!\()")
DATE_TOKEN_RE = re.compile(r"\bYYYY-MM-DD\b")
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
FENCE_RE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$")
BULLET_RE = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$")
HR_RE = re.compile(r"^[ \t]{0,3}([-*_])([ \t]*\1){2,}[ \t]*$")
TABLE_LINE_RE = re.compile(r"^[ \t]*\|")
TABLE_SEPARATOR_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
LINK_ONLY_RE = re.compile(r"^\[[^\[\]\n]+\]\([^)\n]*\)\s*$")
# `**Label**: rest`, `**Label:** rest`, or `Label: rest` (short plain label, no brackets).
BOLD_LABEL_RE = re.compile(r"^\*\*(?P<label>[^*]+?)\*\*(?P<colon>:?)\s*(?P<rest>.*)$")
PLAIN_LABEL_RE = re.compile(
    r"^[*_]{0,2}(?P<label>[A-Za-z0-9][\w /&'()-]{0,48}?):\s+(?P<rest>(\[|YYYY-MM-DD).*)$"
)
NUMBER_RE = re.compile(r"\d+")


@dataclass(frozen=True)
class Block:
    """A heading, code fence or HTML comment: lines [start, end) of the text (0-based)."""

    kind: str  # "heading", "fence" or "comment"
    start: int
    end: int
    level: int = 0  # a heading's level
    title: str = ""  # a heading's text
    setext: bool = False  # a heading underlined with === or ---
    closed: bool = True  # a fence whose closing line is there


@cache
def _parser() -> MarkdownIt:
    # GitHub's tables: a table row above a `---` line is no setext heading. Only blocks are read
    # (inline parsing would double the time): a heading's inline token keeps its raw text.
    return MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])


def blocks(lines: list[str]) -> list[Block]:
    """The headings, code fences and HTML comments of a Markdown text, in order (those inside list
    items and block quotes too; nothing inside a fence or a comment)."""
    return list(_blocks("\n".join(lines)))


@lru_cache(maxsize=8)
def _blocks(text: str) -> tuple[Block, ...]:
    # Indexing reads one notes file three ways (chunks, template check, decisions): parsed once.
    lines = text.split("\n")
    found: list[Block] = []
    # markdown-it also breaks lines at a lone "\r": blanked here, so its line map stays ours.
    tokens = _parser().parse(text.replace("\r", " "))
    for n, tok in enumerate(tokens):
        if tok.map is None:
            continue
        start, end = tok.map
        if tok.type == "heading_open":
            title = tokens[n + 1].content if n + 1 < len(tokens) else ""
            setext = tok.markup in ("=", "-")
            found.append(Block("heading", start, end, int(tok.tag[1]), title.strip(), setext))
        elif tok.type == "fence":
            # The closing line, without the indentation or `>` of a list item or block quote.
            last = lines[end - 1].lstrip(" \t>") if end - 1 > start else ""
            closed = last.startswith(tok.markup) and not last.lstrip(tok.markup[0]).strip()
            found.append(Block("fence", start, end, closed=closed))
        elif tok.type == "html_block" and tok.content.lstrip().startswith("<!--"):
            found.append(Block("comment", start, end))
        elif tok.type == "html_block":
            # CommonMark runs raw HTML on to the next blank line, taking a heading written right
            # below `<div align="center">` with it; such a heading is one to the writer.
            for i in range(start, end):
                m = HEADING_RE.match(lines[i])
                if m and m.group(2):
                    found.append(Block("heading", i, i + 1, len(m.group(1)), m.group(2).strip()))
    return tuple(found)


def fenced_lines(lines: list[str]) -> set[int]:
    """The 0-based lines inside code fences, the fence lines included."""
    return {i for b in blocks(lines) if b.kind == "fence" for i in range(b.start, b.end)}


@dataclass
class Placeholder:
    """One `[...]` (or YYYY-MM-DD) occurrence: its line (0-based), columns and inner text."""

    line: int
    start: int
    end: int
    text: str


def find_placeholders(text: str, line: int = 0, *, dates: bool = True) -> list[Placeholder]:
    """All placeholders on one line, left to right."""
    found = [
        Placeholder(line, m.start(), m.end(), m.group(1)) for m in PLACEHOLDER_RE.finditer(text)
    ]
    if dates:
        found += [
            Placeholder(line, m.start(), m.end(), "date (YYYY-MM-DD)")
            for m in DATE_TOKEN_RE.finditer(text)
            if not any(p.start <= m.start() < p.end for p in found)
        ]
    return sorted(found, key=lambda p: p.start)


def count_bracket_placeholders(text: str) -> int:
    """How many `[...]` placeholders a text holds, outside HTML comments."""
    return len(PLACEHOLDER_RE.findall(strip_comments(text)))


def strip_comments(text: str) -> str:
    """The text with HTML comments removed (kept line count)."""
    return re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def slugify(text: str) -> str:
    """Stable, readable id part: `1. System Architecture & X` -> `system-architecture-x`."""
    text = re.sub(r"^\s*\d+(\.\d+)*[.)]?\s+", "", text)  # drop heading numbering
    text = re.sub(r"[`*_\[\]]", "", text).lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text or "field"


def identifier(text: str) -> str:
    """A Python identifier for a schema property name."""
    ident = slugify(text).replace("-", "_")
    return ident if not ident[0].isdigit() else f"f_{ident}"


def split_table_row(line: str) -> list[str]:
    """Cells of a pipe-table row; escaped pipes and pipes inside backticks stay in the cell."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells: list[str] = []
    current: list[str] = []
    in_code = False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current.append("\\|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current).strip())
    return cells


def plain(text: str) -> str:
    """Cell or label text without emphasis markers."""
    return re.sub(r"\*\*|__", "", text).strip().strip(":").strip()


@dataclass
class Bullet:
    """One list item: its own line, nested items and continuation lines."""

    line: int
    indent: int
    marker: str
    text: str
    text_col: int
    end: int = 0  # last line (inclusive) of the item including its children
    children: list[Bullet] = field(default_factory=list)


def parse_bullets(lines: list[str], start: int, end: int) -> list[Bullet]:
    """Bullet tree of lines[start:end] (a list block), nesting by indentation."""
    roots: list[Bullet] = []
    stack: list[Bullet] = []
    for i in range(start, end):
        m = BULLET_RE.match(lines[i])
        if not m:
            if lines[i].strip() and stack:
                stack[-1].end = i
            continue
        indent = len(m.group(1).expandtabs(4))
        item = Bullet(i, indent, m.group(2), m.group(3), len(m.group(1)) + len(m.group(2)) + 1)
        item.text_col = lines[i].index(m.group(3), len(m.group(1)) + len(m.group(2)))
        item.end = i
        while stack and stack[-1].indent >= indent:
            stack.pop()
        if stack:
            stack[-1].children.append(item)
        else:
            roots.append(item)
        for ancestor in stack:
            ancestor.end = i
        stack.append(item)
    _fix_ends(roots)
    return roots


def _fix_ends(items: list[Bullet]) -> None:
    for item in items:
        _fix_ends(item.children)
        if item.children:
            item.end = max(item.end, item.children[-1].end)


_PLACEHOLDER_RE = re.compile(r"\[([^\]\n]{2,})\](?![(\[:])")
_CODE_SPAN_RE = re.compile(r"`[^`]*`")
_PROSE_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")


def looks_like_template(path: str, text: str) -> bool:
    """Whether a prose file is a document template (lines of `[placeholders]`): it says what a
    document should contain, not what this repository does, so it is never evidence. Notes that
    tag speakers ("[Matt] said ...") repeat a few names; a template's placeholders are all different."""
    if not path.lower().endswith(_PROSE_SUFFIXES):
        return False
    lines = []
    all_lines = text.split("\n")
    fenced = fenced_lines(all_lines)
    for i, line in enumerate(all_lines):
        if line.strip() and not (i in fenced and line.lstrip().startswith(("```", "~~~"))):
            # Brackets in code are code ("[Collection(...)]" in a C# example), not placeholders.
            lines.append("" if i in fenced else _CODE_SPAN_RE.sub("", line))
    found = [_PLACEHOLDER_RE.findall(line) for line in lines]
    marked = sum(1 for f in found if f)
    distinct = {p for f in found for p in f}
    return marked >= 5 and len(distinct) >= 5 and marked >= 0.15 * len(lines)


T = TypeVar("T")


def numbered_key(label: str) -> tuple[str, int] | None:
    """A label with its counter taken out, and the counter ("Service 2" -> ("Service #", 2))."""
    m = NUMBER_RE.search(label)
    if not m:
        return None
    return NUMBER_RE.sub("#", label), int(m.group(0))


def numbered_run(items: list[T], i: int, label_of: Callable[[T], str]) -> list[T]:
    """Siblings from i on whose labels differ only by a counter 1, 2, 3, ..."""
    first = numbered_key(label_of(items[i]))
    if first is None or first[1] != 1:
        return [items[i]]
    run = [items[i]]
    for item in items[i + 1 :]:
        key = numbered_key(label_of(item))
        if key is None or key[0] != first[0] or key[1] != len(run) + 1:
            break
        run.append(item)
    return run
