"""Answer a "why" straight from a decision record: quoted, cited, no model.

The embedded model answered 2 of 12 documented reviewer questions although the right document was in
its evidence most of the time. When a recorded reason matches the question well enough, the record
is the answer: its own words, its own lines. Otherwise `why` asks the model as before.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from agent.ingest.decisions import Decision, Passage, reason_score, states_reason
from agent.ingest.index import RepoIndex
from agent.ingest.retrieval import tokenize

# Share of the question's weighted terms a passage (with its heading and decision) must hold.
# Chosen on the quality benchmark's dev questions; see bench/why.py --truth.
MIN_COVERAGE = 0.55
MIN_OWN = 0.2
# Between reasons that cover the question alike, the one that says its words together ("Services
# are lazily imported so that ...") over one whose words are scattered across a commit's list of
# unrelated changes ("Import date-fns locales ... service process ... Require S3Storage lazily").
CLOSE = 0.05
LEAD_LINES = 8
# Openings of a reason that is about what came before it ("Because ...", "That is why ...",
# "Why is this the case? Because ...", "Doing so will disable all locking ..." below the paragraph
# that says what is done); "This service uses Redis because ..." stands on its own.
_REFERS_BACK = re.compile(
    r"(because|that is (why|because)|this is (why|because)|why is this|therefore|thus|hence|"
    r"(?:by |in )?doing (?:so|this))\b",
    re.I,
)
# Words that frame a why-question rather than name its subject ("why is X kept next to Y instead of
# Z"): a recorded reason need not repeat them.
_FRAMING = frozenset(
    tokenize(
        "instead rather than use uses used using kept keep keeps hold holds send sends through "
        "them they their it its some there here next just also"
    )
)
_TITLE_LINE = re.compile(r"^\s*(#{1,6}\s|([-=~^*+#])\2{2,}\s*$)")
# "With this technique, we can index many similar branches ..." is about the technique its section
# opened with ("Each file blob in the index has a bitmask ..."), however far above.
_NAMES_THE_DESIGN = re.compile(
    r"^(?:(?:with|using|by) )?(?:this|that|these|such) (?:\w+ )?(?:technique|approach|design|"
    r"scheme|layout|method|structure|representation|encoding|arrangement|strategy|trick)s?\b",
    re.I,
)


# One matcher per index: `why --questions FILE` and the MCP server ask many questions of one index,
# and building it tokenizes every recorded reason.
_MATCHERS: WeakKeyDictionary[RepoIndex, RecordMatcher] = WeakKeyDictionary()


@dataclass
class Match:
    """The best recorded reason for a question."""

    decision: Decision
    passage: Passage
    coverage: float


class RecordMatcher:
    """Scores every recorded reason against questions (idf over the records themselves)."""

    def __init__(self, index: RepoIndex) -> None:
        self.entries: list[tuple[Decision, Passage, set[str], set[str]]] = []
        for d in index.decisions:
            head = set(tokenize(f"{d.subject} {d.decision.text if d.decision else ''}"))
            for p in d.reasons:
                # In an ADR or a design doc "this allows" or ", so" states a reason often enough;
                # elsewhere ("Otherwise it returns None.") it does not.
                # Two weaker ones together state it anywhere, as they do for the harvest; a comment
                # was harvested by its own rule (one weaker connective above a setting in a
                # Dockerfile: "... for no performance benefit here").
                weak = d.weight >= 2 or reason_score(p.text) >= 2 or d.kind == "comment"
                if not states_reason(p.text, weak_counts=weak):
                    continue
                # A reason that refers back ("Why is this the case? Because people have different
                # preferences ...") is about the lines just before it ("Flask will never have a
                # database layer. It will not have a form library ..."). Any reason's preceding
                # lines were measured too: they matched reasons to questions about their neighbours.
                before = referred_to(index, d, p)
                # The technique a section opened with ("With this technique, ...") is quoted with
                # the reason but does not make it speak to the question: a question about that
                # opening sentence is not answered by a reason about something said after it.
                lead = [before.text] if before is not None and before is not d.decision else []
                # What a back-referring reason refers to is part of what it says.
                own = set(tokenize(" ".join([*lead, p.text])))
                self.entries.append((d, p, head | own, own))
        df: Counter[str] = Counter(t for _, _, terms, _ in self.entries for t in terms)
        n = max(1, len(self.entries))
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.unknown = math.log(1 + n)

    def best(self, question: str, ranked: list[str] | None = None) -> Match | None:
        """The reason that covers most of the question, among the sources retrieval ranked
        (`ranked`, best first; None: all), the higher-ranked and the design docs winning ties."""
        found = self.top(question, ranked, 1)
        return found[0] if found else None

    def top(
        self, question: str, ranked: list[str] | None = None, k: int = 4, floor: float = 0.0
    ) -> list[Match]:
        """The `k` best-scoring reasons covering at least `floor` of the question, one per
        passage text (a mirrored docs folder quotes the same reason twice)."""
        terms = set(tokenize(question)) - _FRAMING
        if not terms or not self.entries:
            return []
        total = sum(self.idf.get(t, self.unknown) for t in terms)
        scored: list[tuple[float, Match]] = []
        for d, p, have, own in self.entries:
            # The reason itself must speak to the question, not only its heading.
            if sum(self.idf.get(t, self.unknown) for t in terms & own) < total * MIN_OWN:
                continue
            if ranked is not None and d.path not in ranked:
                continue
            coverage = sum(self.idf.get(t, self.unknown) for t in terms & have) / total
            if coverage < floor:
                continue
            place = ranked.index(d.path) / len(ranked) if ranked else 0.0
            near = CLOSE * closeness(tokenize(p.text), terms & own)
            scored.append(
                (coverage + 0.1 * (1 - place) + d.weight / 50 + near, Match(d, p, coverage))
            )
        scored.sort(key=lambda sm: -sm[0])
        out: list[Match] = []
        seen: set[str] = set()
        for _, m in scored:
            key = " ".join(m.passage.text.lower().split())
            if key not in seen:
                seen.add(key)
                out.append(m)
            if len(out) >= k:
                break
        return out


def closeness(tokens: list[str], wanted: set[str]) -> float:
    """How close together a passage says the question's words: how many of them it holds over
    the fewest consecutive words that hold them all (1.0: side by side)."""
    at = [(n, t) for n, t in enumerate(tokens) if t in wanted]
    need = len({t for _, t in at})
    if need < 2:
        return 0.0
    best = len(tokens)
    counts: Counter[str] = Counter()
    have = left = 0
    for n, t in at:
        counts[t] += 1
        have += counts[t] == 1
        while have == need:
            best = min(best, n - at[left][0] + 1)
            first = at[left][1]
            counts[first] -= 1
            have -= counts[first] == 0
            left += 1
    return need / best


def referred_to(index: RepoIndex, d: Decision, p: Passage) -> Passage | None:
    """The paragraph a back-referring reason is about ("Flask will never have a database layer.
    ... Everything else is up for extensions." before "Why is this the case? Because ..."), or
    None when the reason stands on its own."""
    if (
        _NAMES_THE_DESIGN.match(p.text)
        and d.decision is not None
        and d.decision.end < p.start
        and d.decision.start > d.start - 1
    ):
        return d.decision
    if not (d.start and p.start > d.start and _REFERS_BACK.match(p.text)):
        return None
    lines = index.file_lines(d.path) or []
    n = p.start - 1
    while n > d.start and not lines[n - 1].strip():
        n -= 1
    if _TITLE_LINE.match(lines[n - 1]):
        return None  # the reason opens its section: nothing before it to refer to
    end = n
    # Up the paragraph, never into a heading or its rule.
    while (
        n > d.start
        and lines[n - 2].strip()
        and not _TITLE_LINE.match(lines[n - 2])
        and end - n < LEAD_LINES - 1
    ):
        n -= 1
    text = " ".join(line.strip() for line in lines[n - 1 : end])
    return Passage(text, n, end) if text and n < p.start else None


def record_matches(index: RepoIndex, question: str, floor: float, k: int = 2) -> list[Match]:
    """The best recorded reasons covering at least `floor` of the question, best first."""
    return _matcher(index).top(question, None, k, floor)


def _matcher(index: RepoIndex) -> RecordMatcher:
    matcher = _MATCHERS.get(index)
    if matcher is None:
        matcher = _MATCHERS[index] = RecordMatcher(index)
    return matcher


def answer_from_record(
    index: RepoIndex, question: str, ranked: list[str] | None = None
) -> Match | None:
    """A recorded reason that answers the question well enough to quote, or None."""
    match = _matcher(index).best(question, ranked)
    if match is None or match.coverage < MIN_COVERAGE:
        return None
    return match
