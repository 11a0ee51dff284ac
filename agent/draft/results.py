"""Field results for what no model answered: fields filled from the repository (cited to the lines they were read from), and fields not found or not drafted."""

from __future__ import annotations

from typing import Any

from agent.document.templates import Group, Template
from agent.draft.answers import (
    Citation,
    FieldResult,
)
from agent.draft.plan import Unit
from agent.draft.static_answers import StaticAnswer
from agent.ingest.index import RepoIndex


def static_result(
    fid: str,
    answer: StaticAnswer,
    template: Template,
    sections_of: dict[str, str],
    index: RepoIndex,
) -> FieldResult:
    if answer.items is not None:
        return _static_group(fid, answer, template, sections_of, index)
    f = template.find_field(fid)
    label = f.label if f else fid
    citations = [fact_citation(index, fact.path, fact.line, fact.line) for fact in answer.facts]
    citations += [fact_citation(index, *span) for span in answer.spans]
    value: Any = answer.rows if answer.rows is not None else answer.value
    confidence = 0.95 if citations else 0.9
    return FieldResult(
        id=fid,
        label=label,
        section=sections_of.get(fid, ""),
        kind=f.kind.value if f else "text",
        status=answer.status,
        value=value,
        # A reason matched to its subject by name alone is for a human to confirm.
        confidence=min(confidence, 0.55) if answer.reasons else confidence,
        model_confidence=1.0,
        citations=citations,
        source="facts",
        basis=answer.basis,
        is_rationale=bool(f and f.is_rationale),
        flagged=bool(answer.reasons),
        reasons=list(answer.reasons),
    )


def fact_citation(index: RepoIndex, path: str, start: int, end: int) -> Citation:
    lines = index.file_lines(path) or []
    quote = " ".join(x.strip() for x in lines[start - 1 : end]) if lines else ""
    return Citation(path=path, start_line=start, end_line=end, quote=quote[:120])


def _static_group(
    fid: str,
    answer: StaticAnswer,
    template: Template,
    sections_of: dict[str, str],
    index: RepoIndex,
) -> FieldResult:
    """A group whose items were read from the repository (its components), cited."""
    group = template.find_group(fid)
    items = []
    for item in answer.items or []:
        spans = item.get("_citations") or []
        assert isinstance(spans, list)
        reasons = [str(r) for r in item.get("_reasons") or []]  # type: ignore[attr-defined]
        items.append(
            {
                **{k: v for k, v in item.items() if k not in ("_citations", "_reasons")},
                "citations": [fact_citation(index, *span).model_dump() for span in spans],
                "confidence": 0.55 if reasons else 0.9,
                "flagged": bool(reasons),
                "reasons": reasons,
                "basis": None,
            }
        )
    return FieldResult(
        id=fid,
        label=group.label if group else fid,
        section=sections_of.get(fid, ""),
        kind="group",
        status="answered",
        confidence=0.9,
        model_confidence=1.0,
        items=items,
        source="facts",
    )


def _unanswered(
    unit: Unit, sections_of: dict[str, str], reason: str, *, failed: bool
) -> dict[str, FieldResult]:
    """Every field of a unit as not found (no evidence) or not drafted (a failed call)."""
    return {
        mid: FieldResult(
            id=mid,
            label=m.label,
            section=sections_of.get(mid, unit.title),
            kind="group" if isinstance(m, Group) else m.kind.value,
            status="not_found",
            source="error" if failed else "none",
            flagged=failed,
            reasons=[reason],
        )
        for mid, m in unit.members().items()
    }


def not_found(unit: Unit, sections_of: dict[str, str]) -> dict[str, FieldResult]:
    return _unanswered(
        unit, sections_of, "no evidence in the repository matched this section", failed=False
    )


def failed_results(unit: Unit, sections_of: dict[str, str], reason: str) -> dict[str, FieldResult]:
    return _unanswered(unit, sections_of, reason, failed=True)
