"""Repository text and model output are data: escape them before they become Markdown.

A value may hold anything a repository holds: `<script>`, an `<img onerror=...>`, a heading, a code
fence, a docagent marker. Written as is, it would render as markup in the document, or be read back
on the next run as a marker that pins a planted value or swallows the fields after it. Values keep
their inline Markdown (emphasis, code spans, links): escaped are raw HTML (so markers too), what
would start a block (headings, fences, thematic breaks, setext underlines, link definitions) and
links to script URLs. Code spans are left alone, as they render literally, unless they hold
something marker-like. Paths in citation links are percent-encoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# A docagent marker or generation line, in any spelling a lenient reader might accept.
MARKER_LIKE = re.compile(r"<!--(?=\s*(?:/?\s*da\b|docagent\b))", re.I)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
# After list or quote markers (`- `, `1. `, `> `), what would start a block of its own.
_BLOCK_START = re.compile(
    r"^(?P<lead>[ \t]*(?:(?:[-*+>]|\d{1,9}[.)])[ \t]+)*)"
    r"(?=#{1,6}(?:[ \t]|$)|`{3}|~{3}|\[[^\]\n]*\]:|(?:[=\-*_][ \t]*)+$)"
)
_SCRIPT_LINK = re.compile(r"\]\((?=\s*<?\s*(?:javascript|vbscript|data):)", re.I)


def inline(text: str) -> str:
    """A value as Markdown text: renders as the same words, never as HTML or a new block."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(_BLOCK_START.sub(r"\g<lead>\\", line, count=1) for line in text.split("\n"))
    out: list[str] = []
    pos = 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_prose(text[pos : span.start()]))
        code = span.group(0)
        out.append(code if not MARKER_LIKE.search(code) else code.replace("<", "&lt;"))
        pos = span.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def _prose(text: str) -> str:
    return _SCRIPT_LINK.sub(r"]\\(", text.replace("<", "&lt;"))


def single_line(text: str) -> str:
    """A value for a spot that cannot hold a line break (a heading, a label, a checklist line)."""
    return " ".join(inline(text).split())


def cell(text: str) -> str:
    """A value as one table cell."""
    value = inline(text.strip()).replace("\\|", "|").replace("|", "\\|")
    return value.replace("\n", "<br>") or "—"


def code_block(fence_open: str, fence_close: str, code: str) -> list[str]:
    """A fenced block holding `code` verbatim: the fence is made longer than any fence-like line
    in the code, and marker-like comments are broken (`<\\!--`) so no reader takes them for one."""
    lines = [MARKER_LIKE.sub(r"<\\!--", line) for line in code.split("\n")]
    opening = re.match(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$", fence_open)
    if opening is None:
        return [fence_open, *lines, fence_close]
    char = opening.group("fence")[0]
    longest = max(
        (len(m.group(1)) for line in lines if (m := re.match(rf"^\s*({re.escape(char)}+)", line))),
        default=0,
    )
    fence = opening.group("fence")
    if longest >= len(fence):
        fence = char * (longest + 1)
    closing = re.match(r"^(?P<indent>[ \t]*)", fence_close)
    indent = closing.group("indent") if closing else ""
    return [
        f"{opening.group('indent')}{fence}{opening.group('info')}",
        *lines,
        f"{indent}{fence}",
    ]


def fenced(text: str) -> list[str]:
    """Text shown verbatim in a review report: a fence longer than any backtick run in it."""
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    lines = [MARKER_LIKE.sub(r"<\\!--", line) for line in text.split("\n")]
    return [fence, *lines, fence]


def link_target(path: str) -> str:
    """A repository path as a link target: spaces, brackets, parentheses, `#` and line breaks in
    file names percent-encoded, so the link stays one link to that file."""
    return quote(path, safe="/")


def link_label(text: str) -> str:
    """A path as link text: Markdown punctuation escaped, line breaks shown as `\\n`."""
    text = text.replace("\\", "\\\\")
    for char in "[]*_`":
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace("\r", "\\r").replace("\n", "\\n")
