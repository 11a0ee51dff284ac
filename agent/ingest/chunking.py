"""Cut files into chunks that know their exact lines.

Code goes through langchain's language-aware splitters sized in characters (fast), and every chunk
is then widened to whole lines and located in the file by offset, so `start_line..end_line` is exact
(the splitter's own `add_start_index` is wrong with overlap: langchain issue #29884). Notes are cut at
their Markdown/RST headings first, keeping the header path. Token counts come afterwards from one
batched tiktoken pass over all new chunks.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from agent.document.markdown import HEADING_RE, blocks
from agent.ingest.file_kinds import FileKind
from agent.ingest.repo import RepoFile

# ~300 tokens of code: small enough for precise retrieval and citations, big enough for context.
CHUNK_CHARS = 1200
NOTE_CHUNK_CHARS = 1500

_LANGCHAIN = {lang.value: lang for lang in Language}
_LANGCHAIN.update({"markdown": Language.MARKDOWN, "rst": Language.RST, "vb": Language.VISUALBASIC6})


@dataclass(slots=True)
class Chunk:
    """A piece of evidence: whole lines start_line..end_line (1-based, inclusive) of path."""

    path: str
    start_line: int
    end_line: int
    kind: str
    language: str
    text: str
    header_path: str = ""
    tokens: int = 0
    hash: str = ""
    is_adr: bool = False

    @property
    def citation(self) -> str:
        """`path:start-end`, the form every statement cites."""
        if self.kind == "history":
            return self.path
        return f"{self.path}:{self.start_line}-{self.end_line}"


@lru_cache(maxsize=64)
def _splitter(language: str, size: int) -> RecursiveCharacterTextSplitter:
    lang = _LANGCHAIN.get(language)
    if lang is not None:
        return RecursiveCharacterTextSplitter.from_language(lang, chunk_size=size, chunk_overlap=0)
    return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=0)


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _spans(text: str, base_offset: int, language: str, size: int) -> list[tuple[int, int]]:
    """Character spans [start, end) of the splitter's pieces, found in order in the text."""
    if len(text) <= size:
        stripped = text.strip()
        if not stripped:
            return []
        start = text.index(stripped)
        return [(base_offset + start, base_offset + start + len(stripped))]
    spans = []
    cursor = 0
    for piece in _splitter(language, size).split_text(text):
        at = text.find(piece, cursor)
        if at < 0:  # the splitter rewrote whitespace: fall back to the nearest line match
            at = text.find(piece.split("\n", 1)[0], cursor)
            if at < 0:
                continue
            end = min(len(text), at + len(piece))
        else:
            end = at + len(piece)
        spans.append((base_offset + at, base_offset + end))
        cursor = max(cursor, at + 1)
    return spans


def _to_lines(spans: list[tuple[int, int]], starts: list[int]) -> list[tuple[int, int]]:
    """Character spans -> 1-based inclusive line ranges, merged where they collapse."""
    ranges: list[tuple[int, int]] = []
    for start, end in spans:
        first = bisect_right(starts, start)
        last = bisect_right(starts, max(start, end - 1))
        if ranges and first <= ranges[-1][1] and last <= ranges[-1][1]:
            continue
        ranges.append((first, last))
    return ranges


def chunk_file(file: RepoFile, text: str) -> list[Chunk]:
    """All chunks of one file (tokens not yet counted)."""
    lines = text.split("\n")
    starts = _line_starts(text)
    sections: list[tuple[int, int, str]]
    if file.kind is FileKind.NOTES and file.language in {"markdown", "rst"}:
        sections = _merge_small(note_sections(lines, file.language), starts, NOTE_CHUNK_CHARS)
        size = NOTE_CHUNK_CHARS
    else:
        sections = [(1, len(lines), "")]
        size = CHUNK_CHARS
    chunks: list[Chunk] = []
    for first, last, header in sections:
        begin = starts[first - 1]
        end = starts[last] - 1 if last < len(starts) else len(text)
        body = text[begin:end]
        for a, b in _to_lines(_spans(body, begin, file.language, size), starts):
            chunk_text = "\n".join(lines[a - 1 : b])
            if not chunk_text.strip():
                continue
            chunks.append(
                Chunk(
                    path=file.path,
                    start_line=a,
                    end_line=b,
                    kind=file.kind.value,
                    language=file.language,
                    text=chunk_text,
                    header_path=header,
                    hash=_hash(chunk_text),
                    is_adr=file.is_adr,
                )
            )
    return chunks


def _merge_small(
    sections: list[tuple[int, int, str]], starts: list[int], size: int
) -> list[tuple[int, int, str]]:
    """Join neighbouring heading sections while they fit one chunk (an ADR's "Status: Accepted"
    is no useful evidence alone); the joined chunk keeps the first section's header path."""
    merged: list[tuple[int, int, str]] = []
    for first, last, header in sections:
        if merged:
            m_first, _, m_header = merged[-1]
            end = starts[last] if last < len(starts) else starts[-1] + size
            if end - starts[m_first - 1] <= size:
                merged[-1] = (m_first, last, m_header or header)
                continue
        merged.append((first, last, header))
    return merged


_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}\s*$")


_SETEXT = re.compile(r"^ {0,3}(=+|-{3,})\s*$")


def _setext_title(previous: str, underline: str) -> bool:
    text = previous.strip()
    return (
        bool(text)
        and not text.startswith(("-", "*", "+", "|", ">", "#", "```"))
        and (underline.strip()[0] == "=" or len(underline.strip()) >= max(3, len(text) // 2))
    )


def note_sections(lines: list[str], language: str) -> list[tuple[int, int, str]]:
    """(first_line, last_line, header path) per heading section of a Markdown or RST file."""
    heads: list[tuple[int, int, str]] = []  # (line, level, title)
    if language == "markdown":
        for b in blocks(lines):
            if b.kind != "heading" or not b.title:
                continue
            if not b.setext:
                if HEADING_RE.match(lines[b.start]):  # at the left margin, not in a list item
                    heads.append((b.start + 1, b.level, b.title))
                continue
            # "Title\n=====" (zoekt's doc/design.md is written this way); a `---` under a short
            # line or a list item reads as a rule. The title is the line above the underline.
            title, underline = lines[b.end - 2], lines[b.end - 1]
            if _SETEXT.match(underline) and _setext_title(title, underline):
                heads.append((b.end - 1, b.level, title.strip()))
    else:
        order: list[str] = []
        for i in range(1, len(lines)):
            m = _RST_UNDERLINE.match(lines[i])
            title = lines[i - 1].strip()
            if (
                m
                and title
                and not _RST_UNDERLINE.match(lines[i - 1])
                and len(lines[i].strip()) >= len(title)
            ):
                if m.group(1) not in order:
                    order.append(m.group(1))
                heads.append((i, order.index(m.group(1)) + 1, title))
    if not heads:
        return [(1, len(lines), "")]
    sections = []
    if heads[0][0] > 1:
        sections.append((1, heads[0][0] - 1, ""))
    stack: list[tuple[int, str]] = []
    for n, (first, level, title) in enumerate(heads):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        end = heads[n + 1][0] - 1 if n + 1 < len(heads) else len(lines)
        sections.append((first, end, " > ".join(t for _, t in stack)))
    return sections
