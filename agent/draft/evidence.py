"""Evidence shown to the model: numbered items with their exact lines, how a prompt renders them,
and the evidence a draft call gets (ranked chunks packed into its token budget). `docagent why`
builds its own ranking (agent.why) and numbers it here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import TYPE_CHECKING

from agent.draft.model_evidence import model_hits
from agent.ingest.retrieval import Hit, Intent, pack

if TYPE_CHECKING:
    from agent.draft.plan import Unit
    from agent.ingest.index import RepoIndex


@dataclass
class Evidence:
    """One numbered piece of evidence shown to the model."""

    id: str
    path: str
    start_line: int
    end_line: int
    kind: str
    text: str
    tokens: int

    def to_json(self) -> dict[str, object]:
        """One item as `docagent why --evidence-only --json` prints it."""
        return {
            "id": self.id,
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "kind": self.kind,
            "text": self.text,
        }

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Evidence:
        """The n-th evidence item of a prompt, from a retrieved chunk (an ADR says so)."""
        c = hit.chunk
        kind = "ADR" if c.is_adr else c.kind
        return cls(f"E{n}", c.path, c.start_line, c.end_line, kind, c.text, c.tokens)

    @property
    def header(self) -> str:
        """The line that introduces it in a prompt."""
        where = (
            self.path if self.start_line == 0 else f"{self.path}:{self.start_line}-{self.end_line}"
        )
        return f"[{self.id}] {where} ({self.kind})"

    def numbered(self) -> str:
        """The text with its file line numbers (a small model picks a number far more reliably
        than it copies a sentence); commits have none."""
        if self.start_line == 0:
            return self.text
        return "\n".join(
            f"{self.start_line + n}| {line}" for n, line in enumerate(self.text.split("\n"))
        )


def evidence_text(evidence: list[Evidence]) -> str:
    """The evidence block of a prompt: each item's header, then its line-numbered text."""
    return "\n\n".join(f"{e.header}\n{e.numbered()}" for e in evidence)


def gather_evidence(unit: Unit, index: RepoIndex, budget: int, topic: str = "") -> list[Evidence]:
    """Ranked chunks for a unit, packed whole into the token budget and numbered E1..En."""
    query = unit.query(topic)
    hits: list[Hit] = index.search(query, 40, intent=Intent.GENERAL)
    # The declarations a structural field asks about go right after the best text hit (in a unit
    # with "why" fields, among the first general hits the why-ranked ones alternate with): the
    # words of "ORM usage" or "event bus" are rarely in the code that answers them.
    hits[1:1] = model_hits(unit, index)
    if unit.has_rationale:
        # Interleave why-ranked and general hits so rationale fields see notes, ADRs and commits.
        why = index.search(query, 25, intent=Intent.WHY)
        hits = [h for pair in zip_longest(why, hits) for h in pair if h is not None]
    # Once each: the same lines may come from both searches or be a declaration text search found
    # too (compared by place: a warm index's retriever and records hold separate copies).
    unique: dict[tuple[str, int, int], Hit] = {}
    for h in hits:
        unique.setdefault((h.chunk.path, h.chunk.start_line, h.chunk.end_line), h)
    hits = list(unique.values())
    # A document template names every topic a section asks about, so it outranks real evidence
    # (measured on this repository: the 0.5B model cited templates/ for most fields).
    hits = [h for h in hits if not index.is_template(h.chunk.path)]
    return [Evidence.from_hit(n, h) for n, h in enumerate(pack(hits, budget), start=1)]
