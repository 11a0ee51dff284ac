"""The "why" half of a template, filled from the decisions the repository records (no model).

- A group of decisions (the overview's Key Architectural Decisions) gets one item per recorded
  decision, ADRs first, then the design docs' reasoned sections, each quoted and cited.
- ADR Location / ADR Format come from where the ADRs live and how they are written.
- A "Why ..." field whose subject the facts name (the database is SQLite) gets the recorded reason
  that names that subject, quoted and cited as documented; flagged unless the passage says it
  was chosen, since a reason that mentions SQLite may explain something else about it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from agent.document.template_model import assign_roles
from agent.ingest.decisions import Decision, Passage, doc_weight, split_sentences, states_cause
from agent.ingest.index import RepoIndex
from agent.ingest.repomodel.components import Component

# An architecture document lists the decisions that shaped the system: enough to cover its main
# parts, few enough to read (arc42 and the MADR examples keep 10-20).
MAX_DECISIONS = 16
_PER_FILE = 8
_CHOICE = re.compile(
    r"\b(chose|choose|chosen|decided|decision|selected|picked|opted|prefer(?:red)?|went with|"
    r"(?:is|are|was|were) used (?:as|for|because)|we use|uses? \w+ (?:as|for|because))\b",
    re.IGNORECASE,
)

_ROLES = (
    ("title", re.compile(r"title|^name$|^decision \d*$")),
    ("context", re.compile(r"^context|problem|background")),
    ("decision", re.compile(r"^decision$|what was decided|^outcome")),
    ("rationale", re.compile(r"rationale|^why|reason")),
    ("consequences", re.compile(r"consequence|implication|trade-?off")),
    ("status", re.compile(r"^status$")),
    ("location", re.compile(r"location|link|source|^where")),
)


@dataclass
class Filled:
    """A value with the spans that state it."""

    value: str
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def member_roles(labels: dict[str, str]) -> dict[str, str]:
    """Which member (by id) takes which role in a decision item."""
    return assign_roles(labels, _ROLES)


def is_decision_group(group_label: str, labels: dict[str, str]) -> bool:
    """A repeated group of decisions: titled items with a rationale (ADR-like)."""
    roles = set(member_roles(labels).values())
    return bool(re.search(r"decision|adr", group_label, re.I)) and {"title", "rationale"} <= roles


def key_decisions(index: RepoIndex, limit: int = MAX_DECISIONS) -> list[Decision]:
    """The recorded decisions that belong in an architecture document, most central first."""
    chosen: list[Decision] = []
    per_file: Counter[str] = Counter()
    seen: set[str] = set()
    adrs = sorted((d for d in index.decisions if d.kind == "adr"), key=lambda d: d.path)
    # The maintainers' account of the whole system first (ARCHITECTURE.md, docs/design.rst), then
    # the other design docs (one feature each), then, to fill the list, the other notes' reasoned
    # sections (README, reference docs), never a tutorial's or a recipe's. Within each tier, the
    # decisions about the code's central parts (the most-used definitions and the components)
    # come before the rest.
    central = central_names(index)
    prose = [d for d in index.decisions if d.kind == "design" and doc_weight(d.path) >= 1]
    prose.sort(key=lambda d: (-doc_weight(d.path), -centrality(d, central)))
    for d in [*adrs, *prose]:
        if len(chosen) >= limit:
            break
        if d.kind == "design" and per_file[d.path] >= _PER_FILE:
            continue
        # A docs site often mirrors the docs folder (web/docs/.../architecture.md): one copy.
        if d.kind == "design":
            key = re.sub(r"\W+", " ", " ".join(p.text for p in d.reasons)).lower().strip()
            if key in seen:
                continue
            seen.add(key)
        per_file[d.path] += 1
        chosen.append(d)
    return chosen


CENTRAL_NAMES = 150


def central_names(index: RepoIndex) -> dict[str, float]:
    """Names of the code's most-used definitions and of its components, with their weight
    (definitions by the rank their users pass them; a component counts as much as the top one)."""
    model = index.model
    scored = sorted(model.ranking.symbols.items(), key=lambda kv: -kv[1])
    out: dict[str, float] = {}
    for (_, name), score in scored:
        if len(out) >= CENTRAL_NAMES:
            break
        # Short or lower-case names ("new", "get") are words of the prose, not references.
        if len(name) >= 4 and not name.islower():
            out.setdefault(name, score)
    top = max(out.values(), default=1.0) or 1.0
    out = {n: v / top for n, v in out.items()}
    for c in model.components:
        for name in (c.package, PurePosixPath(c.path).stem):
            if name and len(name) >= 4:
                out.setdefault(name, 1.0)
    return out


def centrality(d: Decision, central: dict[str, float]) -> float:
    """How much of the code's centre a decision speaks of: the weight of the central names its
    subject and reasons mention (each once)."""
    if not central:
        return 0.0
    text = " ".join([d.subject, *(p.text for p in d.reasons)])
    words = set(re.findall(r"[A-Za-z_][\w-]*", text))
    return sum(w for name, w in central.items() if name in words)


def _quote(passages: list[Passage], path: str, limit: int = 2) -> Filled:
    shown = passages[:limit]
    return Filled(" … ".join(p.text for p in shown), [(path, p.start, p.end) for p in shown])


def decision_items(index: RepoIndex, labels: dict[str, str]) -> list[dict[str, object]]:
    """One group item per key decision: quoted from its source, every member cited."""
    by_role = {role: fid for fid, role in member_roles(labels).items()}
    items: list[dict[str, object]] = []
    for d in key_decisions(index):
        where = d.path if d.kind == "adr" else f"{d.path} ({d.subject})"
        parts: list[tuple[str, Filled | None]] = [
            (
                "title",
                Filled(d.title, [(d.path, d.title_line or d.start, d.title_line or d.start)]),
            ),
            ("context", _quote([d.context], d.path) if d.context else None),
            ("decision", _quote([d.decision], d.path) if d.decision else None),
            ("rationale", _quote(d.reasons, d.path) if d.reasons else None),
            ("consequences", _quote([d.consequences], d.path) if d.consequences else None),
            (
                "status",
                Filled(d.status, [(d.path, d.status_line or d.start, d.status_line or d.start)])
                if d.status
                else None,
            ),
            # Cited by its first line: the whole span may hold lines no value should rest on.
            ("location", Filled(f"{where}, lines {d.start}-{d.end}", [(d.path, d.start, d.start)])),
        ]
        values: dict[str, object] = {}
        cites: list[tuple[str, int, int]] = []
        for role, filled in parts:
            if filled is not None and filled.value and role in by_role:
                values[by_role[role]] = filled.value
                cites.extend(filled.spans)
        values["_citations"] = sorted(set(cites), key=cites.index)
        items.append(values)
    return items


def adr_field(label: str, index: RepoIndex) -> Filled | None:
    """ADR Location and ADR Format, from the ADR files themselves."""
    low = label.lower()
    adrs = [d for d in index.decisions if d.kind == "adr"]
    if "location" in low or "where" in low:
        if not adrs:
            design = sorted(
                {d.path for d in key_decisions(index) if doc_weight(d.path) >= 1.5},
                key=lambda p: (-doc_weight(p), p),
            )[:4]
            if not design:
                return None
            return Filled(
                ", ".join(f"`{p}`" for p in design) + " (no ADR files)",
                [(p, 1, 1) for p in design],
            )
        dirs = Counter(str(PurePosixPath(d.path).parent) for d in adrs)
        shown = [f"`{p}/` ({n} records)" for p, n in dirs.most_common(3)]
        first = {p: next(d.path for d in adrs if d.path.startswith(p)) for p in dirs}
        return Filled(", ".join(shown), [(first[p], 1, 1) for p, _ in dirs.most_common(3)])
    if "format" in low:
        if not adrs:
            return None
        with_status = sum(bool(d.status) for d in adrs)
        styles: Counter[str] = Counter()
        for d in adrs:
            if {"alternatives", "decision"} <= set(d.sections):
                styles["MADR-style (context, considered options, decision outcome)"] += 1
            elif {"context", "decision", "consequences"} <= set(d.sections):
                styles["Nygard-style (status, context, decision, consequences)"] += 1
            else:
                styles["free-form records"] += 1
        if len(styles) == 1:
            name = next(iter(styles))
        else:
            name = "mixed: " + ", ".join(f"{n} {style}" for style, n in styles.most_common())
        sample = adrs[0]
        return Filled(
            f"{name}; {with_status} of {len(adrs)} state a status",
            [(sample.path, sample.start, min(sample.end, sample.start + 20))],
        )
    return None


def why_field(names: list[str], index: RepoIndex, role: str = "") -> Filled | None:
    """The recorded reason that names one of a field's subjects (from the facts) in the role the
    field asks about (`role`: the parent field's label, e.g. "Caching"), quoted."""
    if not names:
        return None
    # "we already run Redis" in a decision about an e-mail queue is no reason for Redis caching:
    # the sentence (or its record's subject) must also speak of the role.
    stems = [w.lower()[:5] for w in re.findall(r"[A-Za-z]{4,}", role)]
    role_re = re.compile(r"\b(" + "|".join(map(re.escape, stems)) + r")", re.I) if stems else None
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(n) for n in names if n) + r")\b", re.IGNORECASE
    )
    best: tuple[float, Decision, Passage] | None = None
    for d in index.decisions:
        weight = doc_weight(d.path, d.kind == "adr")
        if d.kind not in ("adr", "design") or weight < 1.2:
            continue
        if d.kind == "adr" and pattern.search(d.title):
            # An ADR titled for the subject ("Use SQLite for stock storage") is its decision; its
            # reason, or failing one its context, says why.
            reason = d.reasons[0] if d.reasons else d.context
            if reason is not None and (best is None or weight + 1 > best[0]):
                best = (weight + 1, d, reason)
            continue
        for p in d.reasons:
            # The subject and the reason in one sentence: "B2 is used ... as Backblaze has an
            # agreement", not a paragraph that mentions Python and, later, gives some reason.
            # Outside the design docs the sentence must also say it was a choice.
            if not any(
                pattern.search(s)
                and states_cause(s)
                and (weight >= 2 or _CHOICE.search(s))
                and (role_re is None or role_re.search(f"{s} {d.subject}"))
                for s in split_sentences(p.text)
            ):
                continue
            score = weight + (1 if _CHOICE.search(p.text) else 0)
            if best is None or score > best[0]:
                best = (score, d, p)
    if best is None:
        return None
    _, d, p = best
    reasons = []
    if d.kind != "adr" and not _CHOICE.search(p.text):
        reasons.append(
            f"a recorded reason that mentions {names[0]} ({d.path}, {d.subject}); confirm it "
            "explains this choice"
        )
    return Filled(p.text, [(d.path, p.start, p.end)], reasons)


_SEPARATE = re.compile(
    r"\b(separat\w*|split|own (?:crate|package|module|library|process|service)|"
    r"independent(?:ly)?|decoupl\w*|isolat\w*|boundar\w*|reus\w*|layer\w*)\b",
    re.IGNORECASE,
)


def component_reason(index: RepoIndex, comp: Component) -> Filled | None:
    """Why Separated: the reason a design record gives in a section that names the component (its
    package name, its path, or an identifier-like name) and speaks of separation, quoted; flagged
    unless the heading, or a sentence with a cause, says so."""
    # A plain directory name ("index", "query", "lib") is a word in any sentence: only the
    # package's own name, the path written as a path, or an identifier-like name count.
    names = {comp.package, f"{comp.path}/"} - {"", "/"}
    if "/" in comp.path:
        names.add(comp.path)
    if re.search(r"[-_]|[a-z][A-Z]", comp.name) and comp.name.lower() not in _GENERIC:
        names.add(comp.name)
    pattern = re.compile(
        r"(?<![\w/.-])("
        + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        + r")(?![\w-])",
        re.IGNORECASE,
    )
    best: tuple[float, Decision, Passage, bool] | None = None
    for d in index.decisions:
        weight = doc_weight(d.path, d.kind == "adr")
        if d.kind not in ("adr", "design") or weight < 1.2:
            continue
        # The record names the part (in its heading, its opening sentence or the reason) and
        # says why something stands apart ("Separation of library from UI").
        head = f"{d.subject} {d.decision.text if d.decision else ''}"
        for p in d.reasons:
            if not pattern.search(f"{head} {p.text}"):
                continue
            if not _SEPARATE.search(f"{d.subject} {p.text}"):
                continue
            separate = bool(_SEPARATE.search(d.subject)) or any(
                _SEPARATE.search(s) and states_cause(s) for s in split_sentences(p.text)
            )
            score = weight + (1 if separate else 0)
            if best is None or score > best[0]:
                best = (score, d, p, separate)
    if best is None:
        return None
    _, d, p, separate = best
    reasons = (
        []
        if separate
        else [
            f"a recorded reason that names {comp.package or comp.name}; confirm it explains the split"
        ]
    )
    return Filled(p.text, [(d.path, p.start, p.end)], reasons)


_GENERIC = frozenset(
    {
        "utils",
        "common",
        "tests",
        "testing",
        "scripts",
        "tools",
        "server",
        "client",
        "models",
        "views",
        "routes",
        "config",
        "types",
        "helpers",
        "internal",
        "public",
        "static",
        "assets",
        "templates",
        "components",
        "services",
        "handlers",
        "cmd",
        "pkg",
        "core",
        "base",
        "shared",
    }
)
