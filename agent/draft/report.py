"""Write a draft as Markdown, and its review report.

Values are wrapped in markers (markers.py) so a later run can tell docagent's drafts from a human's
text, and escaped (escape.py): repository text and model output are data, never markup.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from agent.base import escape
from agent.document.markers import Marker, wrap_block, wrap_inline
from agent.document.render import RawInline, RawMarkdown, render, text_value
from agent.document.templates import FieldKind, Group, Template, TemplateField
from agent.draft.answers import Citation, FieldResult
from agent.llm.client import ModelClient

NOT_FOUND = "_Not found in the repository or its notes._"
NOT_APPLICABLE = "_Not applicable to this repository._"
NOT_DRAFTED = "_Not drafted: {reason}_"
# Next to a value a failed call could not refresh. Outside the marker: the value stays as it was.
STALE_FLAG = "⚠️ *Review: could not be refreshed; this value is from an earlier run.*"
NESTED_UNFILLED = "⚠️ *Review: not drafted (a group within a group item); fill it by hand.*"
# A table or code block of a group item nobody filled still shows the template's example rows
# ("100 req/min | 30s"): marked, so they cannot pass for the repository's.
BLOCK_UNFILLED = (
    "⚠️ *Review: not drafted: these are the template's example rows; fill them by hand.*"
)


def _link(c: Citation, link_base: str) -> str:
    if c.path.startswith("commit:"):
        return f"`{c.path.removeprefix('commit:')}`"
    target = f"{escape.link_target(link_base + c.path)}#L{c.start_line}" + (
        f"-L{c.end_line}" if c.end_line != c.start_line else ""
    )
    return f"[{escape.link_label(c.label)}]({target})"


def link_base(output: Path, root: Path) -> str:
    """The relative path from a document's folder to the repository root ('' when the same)."""
    rel = os.path.relpath(root.resolve(), output.resolve().parent)
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"


def sources(citations: list[Citation], link_base: str) -> str:
    """` ([a.py:1-4](a.py#L1-L4), commit abc)` or ''."""
    if not citations:
        return ""
    return " (" + ", ".join(_link(c, link_base) for c in citations) + ")"


def flag_text(result: FieldResult | dict[str, Any]) -> str:
    """The visible review marker, or ''."""
    flagged = result.flagged if isinstance(result, FieldResult) else result.get("flagged")
    reasons = result.reasons if isinstance(result, FieldResult) else result.get("reasons", [])
    if not flagged:
        return ""
    # Reasons quote values and server replies: escaped, and kept on the line.
    return " ⚠️ *Review: " + "; ".join(escape.single_line(r) for r in reasons) + "*"


def render_draft(
    template: Template,
    results: dict[str, FieldResult],
    earlier: dict[str, Marker],
    link_base: str,
    stale: frozenset[str] | set[str] = frozenset(),
) -> str:
    """The filled template: values with sources and flags, wrapped in markers. A field in
    `earlier` keeps the marked value the last output had, byte for byte (flagged when its id is
    in `stale`: a failed call could not refresh it)."""
    answers: dict[str, Any] = {}

    def fill_field(f: TemplateField, result: FieldResult | None) -> Any:
        if f.id in earlier:
            k = earlier[f.id]
            if f.kind is FieldKind.TEXT:
                flag = f" {STALE_FLAG}" if f.id in stale and not f.single_line else ""
                return RawInline(k.text + flag)
            return RawMarkdown(_stale_block(f"{k.indent}{k.text}", k.indent, f.id in stale))
        if result is None:
            return None
        if f.kind is FieldKind.TEXT:
            # A heading holds the value alone: links and flags there would garble titles and anchors
            # (its evidence is still in the review report and the JSON).
            text = _text_of(result, link_base) if not f.single_line else _plain_value(result)
            return RawInline(wrap_inline(f.id, text_value(text, f)))
        lines = _block_lines(f, result, template, link_base)
        indent = f.continuation if f.kind is FieldKind.LIST else ""
        return RawMarkdown("\n".join(wrap_block(f.id, lines, indent)))

    for sec in template.sections():
        for f in sec.fields:
            answers[f.id] = fill_field(f, results.get(f.id))
        for g in sec.groups:
            if g.id in earlier:
                answers[g.id] = RawMarkdown(_stale_block(earlier[g.id].text, "", g.id in stale))
            else:
                answers[g.id] = _group_answer(g, results.get(g.id), link_base)

    def wrap(member: TemplateField | Group, lines: list[str]) -> list[str]:
        return wrap_block(member.id, lines, "") if isinstance(member, Group) else lines

    nested = _nested_group_ids(template)
    blocks = _item_block_ids(template)

    def missing(member: TemplateField | Group) -> str | None:
        # Groups inside group items are never asked for: their placeholder text stays, visibly
        # marked, rather than passing for a filled value; so do an item's unfilled tables.
        if member.id in nested:
            return NESTED_UNFILLED
        return BLOCK_UNFILLED if member.id in blocks else None

    return render(template, answers, wrap=wrap, missing=missing)


def _item_block_ids(template: Template) -> set[str]:
    """Tables and code blocks that are members of a group item."""
    return {
        f.id
        for sec in template.sections()
        for g in sec.groups
        for f in g.members()[0]
        if f.kind in (FieldKind.TABLE, FieldKind.CODE)
    }


def _nested_group_ids(template: Template) -> set[str]:
    found: set[str] = set()

    def visit(group: Group) -> None:
        for inner in group.members()[1]:
            found.add(inner.id)
            visit(inner)

    for sec in template.sections():
        for g in sec.groups:
            visit(g)
    return found


def _stale_block(text: str, indent: str, stale: bool) -> str:
    return f"{text}\n{indent}{STALE_FLAG}" if stale else text


def _text_of(result: FieldResult, link_base: str) -> str:
    if result.source == "error":
        return NOT_DRAFTED.format(reason=escape.single_line("; ".join(result.reasons)))
    if result.status == "not_found":
        return NOT_FOUND
    if result.status == "not_applicable":
        return NOT_APPLICABLE
    value = escape.inline(str(result.value).strip())
    return f"{value}{sources(result.citations, link_base)}{flag_text(result)}"


def _plain_value(result: FieldResult) -> str:
    return (
        escape.single_line(str(result.value).strip())
        if result.status == "answered" and result.value
        else _text_of(result, "")
    )


def _block_lines(
    f: TemplateField, result: FieldResult, template: Template, link_base: str
) -> list[str]:
    note = (
        _text_of(result, link_base)
        if result.status != "answered" or result.source == "error"
        else ""
    )
    tail = (
        f"Sources:{sources(result.citations, link_base)[1:]}{flag_text(result)}"
        if result.citations or result.flagged
        else ""
    )
    if f.kind is FieldKind.LIST:
        items = [note] if note else [_item(i) for i in result.value or []] or [NOT_FOUND]
        out = [f"{f.continuation}{f.marker} {item}" for item in items]
        if not note:
            out[-1] += f"{sources(result.citations, link_base)}{flag_text(result)}"
        return out
    if f.kind is FieldKind.TABLE:
        header = template.lines[f.start - 2 : f.start]
        if note:
            return [note]
        rows = [
            "| " + " | ".join(escape.cell(_str(row.get(k))) for k in f.column_keys) + " |"
            for row in result.value or []
        ]
        return [*header, *rows, *([""] if tail else []), *([tail] if tail else [])]
    if note:
        return [note]
    code = escape.code_block(
        template.lines[f.start - 1], template.lines[f.end], str(result.value or "").strip("\n")
    )
    return [*code, *([""] if tail else []), *([tail] if tail else [])]


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _item(value: Any) -> str:
    """A list item: one line, so that no line of it can start a block of its own."""
    return escape.single_line(_str(value))


def _group_answer(g: Group, result: FieldResult | None, link_base: str) -> Any:
    if result is None:
        return None
    if result.status != "answered" or not result.items:
        return RawMarkdown(
            "\n".join(
                wrap_block(
                    g.id,
                    [_text_of(result, link_base) if result.status != "answered" else NOT_FOUND],
                    "",
                )
            )
        )
    fields, _ = g.members()
    # Sources and flags go on the first field that is not a heading.
    head = next((f for f in fields if not f.single_line), fields[0] if fields else None)
    items = []
    for item in result.items:
        values: dict[str, Any] = {}
        for f in fields:
            value = item.get(f.id)
            if value in (None, "", []):
                # Tables and code blocks inside repeated items are not asked for: their template
                # text stays, visibly unfilled, for a human.
                values[f.id] = {
                    FieldKind.TEXT: "_Not found._",
                    FieldKind.LIST: ["_Not found._"],
                }.get(f.kind)
            elif isinstance(value, list):
                values[f.id] = [_item(v) for v in value]
            else:
                values[f.id] = escape.inline(_str(value))
        if head is not None and head.kind is FieldKind.TEXT:
            cites = [Citation(**c) for c in item.get("citations", [])]
            values[head.id] = f"{values[head.id]}{sources(cites, link_base)}{flag_text(item)}"
        items.append(values)
    return items


# --- the review report ---


def field_counts(results: dict[str, FieldResult], kept: Collection[str]) -> dict[str, int]:
    """Each field counted once: kept from a human edit, not drafted (its call failed or was cut
    off before it), not found, not applicable, or answered; `flagged` counts the answered ones that
    need review (and `from_facts` those that facts answered)."""
    drafted = [r for r in results.values() if r.id not in kept]
    answered = [r for r in drafted if r.source != "error" and r.status == "answered"]
    return {
        "fields": len(drafted) + len(kept),
        "answered": len(answered),
        "not_found": sum(r.source != "error" and r.status == "not_found" for r in drafted),
        "not_applicable": sum(
            r.source != "error" and r.status == "not_applicable" for r in drafted
        ),
        "flagged": sum(r.flagged or any(i.get("flagged") for i in r.items) for r in answered),
        "from_facts": sum(r.source == "facts" for r in answered),
        "errors": sum(r.source == "error" for r in drafted),
        "kept_human": len(kept),
    }


def summarize(
    results: dict[str, FieldResult],
    kept: Collection[str],
    client: ModelClient | None,
    seconds: float,
    calls_planned: int,
) -> dict[str, Any]:
    """Counts (see report.field_counts), tokens, cost and time for the end-of-run summary."""
    usage = client.usage if client else None
    # The tokens the endpoint reported, at its price (None when the price is not known).
    cost = client.cost(usage.prompt_tokens, usage.completion_tokens) if client and usage else None
    return {
        **field_counts(results, kept),
        "calls_planned": calls_planned,
        "model_calls": usage.calls if usage else 0,
        "cache_hits": usage.cache_hits if usage else 0,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "model_seconds": round(usage.model_seconds, 2) if usage else 0.0,
        "cost_usd": None if cost is None else round(cost, 6),
        "seconds": round(seconds, 2),
    }
