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

from agent.ingest.retrieval import Hit

if TYPE_CHECKING:
    from agent.document.template_model import TemplateField
    from agent.draft.plan import Unit
    from agent.ingest.chunking import Chunk
    from agent.ingest.index import RepoIndex

# What a field's label asks about -> the kind of declaration that answers it. Whole words only
# ("Eventual Consistency", "Encryption at Rest", "Tablet Support" ask about none of these); a label
# about observing or securing a thing ("Event Logging", "API Security") asks about something the
# declaration does not show.
_ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "table",
        re.compile(
            r"\b(orm|schemas?|databases?|tables?|entit(y|ies)|data models?|relational|migrations?)\b"
        ),
    ),
    (
        "http",
        re.compile(
            r"\b(apis?|(?<!at )rest(ful)?|endpoints?|routes?|http|graphql|g?rpc|webhooks?)\b"
        ),
    ),
    (
        "event",
        re.compile(
            r"\b(events?|queues?|messages?|messaging|asynchronous|async|pub/sub|topics?|"
            r"background (jobs?|tasks?|workers?|processing)|jobs?|workers?)\b"
        ),
    ),
    ("auth", re.compile(r"\b(oauth|identity|sso|authentication)\b")),
    (
        "integration",
        re.compile(r"\b(third-party|integrations?|external (services?|apis?|systems?))\b"),
    ),
    ("cli", re.compile(r"\b(cli|command-line|commands?)\b(?!\s+query)")),
)
_NOT_ASKING = re.compile(
    r"\b(logs?|logging|metrics|tracing|monitoring|debugging|observability|telemetry|audit\w*|"
    r"alert\w*|security)\b"
)
# "Database Constraints" is in the table file; "Third-Party Service Constraints" in no declaration.
_CONSTRAINTS = re.compile(r"\bconstraints?\b")
_KINDS = {"http": ("http", "grpc"), "event": ("task", "queue", "hook"), "cli": ("cli",)}
# Integrations that are no third-party service: a local library, an HTTP client, error reporting.
_NOT_SERVICES = frozenset({"library", "http", "monitoring"})
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
            if kind != "table" and _CONSTRAINTS.search(label):
                continue
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
        places = [(g.path, g.line) for g in model.integrations if g.category not in _NOT_SERVICES]
    else:
        places = [(i.path, i.line) for i in model.interfaces if i.kind in _KINDS[kind]]
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
    # The chunk holding the line, else the nearest (a chunker may leave blank stretches out).
    return min(
        record.chunks,
        key=lambda c: (
            0
            if c.start_line <= line <= c.end_line
            else min(abs(c.start_line - line), abs(c.end_line - line))
        ),
        default=None,
    )
