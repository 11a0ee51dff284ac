"""Evidence found through the repository model for a call's structural fields.

Text retrieval ranks chunks by the words they share with a section's questions, and the code that
declares a route table, a model class or a queue consumer rarely uses those words ("ORM usage",
"API integration", "event bus"). The model knows where each of them is declared, so a field that
asks about one of these kinds of thing is shown the declaration that says most about it: the file
holding most of the system's routes (or tables, or tasks), at its first. Matching is by what each
field asks (its label), never by the whole section's words: a template's generic vocabulary
("design", "service", "data") shares words with every item in a repository.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from agent.ingest.repomodel.model import is_auxiliary
from agent.ingest.retrieval import Hit

if TYPE_CHECKING:
    from agent.document.template_model import TemplateField
    from agent.draft.plan import Unit
    from agent.ingest.chunking import Chunk
    from agent.ingest.index import RepoIndex

# What a field's label asks about -> the kind of declaration that answers it. `\b` keeps
# "asynchronous" from matching "synchronous"; a label about observing or securing a thing ("Event
# Logging", "API Security") asks about something else, which the declaration does not show.
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "table",
        re.compile(r"\b(orm|schema|databases?|tables?|entit|data model|relational|migration)"),
    ),
    ("http", re.compile(r"\b(api|apis|rest|endpoints?|routes?|http|graphql|webhooks?)\b")),
    (
        "event",
        re.compile(
            r"\b(events?|queues?|messag|asynchronous|async|pub/sub|topics?|jobs?|workers?|background)"
        ),
    ),
    ("auth", re.compile(r"\b(oauth|identity|sso|authenticat)")),
    ("integration", re.compile(r"\b(third-party|integrations?|external)")),
    ("cli", re.compile(r"\b(cli|command-line|commands?)\b")),
)
_NOT_ASKING = re.compile(
    r"\b(logging|metrics|tracing|monitoring|debugging|security|constraints?)\b"
)
_EVENT_KINDS = ("task", "queue", "hook")
MODEL_SLOTS = 2  # declarations one call is shown at most (the rest of its budget is text hits)


def asked_kinds(fields: list[TemplateField]) -> list[str]:
    """The kinds of declaration the fields ask about, in the fields' order ("why" fields ask for
    reasons, which declarations do not hold)."""
    kinds: list[str] = []
    for f in fields:
        if f.is_rationale:
            continue
        label = f.label.lower()
        if _NOT_ASKING.search(label):
            continue
        for kind, pattern in _ASKS:
            if kind not in kinds and pattern.search(label):
                kinds.append(kind)
    return kinds


def model_hits(unit: Unit, index: RepoIndex, slots: int = MODEL_SLOTS) -> list[Hit]:
    """The chunks declaring what the unit's structural fields ask about, at most `slots`."""
    fields = list(unit.fields) + [f for g in unit.groups for f in g.members()[0]]
    hits: list[Hit] = []
    for kind in asked_kinds(fields):
        where = _declaration(kind, index)
        chunk = _chunk_at(index, *where) if where else None
        if chunk is not None and all(h.chunk is not chunk for h in hits):
            hits.append(Hit(chunk, 0.0, len(hits)))
        if len(hits) == slots:
            break
    return hits


def _declaration(kind: str, index: RepoIndex) -> tuple[str, int] | None:
    """Where the system declares most things of this kind: the busiest file (the most central
    of equally busy ones: a models directory holds one table per file), at its first."""
    model = index.model
    places: list[tuple[str, int]]
    if kind == "table":
        places = [(t.path, t.line) for t in model.tables]
    elif kind == "auth":
        places = [(g.path, g.line) for g in model.integrations if g.category == "auth"]
    elif kind == "integration":
        places = [(g.path, g.line) for g in model.integrations if g.category != "library"]
    else:
        wanted = _EVENT_KINDS if kind == "event" else (kind,)
        places = [(i.path, i.line) for i in model.interfaces if i.kind in wanted]
    places = [p for p in places if not is_auxiliary(p[0])]
    if not places:
        return None
    count = Counter(path for path, _ in places)
    central = model.ranking.files
    busiest = max(count, key=lambda path: (count[path], central.get(path, 0.0)))
    return min(p for p in places if p[0] == busiest)


def _chunk_at(index: RepoIndex, path: str, line: int) -> Chunk | None:
    record = index.records.get(path)
    if record is None or record.skip is not None or index.is_template(path):
        return None
    return next((c for c in record.chunks if c.start_line <= line <= c.end_line), None)
