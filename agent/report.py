"""Write a draft as Markdown, with its review report, and read back what humans changed.

Marker convention (documented in the README): every drafted value sits between
`<!-- da:FIELD-ID STATE HASH -->` and `<!-- /da -->`, invisible when rendered. STATE is `draft`
as written by docagent; change it to `reviewed` to keep the value on every later run. A value whose
text no longer matches HASH was edited by a human and is kept as well. Only untouched drafts are
refreshed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.answers import Citation, FieldResult
from agent.errors import OutputError
from agent.render import RawInline, RawMarkdown, _text_value, group_members, render
from agent.templates import FieldKind, Group, Template, TemplateField

MARKER_RE = re.compile(
    r"<!-- da:(?P<id>[\w.\-]+) (?P<state>draft|reviewed) (?P<hash>[0-9a-f]{8}) -->(?P<body>.*?)<!-- /da -->",
    re.S,
)
NOT_FOUND = "_Not found in the repository or its notes._"
NOT_APPLICABLE = "_Not applicable to this repository._"
NOT_DRAFTED = "_Not drafted: {reason}_"
NESTED_UNFILLED = "⚠️ *Review: not drafted (a group within a group item); fill it by hand.*"


def body_hash(body: str) -> str:
    """The short hash recorded in a marker (surrounding whitespace ignored)."""
    return hashlib.sha1(body.strip().encode()).hexdigest()[:8]


@dataclass
class Kept:
    """A value from an earlier output that a human reviewed or edited."""

    id: str
    state: str
    text: str  # the whole marker-wrapped text, as found
    body: str
    indent: str

    @property
    def reason(self) -> str:
        """Why it is kept."""
        return "marked reviewed" if self.state == "reviewed" else "edited by a human"


def read_existing(path: Path) -> tuple[dict[str, Kept], dict[str, Kept]]:
    """Values of an earlier output that humans reviewed or edited, and every marked value in it;
    raises if the file was not written by docagent."""
    if not path.exists():
        return {}, {}
    text = path.read_text(encoding="utf-8")
    kept: dict[str, Kept] = {}
    drafts: dict[str, Kept] = {}
    found = False
    for m in MARKER_RE.finditer(text):
        found = True
        body = m.group("body")
        line_start = text.rfind("\n", 0, m.start()) + 1
        indent = text[line_start : m.start()] if not text[line_start : m.start()].strip() else ""
        found_value = Kept(m.group("id"), m.group("state"), m.group(0), body, indent)
        drafts[m.group("id")] = found_value
        if m.group("state") == "reviewed" or body_hash(body) != m.group("hash"):
            kept[m.group("id")] = found_value
    if not found and text.strip():
        raise OutputError(
            f"{path} exists and was not written by docagent (it has no docagent markers).",
            hint="Choose another -o path, or pass --force to replace it.",
        )
    return kept, drafts


def _link(c: Citation, link_base: str) -> str:
    if c.path.startswith("commit:"):
        return f"`{c.path.removeprefix('commit:')}`"
    target = f"{link_base}{c.path}#L{c.start_line}" + (
        f"-L{c.end_line}" if c.end_line != c.start_line else ""
    )
    return f"[{c.label}]({target})"


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
    return " ⚠️ *Review: " + "; ".join(reasons) + "*"


def _wrap_inline(fid: str, content: str) -> str:
    return f"<!-- da:{fid} draft {body_hash(content)} -->{content}<!-- /da -->"


def _wrap_block(fid: str, lines: list[str], indent: str) -> list[str]:
    body = "\n".join(lines)
    return [f"{indent}<!-- da:{fid} draft {body_hash(body)} -->", *lines, f"{indent}<!-- /da -->"]


def render_draft(
    template: Template, results: dict[str, FieldResult], kept: dict[str, Kept], link_base: str
) -> str:
    """The filled template: values with sources and flags, wrapped in markers."""
    answers: dict[str, Any] = {}

    def fill_field(f: TemplateField, result: FieldResult | None) -> Any:
        if f.id in kept:
            k = kept[f.id]
            if f.kind is FieldKind.TEXT:
                return RawInline(k.text)
            return RawMarkdown(f"{k.indent}{k.text}")
        if result is None:
            return None
        if f.kind is FieldKind.TEXT:
            # A heading holds the value alone: links and flags there would garble titles and anchors
            # (its evidence is still in the review report and the JSON).
            text = _text_of(result, link_base) if not f.single_line else _plain_value(result)
            return RawInline(_wrap_inline(f.id, _text_value(text, f)))
        lines = _block_lines(f, result, template, link_base)
        indent = f.continuation if f.kind is FieldKind.LIST else ""
        return RawMarkdown("\n".join(_wrap_block(f.id, lines, indent)))

    for sec in template.sections():
        for f in sec.fields:
            answers[f.id] = fill_field(f, results.get(f.id))
        for g in sec.groups:
            answers[g.id] = _group_answer(g, results.get(g.id), kept, link_base)

    def wrap(member: TemplateField | Group, lines: list[str]) -> list[str]:
        return _wrap_block(member.id, lines, "") if isinstance(member, Group) else lines

    nested = _nested_group_ids(template)

    def missing(member: TemplateField | Group) -> str | None:
        # Groups inside group items are never asked for: their placeholder text stays, visibly
        # marked, rather than passing for a filled value.
        return NESTED_UNFILLED if member.id in nested else None

    return render(template, answers, wrap=wrap, missing=missing)


def _nested_group_ids(template: Template) -> set[str]:
    found: set[str] = set()

    def visit(group: Group) -> None:
        for inner in group_members(group)[1]:
            found.add(inner.id)
            visit(inner)

    for sec in template.sections():
        for g in sec.groups:
            visit(g)
    return found


def _text_of(result: FieldResult, link_base: str) -> str:
    if result.source == "error":
        return NOT_DRAFTED.format(reason="; ".join(result.reasons))
    if result.status == "not_found":
        return NOT_FOUND
    if result.status == "not_applicable":
        return NOT_APPLICABLE
    return f"{str(result.value).strip()}{sources(result.citations, link_base)}{flag_text(result)}"


def _plain_value(result: FieldResult) -> str:
    return (
        str(result.value).strip()
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
        items = [note] if note else [str(i) for i in result.value or []] or [NOT_FOUND]
        out = [f"{f.continuation}{f.marker} {item}" for item in items]
        if not note:
            out[-1] += f"{sources(result.citations, link_base)}{flag_text(result)}"
        return out
    if f.kind is FieldKind.TABLE:
        header = template.lines[f.start - 2 : f.start]
        if note:
            return [note]
        rows = [
            "| " + " | ".join(_cell(row.get(k, "")) for k in f.column_keys) + " |"
            for row in result.value or []
        ]
        return [*header, *rows, *([""] if tail else []), *([tail] if tail else [])]
    fence_open = template.lines[f.start - 1]
    fence_close = template.lines[f.end]
    if note:
        return [note]
    code = str(result.value or "").strip("\n").split("\n")
    return [fence_open, *code, fence_close, *([""] if tail else []), *([tail] if tail else [])]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text.replace("|", "\\|").replace("\n", "<br>") or "—"


def _group_answer(
    g: Group, result: FieldResult | None, kept: dict[str, Kept], link_base: str
) -> Any:
    if g.id in kept:
        return RawMarkdown(kept[g.id].text)
    if result is None:
        return None
    if result.status != "answered" or not result.items:
        return RawMarkdown(
            "\n".join(
                _wrap_block(
                    g.id,
                    [_text_of(result, link_base) if result.status != "answered" else NOT_FOUND],
                    "",
                )
            )
        )
    fields, _ = group_members(g)
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
            else:
                values[f.id] = value
        if head is not None and head.kind is FieldKind.TEXT:
            cites = [Citation(**c) for c in item.get("citations", [])]
            values[head.id] = f"{values[head.id]}{sources(cites, link_base)}{flag_text(item)}"
        items.append(values)
    return items


# --- the review report ---


def review_markdown(
    template: Template,
    results: dict[str, FieldResult],
    kept: dict[str, Kept],
    lost: dict[str, str],
    summary: dict[str, Any],
    output_name: str,
) -> str:
    """The reviewer's checklist: every flagged field, why, and its evidence."""
    flagged = [r for r in results.values() if r.flagged]
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
                lines.append(f"    - {reason}")
            value = r.value if isinstance(r.value, str) else json.dumps(r.value, ensure_ascii=False)
            if value:
                lines.append(f"    - Draft: {value[:400]}")
            for c in r.citations:
                lines.append(f"    - Evidence: {c.label}" + (f" — “{c.quote}”" if c.quote else ""))
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
    errors = [r for r in results.values() if r.source == "error"]
    if errors:
        lines += ["## Not drafted", ""]
        lines += [f"- {r.section} › {r.label} (`{r.id}`): {'; '.join(r.reasons)}" for r in errors]
        lines.append("")
    if kept:
        lines += ["## Kept from earlier human edits", ""]
        lines += [f"- `{k.id}` ({k.reason})" for k in kept.values()]
        lines.append("")
    if lost:
        lines += [
            "## Human edits whose field no longer exists in the template",
            "",
            "Copy these back by hand if they still matter:",
            "",
        ]
        for fid, body in lost.items():
            lines += [f"- `{fid}`:", "", "```", body.strip(), "```", ""]
    return "\n".join(lines)


def write_atomic(files: dict[Path, str]) -> None:
    """Write several files so that each is either the old or the complete new version."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            temps.append((tmp, path))
        for tmp, path in temps:
            tmp.replace(path)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def companion_paths(output: Path) -> dict[str, Path]:
    """The review report (Markdown, JSON) and the machine-readable draft next to the output."""
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return {
        "review_md": output.with_name(f"{stem}.review.md"),
        "review_json": output.with_name(f"{stem}.review.json"),
        "draft_json": output.with_name(f"{stem}.draft.json"),
    }
