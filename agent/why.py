"""`docagent why`: answer a reviewer's "why" from the repository's own record, or say it has none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from agent.base.errors import (
    ModelCancelledError,
    ModelError,
    ModelNotConfiguredError,
    UserInputError,
)
from agent.draft.answers import BoundedAnswer, Citation, Cite
from agent.draft.brief import brief_block, build_brief
from agent.draft.citations import Verifier, support
from agent.draft.evidence import Evidence, evidence_text
from agent.draft.recorded import answer_from_record, referred_to
from agent.draft.verify import injection_reason, judge
from agent.ingest.decisions import Passage
from agent.ingest.index import RepoIndex
from agent.ingest.retrieval import Hit
from agent.llm import prompts
from agent.llm.client import ModelClient
from agent.llm.profile import ModelProfile
from agent.why_evidence import (
    Location,
    absent_names,
    gather,
    question_names,
    ranked_hits,
)


class WhyAnswer(BoundedAnswer):
    """What the model returns for one question (source first: small models ground better)."""

    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(
        description="Evidence id that states the reason, e.g. E2; none if no evidence does."
    )
    lines: str = Field(
        description="The line numbers in that evidence that state the reason, e.g. 14-15; empty if none."
    )
    answer: str = Field(
        description="Two or three sentences answering the question from the evidence."
    )
    recorded: Literal["documented", "inferred", "not_recorded"] = Field(
        description="documented: a note, ADR or commit states it; inferred: read from code; not_recorded: no reason given."
    )
    alternatives: list[str] = Field(
        description="Alternatives the evidence says were rejected; [] if none."
    )
    confidence: float = Field(description="0 to 1.")

    @field_validator("confidence")
    @classmethod
    def _clamp(cls, value: float) -> float:
        return min(1.0, max(0.0, float(value)))

    @field_validator("alternatives")
    @classmethod
    def _few(cls, value: list[str]) -> list[str]:
        return [v for v in value if v.strip()][:4]


@dataclass
class WhyResult:
    """An answer with where it comes from."""

    question: str
    answer: str
    basis: str  # documented | inferred | not_recorded
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    flagged: bool = False
    failed: bool = False  # the model call failed: no answer at all
    from_record: bool = False  # quoted from a decision record, no model asked

    def to_json(self) -> dict[str, object]:
        """JSON for --json."""
        return {
            "question": self.question,
            "answer": self.answer,
            "basis": self.basis,
            "confidence": self.confidence,
            "citations": [c.model_dump() for c in self.citations],
            "alternatives": self.alternatives,
            "flagged": self.flagged,
            "reasons": self.reasons,
            "from_record": self.from_record,
            "evidence": [
                {"id": e.id, "where": e.header.split(" ")[1], "kind": e.kind} for e in self.evidence
            ],
        }


def answer(
    index: RepoIndex, question: str, client: ModelClient, at: Location | None = None
) -> WhyResult:
    """Answer one question; never a reason the repository does not record."""
    hits = ranked_hits(index, question, at)
    evidence = gather(index, question, at, hits=hits)
    early = answer_without_model(index, question, at, evidence, hits)
    return early if early is not None else ask_model(index, question, client, at, evidence)


def answer_without_model(
    index: RepoIndex,
    question: str,
    at: Location | None,
    evidence: list[Evidence],
    hits: list[Hit] | None = None,
) -> WhyResult | None:
    """The answers that need no model: nothing to go on, or a recorded decision that says it."""
    missing = absent_names(index, question)
    if missing and not at:
        return WhyResult(
            question,
            "The repository does not mention "
            + ", ".join(f"`{m}`" for m in missing)
            + ", so it records no reason about it.",
            "not_recorded",
            0.0,
            evidence=evidence[:5],
        )
    if not evidence:
        return WhyResult(
            question, "Nothing in the repository matches this question.", "not_recorded", 0.0
        )
    return answer_from_records(index, question, at, evidence, hits)


def ask_model(
    index: RepoIndex,
    question: str,
    client: ModelClient,
    at: Location | None,
    evidence: list[Evidence],
) -> WhyResult:
    """Ask the model to find the reason in the evidence, then verify what it says."""
    where = f"The question is about {at.path} lines {at.start}-{at.end}.\n" if at else ""
    budget = ModelProfile.of(client.settings).brief_tokens
    text = prompts.render(
        "why",
        repo=index.root.name,
        brief=brief_block(build_brief(index, budget)) if budget else "",
        question=question,
        location=where,
        evidence=evidence_text(evidence),
    )
    try:
        reply = client.complete(
            [{"role": "user", "content": text}],
            WhyAnswer,
            max_tokens=500,
            purpose=f"why: {question[:60]}",
        ).value
    except ModelError as exc:
        if isinstance(exc, (ModelNotConfiguredError, ModelCancelledError)):
            raise
        return WhyResult(
            question,
            f"No answer: the model call failed ({exc.message}).",
            "not_recorded",
            0.0,
            evidence=evidence,
            flagged=True,
            reasons=[exc.message],
            failed=True,
        )
    return settle(index, question, reply, evidence)


def answer_from_records(
    index: RepoIndex,
    question: str,
    at: Location | None = None,
    evidence: list[Evidence] | None = None,
    hits: list[Hit] | None = None,
) -> WhyResult | None:
    """The recorded reason that answers the question, quoted and cited; None to ask the model."""
    # Records are looked for only in the sources retrieval ranks for the question (recall@8 0.94
    # on the benchmark's documented reasons): a record elsewhere that shares its words is rarely
    # the reason asked about.
    hits = ranked_hits(index, question, at) if hits is None else hits
    ranked = list(dict.fromkeys(h.chunk.path for h in hits))[:8]
    if at is not None:
        ranked.insert(0, at.path)
    if evidence is None:
        evidence = gather(index, question, at, hits=hits)
    ranked += [e.path for e in evidence if e.path.startswith("commit:") and e.path not in ranked]
    match = answer_from_record(index, question, ranked)
    if match is None:
        return None
    d, p = match.decision, match.passage
    if d.kind == "commit":
        commit = index.commit(d.path)
        citation = Citation(path=d.path, start_line=0, end_line=0, quote=d.subject[:120])
        if commit is None:
            return None
    else:
        before = referred_to(index, d, p)
        reason = p.text
        if before is not None:
            # "Because people have different preferences ..." answers nothing without what it
            # is the reason for: quote that paragraph with it (the citation's quote stays the
            # reason itself, which a long paragraph would push out of it).
            p = Passage(f"{before.text} {p.text}", before.start, p.end)
        elif d.decision is not None and d.decision.end < p.start:
            # A reason that never names what the question asks about ("A template abstraction
            # layer ... is a too large undertaking" for "Why does Flask bundle Jinja?") is quoted
            # after the sentence its section opened with, when that one names it.
            missing = [n for n in question_names(question) if n.lower() not in p.text.lower()]
            if missing and all(n.lower() in d.decision.text.lower() for n in missing):
                p = Passage(f"{d.decision.text} … {p.text}", d.decision.start, p.end)
        citation = Citation(path=d.path, start_line=p.start, end_line=p.end, quote=reason[:300])
    where = {
        "adr": "an ADR",
        "design": "the notes",
        "commit": "a commit",
        "comment": "a code comment",
    }
    reasons = []
    if match.coverage < 0.75:
        reasons.append(
            f"quoted from {where[d.kind]} ({d.subject}) that shares {match.coverage:.0%} of the "
            "question's terms; confirm it is the reason asked about"
        )
    if d.kind in ("commit", "comment"):
        # On the benchmark's documented reasons, 3 of 4 answers quoted from commits were about a
        # nearby change rather than the design asked about.
        reasons.append(
            f"{where[d.kind]} gives this reason for one change; confirm it explains the design"
        )
    confidence = round(min(0.9, 0.5 + match.coverage / 2), 2)
    return WhyResult(
        question,
        p.text,
        "documented",
        min(confidence, 0.55) if reasons else confidence,
        [citation],
        d.alternatives[:4],
        evidence,
        reasons,
        flagged=bool(reasons),
        from_record=True,
    )


def settle(
    index: RepoIndex, question: str, reply: WhyAnswer, evidence: list[Evidence]
) -> WhyResult:
    """Verify the model's citation and decide documented / inferred / not recorded (no model here)."""
    by_id = {e.id: e for e in evidence}
    text = reply.answer.strip()
    cite = Cite(evidence=reply.evidence, lines=reply.lines)
    verifier = Verifier(index)
    citation, why, ev = verifier.resolve(cite, by_id, text)
    reasons = [why] if why else []
    closest = evidence[:3]
    if citation is None or ev is None or reply.recorded == "not_recorded" or not text:
        return _not_recorded(question, closest, reasons)
    if verifier.injected(citation, text):
        return _not_recorded(question, closest, [injection_reason([citation.label])], flagged=True)
    cited = (
        verifier.span_text(citation.path, citation.start_line, citation.end_line)
        if citation.start_line
        else ev.text
    )
    # A claim is on record only if the cited lines name what it names ("uses Kafka for retries"
    # citing lines about backoff is not documented); the question's own names set the subject.
    missing = verifier.missing_names(text, [cited, question, citation.path])
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        return _not_recorded(
            question,
            [ev, *(e for e in closest if e is not ev)][:3],
            [
                f"the model answered {text[:200]!r}, but the cited {citation.label} does not mention {names}"
            ],
            flagged=True,
        )
    # One judge for drafts and answers: the same confidence rules, basis and review threshold.
    j = judge(
        status="answered",
        model_confidence=reply.confidence,
        is_rationale=True,
        kept=[citation],
        dropped=[],
        unknown=[],
        cited_kinds={ev.kind},
        supported=support(text, [cited]),
    )
    if citation.note:
        reasons.append(f"the cited lines did not hold the reason; {citation.note}")
    reasons += j.reasons
    basis, confidence = j.basis or "inferred", j.confidence
    alternatives = [a for a in reply.alternatives if support(a, [e.text for e in evidence]) >= 0.5]
    return WhyResult(
        question,
        text,
        basis,
        confidence,
        [citation],
        alternatives,
        evidence,
        reasons,
        flagged=bool(reasons) or j.flagged,
    )


def _not_recorded(
    question: str, closest: list[Evidence], reasons: list[str], *, flagged: bool = False
) -> WhyResult:
    return WhyResult(
        question,
        "The repository does not record a reason for this. The closest evidence is listed below.",
        "not_recorded",
        0.0,
        evidence=closest,
        reasons=reasons,
        flagged=flagged,
    )


def read_questions(path: Path) -> list[str]:
    """Questions from a file: one per line, or a Markdown list."""
    if not path.is_file():
        raise UserInputError(f"{path}: no such questions file")
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    if not out:
        raise UserInputError(f"{path}: no questions in it", hint="Write one question per line.")
    return out


def review_reply(results: list[WhyResult], link_base: str = "") -> str:
    """A Markdown reply for a pull-request thread."""
    from agent.draft.report import sources

    lines = []
    for r in results:
        label = {
            "documented": "Documented",
            "inferred": "Inferred from code",
            "not_recorded": "Not recorded",
        }[r.basis]
        if r.from_record:
            label += " (quoted from the repository's record; no model asked)"
        lines.append(f"**Q: {r.question}**")
        lines.append("")
        lines.append(f"{label}: {r.answer}{sources(r.citations, link_base)}")
        if r.alternatives:
            lines.append(f"Rejected alternatives on record: {'; '.join(r.alternatives)}.")
        if r.basis == "not_recorded" and r.evidence:
            lines.append(
                "Closest evidence: "
                + ", ".join(e.header.split(" ")[1] for e in r.evidence[:3])
                + "."
            )
        if r.flagged:
            lines.append(
                f"_Check before relying on it (confidence {r.confidence:.2f}): {'; '.join(r.reasons)}._"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
