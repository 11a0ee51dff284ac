"""Write a draft as Markdown, and its review report.

Values are wrapped in markers (markers.py) so a later run can tell docagent's drafts from a human's
text, and escaped (escape.py): repository text and model output are data, never markup.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from agent.base import escape
from agent.document.markers import Damage, Marker, wrap_block, wrap_inline
from agent.document.merge import Unplaced
from agent.document.render import RawInline, RawMarkdown, _text_value, render
from agent.document.templates import FieldKind, Group, Template, TemplateField
from agent.draft.answers import Citation, FieldResult

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
            return RawInline(wrap_inline(f.id, _text_value(text, f)))
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


def review_markdown(
    template: Template,
    results: dict[str, FieldResult],
    summary: dict[str, Any],
    output_name: str,
    *,
    kept: dict[str, Marker],
    stale: set[str] | frozenset[str] = frozenset(),
    damaged: list[Damage] | None = None,
    unplaced: list[Unplaced] | None = None,
    not_written: dict[str, Marker] | None = None,
) -> str:
    """The reviewer's checklist: every flagged field, why, and its evidence; then what docagent
    kept of a human's text, and what it could not place."""
    flagged = [r for r in results.values() if r.flagged and r.id not in stale]
    flagged += [
        FieldResult(
            id=r.id,
            label=f"{r.label} item {n}",
            section=r.section,
            kind="group-item",
            status="answered",
            value=item,
            confidence=item.get("confidence", 0.0),
            flagged=True,
            reasons=item.get("reasons", []),
            citations=[Citation(**c) for c in item.get("citations", [])],
        )
        for r in results.values()
        for n, item in enumerate(r.items, start=1)
        if item.get("flagged")
    ]
    lines = [
        f"# Review checklist for {output_name}",
        "",
        f"Template: {template.name}. {summary['answered']} fields answered "
        f"({summary['flagged']} of them flagged for review), {summary['not_found']} not found, "
        f"{summary['errors']} not drafted, {len(kept)} kept from human edits.",
        "",
    ]
    lines += [
        "Mark a checked value as reviewed by changing `draft` to `reviewed` in its `<!-- da:... -->` marker; "
        "docagent then keeps it on every later run.",
        "",
    ]
    if flagged:
        lines += ["## Flagged for review", ""]
        for r in flagged:
            lines.append(
                f"- [ ] **{r.section} › {r.label}** (`{r.id}`), confidence {r.confidence:.2f}"
            )
            for reason in r.reasons:
                lines.append(f"    - {escape.single_line(reason)}")
            value = r.value if isinstance(r.value, str) else json.dumps(r.value, ensure_ascii=False)
            if value:
                lines.append(f"    - Draft: {escape.single_line(value[:400])}")
            for c in r.citations:
                quote = f" — “{escape.single_line(c.quote)}”" if c.quote else ""
                lines.append(f"    - Evidence: {escape.link_label(c.label)}{quote}")
        lines.append("")
    missing = [
        r
        for r in results.values()
        if r.status in ("not_found", "not_applicable") and r.source != "error"
    ]
    if missing:
        lines += ["## Not found in the repository", ""]
        lines += [
            f"- {r.section} › {r.label} (`{r.id}`): {r.status.replace('_', ' ')}" for r in missing
        ]
        lines.append("")
    errors = [r for r in results.values() if r.source == "error" and r.id not in stale]
    if errors:
        lines += ["## Not drafted", ""]
        lines += [_reasons_line(r) for r in errors]
        lines.append("")
    refreshed_not = [r for r in results.values() if r.id in stale]
    if refreshed_not:
        lines += [
            "## Could not be refreshed",
            "",
            "The call that would redraft these failed; the value an earlier run drafted is kept "
            "(flagged in the document). Run again to refresh them.",
            "",
        ]
        lines += [_reasons_line(r, checkbox=True) for r in refreshed_not]
        lines.append("")
    if kept:
        lines += ["## Kept from earlier human edits", ""]
        lines += [f"- `{k.id}` ({k.reason})" for k in kept.values()]
        lines.append("")
    lines += _human_text_sections(damaged or [], unplaced or [], not_written or {})
    return "\n".join(lines)


def _reasons_line(r: FieldResult, checkbox: bool = False) -> str:
    box = "[ ] " if checkbox else ""
    reasons = escape.single_line("; ".join(r.reasons))
    return f"- {box}{r.section} › {r.label} (`{r.id}`): {reasons}"


def _human_text_sections(
    damaged: list[Damage], unplaced: list[Unplaced], not_written: dict[str, Marker]
) -> list[str]:
    lines: list[str] = []
    if damaged:
        lines += [
            "## Damaged docagent markers",
            "",
            "The text around these was kept as written and is no longer refreshed. Restore the "
            "marker (`<!-- da:FIELD-ID draft HASH -->` … `<!-- /da -->`) or delete it.",
            "",
        ]
        lines += [f"- line {d.line}: `{d.marker.replace('`', '')}` {d.problem}" for d in damaged]
        lines.append("")
    if unplaced:
        lines += [
            "## Could not be placed",
            "",
            "Human text that has no place in the new document. Copy it back by hand if it "
            "still matters:",
            "",
        ]
        for u in unplaced:
            lines += [f"- {u.where}:", "", *escape.fenced(u.text.strip("\n")), ""]
    if not_written:
        lines += [
            "## Drafted but not written",
            "",
            "A human's text holds the place of these values (or their marker was removed), so "
            "the document keeps that text. The new drafts, to copy in by hand if wanted:",
            "",
        ]
        for fid, m in not_written.items():
            lines += [f"- `{fid}`:", "", *escape.fenced(m.body.strip("\n")), ""]
    return lines
