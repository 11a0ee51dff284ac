"""Decisions recorded in notes: ADR files part by part, and the reasoned sections of prose docs.

An ADR (MADR, Nygard, free-form) becomes one record: title, status, date, context, decision,
rationale, consequences, options. Prose becomes one record per heading section whose paragraphs
give a reason, each reason quoted with its exact lines. Lines that speak to an AI model are never
quoted (agent/ingest/injection.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from agent.document.markdown import looks_like_template
from agent.ingest.chunking import note_sections
from agent.ingest.decisions import (
    MAX_PASSAGE,
    NOT_DESIGN,
    SENTENCE_END,
    Decision,
    Passage,
    clean,
    doc_weight,
    joined,
    reason_passage,
    reason_score,
    states_reason,
)
from agent.ingest.injection import addressed_lines, addresses_model


@dataclass(slots=True)
class _Para:
    start: int  # 1-based first line
    lines: list[str]

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1


def _paragraphs(lines: list[str], first: int, last: int, language: str) -> list[_Para]:
    """Prose paragraphs of lines first..last (1-based): no code, tables, directives or headings."""
    out: list[_Para] = []
    cur: list[str] = []
    start = first
    fence = ""
    literal = False  # inside an RST literal block (after `::`) or directive body
    for n in range(first, last + 1):
        line = lines[n - 1]
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            cur = _flush(out, cur, start)
            continue
        if literal:
            if not stripped or line[:1] in (" ", "\t"):
                continue
            literal = False
        if not stripped:
            cur = _flush(out, cur, start)
            continue
        # An underline (RST headings, Markdown setext headings) or front matter's `---` is no prose.
        if re.match(r"^([=\-~^\"'`#*+])\1{2,}$", stripped) or (
            language == "rst" and stripped.startswith(".. ")
        ):
            cur = _flush(out, cur, start)
            literal = stripped.startswith(".. ")
            continue
        # Indented text is code in Markdown; in RST only after `::` (handled above).
        indented_code = language == "markdown" and line.startswith("    ") and not cur
        if stripped.startswith(("#", "|", "<")) or indented_code:
            cur = _flush(out, cur, start)
            continue
        if not cur:
            start = n
        cur.append(line)
        if language == "rst" and stripped.endswith("::"):
            cur = _flush(out, cur, start)
            literal = True
    _flush(out, cur, start)
    return out


def _flush(out: list[_Para], cur: list[str], start: int) -> list[str]:
    if cur:
        out.append(_Para(start, cur))
    return []


def _sentences(para: _Para) -> list[Passage]:
    """The paragraph's sentences, each with the lines it spans."""
    text = "\n".join(para.lines)
    out = []
    pos = 0
    bounds = [m.start() for m in SENTENCE_END.finditer(text)] + [len(text)]
    for end in bounds:
        chunk = text[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            first = para.start + text.count("\n", 0, pos + lead)
            last = para.start + text.count("\n", 0, end)
            out.append(Passage(clean(chunk), first, last))
        pos = end
    return out


def _units(paras: list[_Para]) -> list[list[Passage]]:
    """Each paragraph's sentences (with the list a sentence ending in ":" announces); a sentence an
    example interrupts ("when the query is" / code /
    "then we can rewrite ...") is one sentence, its two halves joined with an ellipsis."""
    units: list[list[Passage]] = []
    listing: list[Passage] | None = None  # the unit a list announced with ':' is joining
    for para in paras:
        sentences = _sentences(para)
        prev = units[-1] if units else None
        if (
            prev
            and sentences
            and not re.search(r"[.!?:;)\]\"'`*]$", prev[-1].text)
            and re.match(r"[a-z]", sentences[0].text)
        ):
            tail, head = prev[-1], sentences[0]
            prev[-1] = Passage(f"{tail.text} … {head.text}", tail.start, head.end)
            prev.extend(sentences[1:])
            continue
        if (
            prev
            and sentences
            and re.match(r"([-*+]|\d+[.)])\s", sentences[0].text)
            and (re.search(r"[^:]:$", prev[-1].text) or prev is listing)
        ):
            listing = prev
            # "The differences between returning and raising a response are:" announces the list
            # below it, which says them.
            prev.extend(sentences)
            continue
        units.append(sentences)
    return units


def from_notes(
    path: str, text: str, language: str, is_adr: bool, *, template: bool | None = None
) -> list[Decision]:
    """The decisions a Markdown/RST notes file records: an ADR as one record, prose per section
    (`template`: whether the file is a document template, when the caller already knows)."""
    if NOT_DESIGN.search(path) or language not in ("markdown", "rst", "text"):
        return []
    if template if template is not None else looks_like_template(path, text):
        return []  # what a document should say, not a decision
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter: metadata, not prose or a title
        close = next((n for n in range(1, min(len(lines), 60)) if lines[n].strip() == "---"), 0)
        lines = [""] * (close + 1) + lines[close + 1 :]  # blanked: line numbers stay exact
    sections = note_sections(lines, language)
    planted = addressed_lines(lines)
    if is_adr:
        adr = _adr(path, lines, sections, language)
        adr = _without(adr, planted) if adr else None
        # A record with nothing left to quote (only a title, or only planted text) is no decision.
        return [adr] if adr and (adr.decision or adr.reasons or adr.context) else []
    weight = doc_weight(path)
    # In the maintainers' design docs a weaker connective ("this allows", ", so") states a reason
    # often enough; elsewhere only an outright one counts.
    threshold = 1 if weight >= 2 else 2
    out = []
    for first, last, heading in sections:
        body_first = first + (1 if heading else 0)
        units = _units(_paragraphs(lines, body_first, last, language))
        scored = [(reason_score(" ".join(s.text for s in u)), u) for u in units]
        first_para = units[0] if units else []
        passages = []
        for n, (score, sentences) in enumerate(scored):
            if score < threshold:
                continue
            # The section's first sentence says what was decided; the reason follows it.
            found = reason_passage(sentences, first=1) if sentences is first_para else None
            found = found or reason_passage(sentences)
            if found is not None and n + 1 < len(units):
                found = _with_instead(found, sentences, units[n + 1])
            if (
                found is not None
                and not _touches(found, planted)
                and not _USER_STORY.match(found.text)
            ):
                passages.append(found)
        if not passages:
            continue
        title = heading.rsplit(" > ", 1)[-1] if heading else PurePosixPath(path).stem
        # A heading that is a signature (`await db.execute_write(sql, ...)`) opens API reference,
        # whose "because" explains a parameter more often than the design.
        api = 0.7 if re.search(r"[(=`]|\w\.\w", title) else 1.0
        out.append(
            Decision(
                kind="design",
                path=path,
                start=first,
                end=last,
                subject=clean(heading) or PurePosixPath(path).stem,
                title=clean(title),
                weight=api * weight * (1 + min(sum(s for s, _ in scored), 12) / 24),
                decision=_clear(joined(first_para[:1]), planted),
                reasons=passages,
            )
        )
    return out


# "As an operator, I would like failures to trip the circuit breaker so that I can alert on them":
# a user story's "so that" is what someone asks for (a requirement), not why the design is so.
_USER_STORY = re.compile(
    r"^[\W_]*as an?[\W_]+[^.]{0,300}?\bI(?: would|'d)? (?:like|want|need)\b", re.IGNORECASE
)
# "SQL OFFSET/LIMIT pagination can have a significant performance penalty ..." followed by "When
# paginating through tables, Datasette instead orders the rows by their primary key ...": a reason
# against one way answers "why X instead of Y" only with the paragraph that says what is done
# instead.
_INSTEAD = re.compile(r"\binstead\b(?! of)|^rather\b", re.IGNORECASE)


def _with_instead(found: Passage, sentences: list[Passage], following: list[Passage]) -> Passage:
    """The reason with the next paragraph's first sentence when that one says what is done
    instead (and the reason ends its paragraph)."""
    if not following or found.end < sentences[-1].end or not _INSTEAD.search(following[0].text):
        return found
    if len(found.text) + len(following[0].text) > MAX_PASSAGE + 200:
        return found
    return Passage(f"{found.text} {following[0].text}", found.start, following[0].end)


def _touches(p: Passage, planted: set[int]) -> bool:
    # Text that speaks to an AI model is never quoted as the repository's reasoning.
    return any(n in planted for n in range(p.start, p.end + 1))


def _clear(p: Passage | None, planted: set[int]) -> Passage | None:
    return None if p is None or _touches(p, planted) else p


def _without(d: Decision, planted: set[int]) -> Decision:
    d.decision = _clear(d.decision, planted)
    d.context = _clear(d.context, planted)
    d.consequences = _clear(d.consequences, planted)
    d.reasons = [r for r in d.reasons if not _touches(r, planted)]
    return d


_ADR_PARTS = {
    "status": re.compile(r"^status$", re.I),
    "context": re.compile(r"context|problem|background|motivation|forces|issue", re.I),
    "decision": re.compile(
        r"^(the )?decision( outcome)?$|^proposal$|^solution$|^chosen option", re.I
    ),
    "rationale": re.compile(r"rationale|justification|reasons?|decision drivers|why", re.I),
    "consequences": re.compile(
        r"consequences|implications|outcomes?|positive|negative|pros and cons", re.I
    ),
    "alternatives": re.compile(r"alternatives|considered options|options considered|options", re.I),
}
_REJECTED = re.compile(r"\b(rejected|ruled out|considered|decided against)\b", re.I)
_FIELD_LINE = re.compile(r"^\s*[-*]?\s*\**(status|date|deciders)\**\s*:\s*\**\s*(.+?)\s*$", re.I)
_TITLE_PREFIX = re.compile(r"^(adr|rfc)?[-\s]*\d+[:.)\s-]*\s*", re.I)


def _adr(
    path: str, lines: list[str], sections: list[tuple[int, int, str]], language: str
) -> Decision | None:
    title = ""
    title_line = status_line = 0
    parts: dict[str, tuple[int, int]] = {}
    status = date = ""
    for first, last, heading in sections:
        name = heading.rsplit(" > ", 1)[-1].strip() if heading else ""
        if name and not title:
            title, title_line = name, first
            continue
        for part, pattern in _ADR_PARTS.items():
            if name and part not in parts and pattern.search(name):
                parts[part] = (first + 1, last)
                break
    for n, line in enumerate(lines[:40], start=1):
        m = _FIELD_LINE.match(line)
        if m and m.group(1).lower() == "status" and not status:
            status, status_line = clean(m.group(2)), n
        if m and m.group(1).lower() == "date" and not date:
            date = clean(m.group(2))
    if not title:
        return None

    def passage(part: str, limit: int = MAX_PASSAGE) -> Passage | None:
        if part not in parts:
            return None
        paras = _paragraphs(lines, *parts[part], language)
        return joined([s for p in paras for s in _sentences(p)], limit)

    if "status" in parts and not status:
        found = passage("status", 80)
        status, status_line = (found.text, found.start) if found else ("", 0)
    decision = passage("decision")
    reasons = [r for r in (passage("rationale"),) if r]
    # Nygard records have no rationale section: the reason is stated in the decision or the
    # consequences ("We rejected PostgreSQL because ..."), or else it is the context itself.
    consequences = passage("consequences")
    for part in ("decision", "consequences"):
        if reasons or part not in parts:
            continue
        said = [s for p in _paragraphs(lines, *parts[part], language) for s in _sentences(p)]
        because = [s for s in said if states_reason(s.text, weak_counts=True)]
        if because:
            reasons = [joined(because, MAX_PASSAGE) or because[0]]
            if part == "consequences":
                # Quoted once: the reasons as the rationale, the rest as the consequences.
                consequences = joined([s for s in said if s not in because], MAX_PASSAGE)
    alternatives: list[str] = [
        s.text
        for p in _paragraphs(lines, 1, len(lines), language)
        for s in _sentences(p)
        if _REJECTED.search(s.text) and not addresses_model(s.text)
    ][:4]
    if "alternatives" in parts:
        a, b = parts["alternatives"]
        alternatives = [
            clean(re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", x))
            for x in lines[a - 1 : b]
            if re.match(r"^\s*([-*+]|\d+[.)])\s+", x) and not addresses_model(x)
        ][:6]
    return Decision(
        kind="adr",
        path=path,
        start=1,
        end=len(lines),
        subject=clean(_TITLE_PREFIX.sub("", title)) or title,
        title=clean(_TITLE_PREFIX.sub("", title)) or title,
        weight=3.0,
        decision=decision,
        context=passage("context"),
        reasons=reasons,
        consequences=consequences,
        alternatives=alternatives,
        sections=sorted(parts),
        title_line=title_line,
        status_line=status_line,
        status=status.rstrip("."),
        date=date,
    )
