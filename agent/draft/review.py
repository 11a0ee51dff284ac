"""The reviewer's checklist written beside a draft: every flagged field and group item with its reasons, value and evidence; what was not found; what docagent kept of a human's text and what it could not place."""

from __future__ import annotations

import json
from typing import Any

from agent.base import escape
from agent.document.markers import Damage, Marker
from agent.document.merge import Unplaced
from agent.document.templates import Template
from agent.draft.answers import Citation, FieldResult


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
            f"- {r.section} › {r.label} (`{r.id}`): {r.status.replace('_', ' ')}"
            + (f" ({escape.single_line('; '.join(r.reasons))})" if r.reasons else "")
            for r in missing
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
