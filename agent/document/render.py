"""Write answers back into a template: same order, same structure, every untouched byte kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.document.templates import FieldKind, Group, Slot, Template, TemplateField

# An answer: str for text/code fields, list[str] for lists, list[dict[column_key, str]] for tables,
# list[dict[field_id, answer]] for groups (one dict per item); or RawInline / RawMarkdown.
Answers = Mapping[str, Any]
# Called for a field or group with no answer; returns a marker shown next to it, or None.
MissingMarker = Callable[[TemplateField | Group], str | None]
# Called with a block field's or group's rendered lines; returns the lines to write (e.g. wrapped).
BlockWrap = Callable[[TemplateField | Group, list[str]], list[str]]


class RawInline(str):
    """Text put into a field's slot exactly as given (no re-indentation)."""

    __slots__ = ()


class RawMarkdown(str):
    """Lines that replace a block field whole: list items, or a table with its header, or a code
    block with its fences, or a group's items."""

    __slots__ = ()


def block_span(f: TemplateField) -> tuple[int, int]:
    """Lines a RawMarkdown answer replaces: code with its fences, a table with its header rows."""
    if f.kind is FieldKind.CODE:
        return f.start - 1, f.end + 1
    if f.kind is FieldKind.TABLE:
        return f.start - 2, f.end
    return f.start, f.end


@dataclass
class _Edit:
    """Lines [start, end) replaced by `lines`."""

    start: int
    end: int
    lines: list[str]


def render(
    template: Template,
    answers: Answers | None = None,
    *,
    missing: MissingMarker | None = None,
    empty_group: str = "_None identified in the repository._",
    wrap: BlockWrap | None = None,
) -> str:
    """The template with answers written in; unanswered fields keep their placeholder (+ marker)."""
    fields, groups = template.root.members()
    ctx = _Context(missing, empty_group, wrap)
    out = _render_range(
        template.lines, 0, len(template.lines), fields, groups, answers or {}, ctx, []
    )
    return "\n".join(out)


@dataclass
class _Context:
    missing: MissingMarker | None
    empty_group: str
    wrap: BlockWrap | None


def _render_range(
    lines: list[str],
    lo: int,
    hi: int,
    fields: list[TemplateField],
    groups: list[Group],
    answers: Answers,
    ctx: _Context,
    extra_slots: list[tuple[Slot, str]],
) -> list[str]:
    missing = ctx.missing
    edits: list[_Edit] = []
    slots: dict[int, list[tuple[Slot, str, bool]]] = {}
    for f in fields:
        has = f.id in answers and answers[f.id] is not None
        marker = None if has or missing is None else missing(f)
        if f.kind is FieldKind.TEXT:
            for k, slot in enumerate(f.slots):
                if has:
                    value = answers[f.id]
                    text = value if isinstance(value, RawInline) else text_value(str(value), f)
                    text = text if k == 0 else ""
                    slots.setdefault(slot.line, []).append((slot, text, True))
                elif marker and k == len(f.slots) - 1:
                    original = lines[slot.line][slot.start : slot.end]
                    slots.setdefault(slot.line, []).append((slot, f"{original} {marker}", True))
        elif has and isinstance(answers[f.id], RawMarkdown):
            start, end = block_span(f)
            edits.append(_Edit(start, end, str(answers[f.id]).split("\n")))
        elif has:
            block = _block_value(f, answers[f.id], lines)
            edits.append(_Edit(f.start, f.end, ctx.wrap(f, block) if ctx.wrap else block))
        elif marker and f.kind is FieldKind.LIST:
            # Inside a list a separate marker line would break the nesting: append it instead.
            last = f.end - 1
            width = len(lines[last])
            slots.setdefault(last, []).append(
                (Slot(line=last, start=width, end=width), f" {marker}", True)
            )
        elif marker:
            after = f.end + 1 if f.kind is FieldKind.CODE else f.end
            # The blank line keeps GFM from reading the marker as one more table row.
            edits.append(_Edit(after, after, ["", marker]))
    for g in groups:
        if g.id in answers and answers[g.id] is not None:
            edits.append(_Edit(g.item_start, g.end, _group_value(lines, g, answers[g.id], ctx)))
        else:
            marker = missing(g) if missing else None
            if marker:
                edits.append(_Edit(g.trailer_start, g.trailer_start, ["", marker]))
    for slot, text in extra_slots:
        slots.setdefault(slot.line, []).append((slot, text, False))
    by_start: dict[int, list[_Edit]] = {}
    for e in edits:
        by_start.setdefault(e.start, []).append(e)
    out: list[str] = []
    i = lo
    while i < hi or i in by_start:
        if i in by_start:
            group = by_start.pop(i)
            inserts = [e for e in group if e.end == e.start]
            replaces = [e for e in group if e.end > e.start]
            for e in inserts:
                out += e.lines
            if replaces:
                out += replaces[0].lines
                i = replaces[0].end
                continue
        if i >= hi:
            break
        out.append(_apply_slots(lines[i], slots.get(i, [])))
        i += 1
    return out


def _apply_slots(line: str, slots: list[tuple[Slot, str, bool]]) -> str:
    """Replace slots right to left; a counter slot inside an answered placeholder is dropped."""
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[Slot, str]] = []
    for slot, text, primary in sorted(slots, key=lambda s: not s[2]):
        if any(slot.start < e and s < slot.end for s, e in taken):
            continue
        taken.append((slot.start, slot.end))
        chosen.append((slot, text))
        del primary
    for slot, text in sorted(chosen, key=lambda s: -s[0].start):
        line = line[: slot.start] + text + line[slot.end :]
    return line


def text_value(value: str, f: TemplateField) -> str:
    value = value.strip()
    if f.single_line:
        return " ".join(value.split())
    parts = value.split("\n")
    return "\n".join([parts[0], *[f"{f.continuation}{p}" if p.strip() else "" for p in parts[1:]]])


def _block_value(f: TemplateField, value: Any, lines: list[str]) -> list[str]:
    if f.kind is FieldKind.CODE:
        return str(value).rstrip("\n").split("\n")
    if f.kind is FieldKind.LIST:
        items = [value] if isinstance(value, str) else list(value)
        cont = f.continuation + " " * (len(f.marker) + 1)
        out = []
        for item in items:
            parts = str(item).strip().split("\n")
            out.append(f"{f.continuation}{f.marker} {parts[0]}")
            out += [f"{cont}{p}" if p.strip() else "" for p in parts[1:]]
        return out
    rows = list(value)
    return [
        "| " + " | ".join(_cell(row.get(k, "")) for k in f.column_keys) + " |" for row in rows
    ] or ["| " + " | ".join("—" for _ in f.column_keys) + " |"]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "<br>") or "—"


def _group_value(lines: list[str], g: Group, items: Any, ctx: _Context) -> list[str]:
    fields, groups = g.members()
    trailer = lines[g.trailer_start : g.end]
    if isinstance(items, RawMarkdown):
        return [*str(items).split("\n"), *trailer]
    items = list(items)
    out: list[str] = []
    if not items:
        out = [ctx.empty_group]
    for n, item in enumerate(items, start=1):
        if n > 1:
            out += g.separator
        number = [(s, str(n)) for s in g.number_slots]
        out += _render_range(lines, g.item_start, g.item_end, fields, groups, item, ctx, number)
    return (ctx.wrap(g, out) if ctx.wrap else out) + trailer
