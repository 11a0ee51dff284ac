"""Keep a human's text when a document is drafted again: a three-way merge by lines.

base is docagent's own rendering last time (stored in .draft.json), ours the file as it is now,
theirs this run's rendering. What a human changed since (text outside markers, a heading, a deleted
or damaged marker, a missing closing tag) is kept; what only docagent changed is refreshed. Where
both changed the same lines the human's lines win, and only the values in them that are still
untouched drafts are refreshed. A human's text never disappears silently: what cannot stay in the
document (a value whose field left the template) is listed in the review report, and so is a value
docagent drafted but could not write because a human's text holds its place.

Hand-written on difflib because the Python three-way merge libraries (merge3, patiencediff) are
GPL, and docagent is Apache-2.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from agent.document.markers import Marker, find_markers


@dataclass
class Unplaced:
    """Human text that has no place in the new document."""

    where: str
    text: str


@dataclass
class Merged:
    """The document to write, and what could not be written into it."""

    text: str
    conflicts: int = 0
    unplaced: list[Unplaced] = field(default_factory=list)
    not_written: dict[str, Marker] = field(default_factory=dict)  # drafted values left out


def merge_lines(base: list[str], ours: list[str], theirs: list[str]) -> tuple[list[str], int]:
    """diff3 by lines; where both sides changed the same lines, ours. Returns the lines and how
    many regions conflicted."""
    out: list[str] = []
    conflicts = 0
    iz = io = it = 0
    for zs, ze, os_, oe, ts, te in _sync_regions(base, ours, theirs):
        b, o, t = base[iz:zs], ours[io:os_], theirs[it:ts]
        if o == b:
            out += t
        elif t in (b, o):
            out += o
        elif len(b) == len(o) == len(t):
            # Adjacent lines changed one by each side form one region: settled line by line.
            both = False
            for bl, ol, tl in zip(b, o, t, strict=True):
                out.append(tl if ol == bl else ol)
                both = both or (ol != bl and tl not in (bl, ol))
            conflicts += both
        else:
            out += o
            conflicts += 1
        out += base[zs:ze]
        iz, io, it = ze, oe, te
    return out, conflicts


def _sync_regions(
    base: list[str], ours: list[str], theirs: list[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Ranges of base that both sides kept unchanged, with where they sit in ours and theirs;
    the last is the empty range at the end."""
    a = SequenceMatcher(None, base, ours, autojunk=False).get_matching_blocks()
    b = SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions = []
    i = j = 0
    while i < len(a) and j < len(b):
        a_base, a_at, a_len = a[i]
        b_base, b_at, b_len = b[j]
        start, end = max(a_base, b_base), min(a_base + a_len, b_base + b_len)
        if start < end:
            regions.append(
                (
                    start,
                    end,
                    a_at + start - a_base,
                    a_at + end - a_base,
                    b_at + start - b_base,
                    b_at + end - b_base,
                )
            )
        if a_base + a_len < b_base + b_len:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return regions


def keep_human_text(base: str, ours: str, theirs: str, known: set[str]) -> Merged:
    """The new document: theirs, with every change a human made to base since kept."""
    lines, conflicts = merge_lines(
        base.splitlines(keepends=True),
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
    )
    merged = Merged("".join(lines), conflicts)
    drafted = find_markers(theirs, known).markers
    _refresh(merged, drafted, known)
    present = find_markers(merged.text, known).markers
    merged.not_written = {
        fid: m for fid, m in drafted.items() if fid not in present or present[fid].text != m.text
    }
    return merged


def _refresh(merged: Merged, drafted: dict[str, Marker], known: set[str]) -> None:
    """Untouched drafts left in a human's lines take this run's value; markers of fields the
    template no longer has go (their text to the review report when a human edited it)."""
    found = find_markers(merged.text, known)
    edits: list[tuple[int, int, str]] = []
    for fid, m in found.markers.items():
        new = drafted.get(fid)
        if m.untouched and new is not None and new.text != m.text:
            edits.append((m.start, m.end, new.text))
    for fid, m in found.orphans.items():
        if not m.untouched:
            merged.unplaced.append(
                Unplaced(f"`{fid}` ({m.reason}; the template no longer has this field)", m.body)
            )
        start, end = _whole_lines(merged.text, m.start, m.end)
        edits.append((start, end, ""))
    text = merged.text
    for start, end, new_text in sorted(edits, reverse=True):
        text = text[:start] + new_text + text[end:]
    merged.text = text


def _whole_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """The span with its lines, when nothing else stands on them."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end + 1
    if text[line_start:start].strip() or text[end:line_end].strip():
        return start, end
    return line_start, line_end
