"""Settle confidence and review flags for a model's answers (no model involved).

Citations are resolved by `citations.Verifier`; this module judges what they support: values that echo
the template or the prompt, the same value for several fields, "why" answers only inferred from code,
extracted lines that do not mention what a field asks, values whose only evidence is a line that
addresses the model (suspected prompt injection: such a citation is removed, never shown as verified).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.document.templates import FieldKind, Group, TemplateField
from agent.draft.answers import Citation, Cite, FieldResult, cites_of, item_key
from agent.draft.citations import Verifier, normalise, support
from agent.draft.evidence import Evidence
from agent.draft.value_checks import (
    echoes_prompt,
    is_heading,
    is_plans_doc,
    is_usable,
    mentions_subject,
    value_text,
)

REVIEW_THRESHOLD = 0.6


@dataclass
class Judgement:
    """Final confidence and flags for one answer."""

    confidence: float
    flagged: bool
    reasons: list[str]
    basis: str | None
    # The confidence the evidence leaves before a "why" inferred from code is capped: what
    # decides whether a value is shown at all.
    evidenced: float = 1.0


def judge(
    *,
    status: str,
    model_confidence: float,
    is_rationale: bool,
    kept: list[Citation],
    dropped: list[str],
    unknown: list[str],
    cited_kinds: set[str],
    supported: float = 1.0,
    injected: list[str] | None = None,
) -> Judgement:
    """Combine the model's confidence with what verification found."""
    if status != "answered":
        return Judgement(0.0, False, [], None)
    basis = None
    conf = model_confidence
    reasons: list[str] = []
    if injected:
        conf = min(conf, 0.1)
        reasons.append(injection_reason(injected))
    if kept and supported < 0.5:
        conf -= 0.3
        reasons.append(f"only {supported:.0%} of its words appear in the cited evidence")
    if dropped:
        conf -= 0.15 * len(dropped)
        reasons.append(
            f"{len(dropped)} citation(s) could not be verified and were removed: "
            + "; ".join(dropped)
        )
    if not kept:
        conf = min(conf, 0.3)
        reasons.append("no verified citation supports it")
    if unknown:
        conf -= 0.2 * len(unknown)
        reasons.append(
            "mentions "
            + ", ".join(f"`{u}`" for u in unknown)
            + " which the repository does not have"
        )
    evidenced = round(max(0.0, min(1.0, conf)), 2)
    if is_rationale:
        # Documented or inferred is decided by what the verified citations are, not by the model.
        basis = "documented" if cited_kinds & {"notes", "ADR", "history"} else "inferred"
        if basis == "inferred":
            conf = min(conf, 0.55)
            reasons.append("the reason is inferred; no cited note, ADR or commit states it")
    conf = round(max(0.0, min(1.0, conf)), 2)
    if conf < REVIEW_THRESHOLD and not any("confidence" in r for r in reasons):
        reasons.append(f"confidence {conf:.2f} is below {REVIEW_THRESHOLD}")
    return Judgement(conf, bool(reasons), reasons, basis, evidenced)


def unsupported(
    j: Judgement, kept: list[Citation], supported: float, injected: list[str], unknown: list[str]
) -> bool:
    """A model's value nothing vouches for: no verified citation, cited lines that hold under
    half its words, or a name the repository does not have (`stream/stream.go` as a pattern's
    name), and a confidence that fell below review on that account. Shown flagged, these were template
    examples ("OAuth Provider A"), file names and commit ids on every benchmark draft read; they are
    left out, and the field says so. A suspected injection stays visible: a human must see it."""
    weak = not kept or supported < 0.5 or bool(unknown)
    return weak and j.evidenced < REVIEW_THRESHOLD and not injected


def invented(unknown: list[str], texts: list[str]) -> list[str]:
    """The unknown names that count against a value: file names (with an extension) and code
    names its cited lines do not hold. "pub/sub", "I/O", "client/server" look like paths to the
    existence check but are words; a name the cited line itself writes was not made up."""
    cited = "\n".join(texts)
    return [
        u
        for u in unknown
        if u not in cited and ("/" not in u or re.search(r"\.[A-Za-z0-9]{1,6}$", u))
    ]


def left_out(n: int) -> str:
    """The reason a field gives for the model's values it does not show."""
    what = "value" if n == 1 else "values"
    return (
        f"left out {n} {what} the model wrote that nothing vouches for (no verified citation, "
        "under half its words in the cited lines or a name the repository does not have; "
        "confidence below review)"
    )


# --- from a model's answer to a verified field -------------------------------------------------


def flag_duplicates(results: list[FieldResult]) -> None:
    """The same value for several different fields is a sign the model did not tell them apart."""
    by_value: dict[str, list[FieldResult]] = {}
    for r in results:
        if r.status == "answered" and isinstance(r.value, str) and r.source == "model":
            by_value.setdefault(normalise(r.value), []).append(r)
    for same in by_value.values():
        if len(same) < 2:
            continue
        labels = ", ".join(r.label for r in same)
        for r in same:
            r.confidence = round(max(0.0, r.confidence - 0.3), 2)
            r.reasons.append(f"the same value was given for {labels}")
            if r.confidence < REVIEW_THRESHOLD:
                r.reasons.append(f"confidence {r.confidence:.2f} is below {REVIEW_THRESHOLD}")
            r.flagged = True


def injection_reason(labels: list[str]) -> str:
    """The review reason for citations removed as suspected prompt injection."""
    return (
        f"suspected prompt injection: its evidence ({', '.join(labels)}) addresses the model "
        "instead of describing the repository, so it was not used"
    )


def _verify_cites(
    cites: list[Cite], by_id: dict[str, Evidence], verifier: Verifier, value: str
) -> tuple[list[Citation], list[str], set[str], list[str], list[str]]:
    """Verified citations, why others were dropped, the kinds cited, the cited text, and the
    citations removed because they back the value only with lines that address the model."""
    kept: list[Citation] = []
    dropped: list[str] = []
    kinds: set[str] = set()
    texts: list[str] = []
    injected: list[str] = []
    for cite in cites:
        citation, why, ev = verifier.resolve(cite, by_id, value)
        if citation is None:
            dropped.append(why)
            continue
        if value and verifier.injected(citation, value):
            injected.append(citation.label)
            continue
        if all(c.label != citation.label for c in kept):
            kept.append(citation)
        if ev is not None:
            kinds.add(ev.kind)
            texts.append(
                verifier.span_text(citation.path, citation.start_line, citation.end_line)
                if citation.start_line
                else ev.text
            )
    return kept, dropped, kinds, texts, injected


def _unused_pointer(
    f: TemplateField, section: str, reason: str, *, flagged: bool = False
) -> FieldResult:
    """Not found: the lines the model pointed at cannot be the value (extract style)."""
    return FieldResult(
        id=f.id,
        label=f.label,
        section=section,
        kind=f.kind.value,
        status="not_found",
        is_rationale=f.is_rationale,
        flagged=flagged,
        reasons=[reason],
    )


def field_result(
    f: TemplateField, answer: Any, by_id: dict[str, Evidence], verifier: Verifier, section: str
) -> FieldResult:
    extracted = not hasattr(answer, "value") and not hasattr(answer, "rows")
    value: Any = answer.rows if f.kind is FieldKind.TABLE else getattr(answer, "value", None)
    if f.kind is FieldKind.TABLE:
        value = [
            row.model_dump()
            for row in value
            if is_usable(list(row.model_dump().values()), f.description)
        ]
    elif f.kind is FieldKind.LIST and value is not None:
        value = [v for v in value if is_usable(v, f.description)]
    usable = is_usable(value, f.description)
    citations, dropped, kinds, texts, injected = _verify_cites(
        cites_of(answer), by_id, verifier, value_text(value) if usable else ""
    )
    extra: list[str] = []
    confidence = answer.confidence
    if not usable:
        value = None
        pointed = not extracted or answer.status == "answered"
        if (
            pointed
            and citations
            and citations[0].quote
            and f.kind in (FieldKind.TEXT, FieldKind.LIST)
        ):
            # The model found the evidence but wrote no usable value (in the extract style it is
            # not asked to): the cited lines themselves are the draft, for a human to confirm.
            citations[0], quote = verifier.excerpt(citations[0])
            if verifier.injected(citations[0], quote):
                # Lines that speak to the model are an instruction, not an answer.
                return _unused_pointer(
                    f, section, injection_reason([citations[0].label]), flagged=True
                )
            cited = citations[0]
            span = (verifier.index.file_lines(cited.path) or [])[
                cited.start_line - 1 : cited.end_line
            ]
            if is_heading(span, cited.path):
                # A section title names a topic ("Hosting Platforms"); it states no value.
                return _unused_pointer(
                    f,
                    section,
                    f"the lines the model pointed at ({citations[0].label}) are a heading, "
                    "not a value",
                )
            if not f.is_rationale and is_plans_doc(cited.path):
                # A roadmap states plans ("Google has an internal Jujutsu server backed by a
                # database"), not what the system is built on today.
                return _unused_pointer(
                    f,
                    section,
                    f"the lines the model pointed at ({citations[0].label}) are from a roadmap: "
                    "plans, not the system as it is",
                )
            if extracted and not mentions_subject(f, quote):
                # Small models point at arbitrary lines; lines that share no word with what the
                # field asks about are not an answer.
                return _unused_pointer(
                    f,
                    section,
                    f"the lines the model pointed at ({citations[0].label}) do not mention what "
                    "it asks",
                )
            value = quote if f.kind is FieldKind.TEXT else [quote]
            texts = [quote]
            confidence = min(confidence, 0.5)
            extra.append(
                "the value is the cited text"
                + (" (extract style)" if extracted else "")
                + "; check that it answers the field"
            )
    status = (
        "answered"
        if value
        else ("not_applicable" if answer.status == "not_applicable" else "not_found")
    )
    unknown = verifier.unknown_mentions(value_text(value)) if status == "answered" else []
    held = support(value_text(value), texts) if status == "answered" else 1.0
    j = judge(
        status=status,
        model_confidence=confidence,
        is_rationale=f.is_rationale,
        kept=citations,
        dropped=dropped,
        unknown=unknown,
        cited_kinds=kinds,
        supported=held,
        injected=injected,
    )
    if status == "answered" and f.is_rationale and len(value_text(value).split()) < 4:
        extra.append("it names something but states no reason")
        j.confidence = min(j.confidence, 0.4)
    quoted = bool(extra) and extra[0].startswith("the value is the cited text")
    if (
        status == "answered"
        and not quoted
        and unsupported(j, citations, held, injected, invented(unknown, texts))
    ):
        return _unused_pointer(f, section, left_out(1))
    reasons = extra + j.reasons if status == "answered" else []
    return FieldResult(
        id=f.id,
        label=f.label,
        section=section,
        kind=f.kind.value,
        status=status,
        value=value if status == "answered" else None,
        confidence=j.confidence,
        model_confidence=answer.confidence,
        basis=j.basis if f.is_rationale else None,
        is_rationale=f.is_rationale,
        citations=citations if status == "answered" else [],
        flagged=bool(reasons) or j.flagged,
        reasons=reasons,
    )


def group_result(
    g: Group, answer: Any, by_id: dict[str, Evidence], verifier: Verifier, section: str
) -> FieldResult:
    fields, _ = g.members()
    rationale = any(f.is_rationale for f in fields)
    items: list[dict[str, Any]] = []
    rejected = 0
    for item in answer.items:
        values = {
            f.id: getattr(item, item_key(f), None) for f in fields if hasattr(item, item_key(f))
        }
        placeholders = {f.id: f"{f.label}: {f.description}" for f in fields}
        values = {
            k: v
            for k, v in values.items()
            if is_usable(v, placeholders[k]) and not echoes_prompt(value_text(v))
        }
        text = value_text(list(values.values()))
        if not text.strip():
            continue
        citations, dropped, kinds, texts, injected = _verify_cites(
            cites_of(item), by_id, verifier, text
        )
        unknown = verifier.unknown_mentions(text)
        held = support(text, texts)
        j = judge(
            status="answered",
            model_confidence=item.confidence,
            is_rationale=rationale,
            kept=citations,
            dropped=dropped,
            unknown=unknown,
            cited_kinds=kinds,
            supported=held,
            injected=injected,
        )
        if unsupported(j, citations, held, injected, invented(unknown, texts)):
            rejected += 1
            continue
        items.append(
            {
                **values,
                "citations": [c.model_dump() for c in citations],
                "confidence": j.confidence,
                "flagged": j.flagged,
                "reasons": j.reasons,
                "basis": j.basis,
            }
        )
    status = "answered" if items else "not_found"
    confidence = min((i["confidence"] for i in items), default=0.0)
    return FieldResult(
        id=g.id,
        label=g.label,
        section=section,
        kind="group",
        status=status,
        confidence=confidence,
        items=items,
        is_rationale=rationale,
        # Flagged when values were left out beside kept ones (a human sees it in the review); left
        # empty, the group is listed as not found with the same reason.
        flagged=bool(rejected and items),
        reasons=[left_out(rejected)] if rejected else [],
    )
