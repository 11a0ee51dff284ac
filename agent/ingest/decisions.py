"""Decision records: the reasons a repository records, harvested without a model.

Four sources, each read lexically once per file at index time (commits once per history): ADR files
and design prose (agent/ingest/decision_notes.py), commit messages whose body gives a reason, and code
comments that explain a choice (here). This module also holds the record types and the vocabulary of
reasons ("because", "so that", "rather than" ...) both use. Every passage keeps the exact lines it
came from, so a record is cited like any evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from agent.ingest.history import Commit
from agent.ingest.injection import addresses_model

# A condition that makes something necessary: "If the collaboration service is hosted on a separate
# domain then the `COLLABORATION_URL` env must be set". In a notes file a reason; in a code comment
# mostly control flow ("if x is None then we have to return early"), so comments do not count it.
_CONDITION = r"if [^.;]{3,150}?,? then [^.;]{0,100}?(?:must|has to|have to|needs? to)"
_CONDITIONAL = re.compile(r"\b" + _CONDITION, re.IGNORECASE)
# A reason stated outright: two points. Measured on the quality benchmark's design docs, these
# words open nearly every documented reason; the weak ones alone mostly describe behaviour.
_STRONG = re.compile(
    r"\b(because|so that|in order to|to avoid|to prevent|instead of|rather than|trade-?offs?|"
    r"we (?:chose|decided|opted|prefer|picked|went with)|(?:chose|decided|opted) to|"
    r"(?:the|a|one|major|main|primary|another|important|good|two|three) reasons?|reasons? (?:for|why)|"
    r"this is why|that'?s why|that is why|the rationale|rationale|historically|motivation|"
    # A condition that makes something necessary (in notes; see _CONDITION).
    + _CONDITION
    + r"|"
    r"(?:is|are|was|were) (?:designed|intended|meant) to|the (?:benefit|advantage|downside|drawback)s?|"
    r"the (?:goal|idea|point) (?:is|was|of)|for (?:\w+ ){0,2}reasons|so as to|"
    # A benefit stated as an outcome ("disables locking, which can result in improved query
    # performance") is the reason an option exists, as "the benefit" is.
    r"results? in (?:improved|better|faster|less|lower|fewer)|"
    # "Since reads are much more common than writes, we cache as much as possible."
    r"(?:^|(?<=[.!?]\s))since (?![\d.v]+\b)(?!(?:then|version|release|python|go|node|last|the (?:last|first))\b)"
    r"[^.;]{5,200}?, (?:we|it|this|they|there|you|the)"
    r")\b",
    re.IGNORECASE,
)
_WEAK = re.compile(
    r"\b(otherwise|due to|as a result|this (?:also |only |then |in turn )?(?:means|allows|lets|avoids|ensures|makes|gives|provides|"
    r"enables|keeps|way)|which (?:means|allows|lets|avoids|ensures|makes)|to ensure|to allow|"
    r"to keep|to make sure|to make|, so (?!that)|, allowing|, enabling|"
    # A design's effect on a quality it trades for (measured on design docs that give a reason
    # without "because": "which can result in improved query performance", "with little space
    # overhead", "the risk this poses is mitigated by ...").
    r"(?:which|this|that) can result in|"
    r"with this (?:technique|approach|design|scheme|layout|method|structure)|"
    # "..., while avoiding the overhead of an external HTTP call"; "The differences between
    # returning and raising a response are: ..."; "uses services to provide pluggable ...".
    # ("while" opens its alternative: the group's leading \b fails between ", " and " while".)
    r"(?:, |while )avoiding|the (?:\w+ )?differences? between|"
    r"\buses? (?:\w+ ){1,3}to (?:provide|allow|enable|support|keep|ensure|isolate|decouple)\b|"
    r"(?:is|are) (?:a |an )?(?:very |particularly )?useful (?:\w+ )?(?:for|to|when)|"
    r"(?:performance|speed) (?:penalty|cost|benefit)|(?:little|less|no|low|extra) (?:\w+ )?overhead|"
    r"(?:risk|cost|problem)s? (?:\w+ ){0,3}(?:is|are) (?:mitigated|avoided|reduced)|mitigat\w+|"
    r"instead\b(?! of)|(?:is|are) (?:very |particularly |especially )?(?:important|essential|critical|crucial)\b(?! to note)|"
    r"(?:a |an )?too (?:large|big|complex|complicated|expensive|costly|slow|risky|hard|difficult)\b|(?:handles?|handled|solves?|addresses) (?:this|that|it) (?:\w+ ){0,3}by|, as (?=[a-z]+ (?:is|are|has|have|was|were|does|do)\b)|since (?![\d.v]+\b)(?!then\b)|(?:^|(?<=[.!?]\s))as (?!a |an |the |of |well |long |far |soon |mentioned|described|shown|such|follows|part|needed|expected|usual|before|with|in |for |to |on |at |if |you |it is |this ))",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9(`\"*_\[])")
NOT_DESIGN = re.compile(
    r"(^|/)(changelog|changes|history|news|release[-_ ]?notes?|releases|authors|contributors|"
    r"code[-_]of[-_]conduct|license|licence|security|claude|agents?|gemini|copilot-instructions|"
    r"\.cursorrules)([./_-]|$)|(^|/)(locale|locales|i18n|translations?)/|"
    # Prompts, test data and document templates say what a model or a test should see.
    r"(^|/)(prompts?|tests?|testdata|fixtures|golden|templates?)/",
    re.IGNORECASE,
)
_DESIGN_DOC = re.compile(
    r"architecture|design|internals?|technical|rationale|philosophy|tenets|principles|"
    r"decisions?|rfcs?|proposals?|concepts?|how[-_]it[-_]works|faq|why|overview|patterns?",
    re.IGNORECASE,
)
# A file named for the design as a whole (ARCHITECTURE.md, docs/design.rst, core_tenets.md) is the
# maintainers' account of the system; one in a design/ or rfcs/ folder is usually about one feature.
_SYSTEM_DOC = re.compile(
    r"^(architecture|design|internals?|tenets|core[-_]tenets|principles|philosophy|rationale|"
    r"design[-_]decisions|technical[-_]overview|system[-_]design)$",
    re.IGNORECASE,
)
# Blog posts, incident reports and announcements tell what happened, not how the system is built.
_NEWS = re.compile(
    r"(^|/)(blog|posts|news|announcements?|incidents?|postmortems?)/|(^|/)\d{4}-\d{2}-\d{2}-",
    re.IGNORECASE,
)
_USER_DOCS = re.compile(r"(^|/)(user|users|guides?|tutorials?|how-?to)/", re.IGNORECASE)
# A directory named "patterns" or "overview" holds recipes as often as design (flask's docs/patterns).
_DESIGN_DIR = re.compile(
    r"architecture|design|internals?|technical|rationale|philosophy|decisions?|rfcs?|proposals?",
    re.IGNORECASE,
)
_HOWTO_DOC = re.compile(
    r"tutorial|quick[-_]?start|getting[-_]started|install|howto|how[-_]to|examples?|cookbook|"
    r"recipes|changelog|upgrad|migrat(?:e|ing)[-_]from|contributing",
    re.IGNORECASE,
)
# The lookbehind keeps a long run of "a:a:a:..." linear (each start is tried once).
_RST_ROLE = re.compile(r"(?<![\w:.-]):[\w.-]+(?::[\w.-]+)*:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MAX_PASSAGE = 700
# "Datasette handles this for you by ...", "With this technique, ...": the sentence before says
# what "this" is (the constraint, the technique), and a quote without it answers nothing.
_BACKREF = re.compile(
    r"^(?:\S+ ){0,4}?(?:handles?|handled|solves?|solved|addresses|avoids|with) (?:this|that|it)\b|"
    r"\b(?:this|that) (?:poses|causes|creates|introduces|brings)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(r"^(this|that|these|those|it|so|therefore|thus|hence|which)\b", re.I)


@dataclass(slots=True)
class Passage:
    """Text quoted from the source, with the lines it spans (0-0 in a commit message)."""

    text: str
    start: int
    end: int


@dataclass
class Decision:
    """One recorded decision and the reasons given for it."""

    kind: str  # adr | design | commit | comment
    path: str  # file path, or commit:SHORT
    start: int
    end: int
    subject: str  # heading path, ADR title, commit subject, or the commented definition
    title: str
    weight: float  # how much the source is the maintainers' design record (ranking)
    decision: Passage | None = None
    context: Passage | None = None
    reasons: list[Passage] = field(default_factory=list)
    consequences: Passage | None = None
    alternatives: list[str] = field(default_factory=list)
    status: str = ""
    date: str = ""
    files: list[str] = field(default_factory=list)  # a commit's touched files
    sections: list[str] = field(default_factory=list)  # an ADR's parts: context, decision ...
    title_line: int = 0  # an ADR's title and status lines (0: the record's first line)
    status_line: int = 0

    @property
    def text(self) -> str:
        """Everything the record says, for matching."""
        parts = [self.subject, self.decision.text if self.decision else ""]
        parts += [p.text for p in self.reasons]
        return " ".join(p for p in parts if p)

    @property
    def label(self) -> str:
        """`path:start-end` (or the commit)."""
        return self.path if not self.start else f"{self.path}:{self.start}-{self.end}"


def reason_score(text: str) -> int:
    """Two points per outright reason word, one per weaker one."""
    return 2 * len(_STRONG.findall(text)) + len(_WEAK.findall(text))


def states_reason(text: str, *, weak_counts: bool = False) -> bool:
    """Whether a passage gives a reason outright (or, where asked, with a weaker connective)."""
    return bool(_STRONG.search(text) or (weak_counts and _WEAK.search(text)))


# Cause, not contrast: "instead of a SQL statement you give it a function" states no reason.
_CAUSAL = re.compile(
    r"\b(because|so that|in order to|to avoid|to prevent|reasons?|rationale|due to|"
    r"for (?:\w+ )?(?:savings|performance|security|simplicity|speed|safety|reliability|"
    r"compatibility|consistency)|(?:chose|choose|chosen|decided|opted|prefer(?:red)?)|"
    r"since (?![\d.v]+\b)|, as (?=[a-z]+ (?:is|are|has|have|was|were|does|do)\b))",
    re.IGNORECASE,
)


def states_cause(text: str) -> bool:
    """Whether a sentence gives a cause or a choice (not only a contrast or a purpose)."""
    return bool(_CAUSAL.search(text))


def split_sentences(text: str) -> list[str]:
    """A passage's sentences."""
    return [s for s in SENTENCE_END.split(text) if s.strip()]


def clean(text: str) -> str:
    """Prose as a reader sees it: RST roles and Markdown links reduced to their text, one line."""
    text = _RST_ROLE.sub(lambda m: f"`{m.group(1).strip()}`", text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = text.replace("``", "`")
    return re.sub(r"\s+", " ", text).strip()


def doc_weight(path: str, is_adr: bool = False) -> float:
    """How much a notes file is the maintainers' own account of the design."""
    if is_adr:
        return 3.0
    p = PurePosixPath(path)
    # A dated file in a design folder is an RFC (rfcs/2020-03-06-...md), not a post.
    if _NEWS.search(path) and not any(_DESIGN_DIR.search(d) for d in p.parts[:-1]):
        return 0.5
    # Near the root and outside the user guide: a feature's "internals" page for users is not it.
    if _SYSTEM_DOC.search(p.stem) and len(p.parts) <= 3 and not _USER_DOCS.search(path):
        return 2.5
    if _DESIGN_DOC.search(p.stem) or any(_DESIGN_DIR.search(d) for d in p.parts[:-1]):
        return 2.0
    if _HOWTO_DOC.search(path):
        return 0.6
    if p.stem.lower() == "readme":
        return 1.5 if len(p.parts) == 1 else 1.2
    return 1.0


def reason_passage(sentences: list[Passage], first: int = 0) -> Passage | None:
    """From the first sentence (from index `first`) that gives a reason, up to five sentences, at
    most ~700 chars; the sentence before it too when the reason refers back to it."""
    for i, s in enumerate(sentences):
        if i < first:
            continue
        if _STRONG.search(s.text) or _WEAK.search(s.text):
            # "This compromise costs ..." is about the sentence before it: quote that one too.
            if i > 0 and (_ANAPHORA.match(s.text) or _BACKREF.search(s.text)):
                i, s = i - 1, sentences[i - 1]
            picked = [s]
            # "There are three major reasons for this." announces; the reasons follow it.
            for nxt in sentences[i + 1 : i + 5]:
                if sum(len(p.text) for p in picked) + len(nxt.text) > MAX_PASSAGE:
                    break
                picked.append(nxt)
            text = " ".join(p.text for p in picked)
            return Passage(text[: MAX_PASSAGE + 200], picked[0].start, picked[-1].end)
    return None


def joined(sentences: list[Passage], limit: int = 300) -> Passage | None:
    picked: list[Passage] = []
    for s in sentences:
        if picked and sum(len(p.text) for p in picked) + len(s.text) > limit:
            break
        picked.append(s)
    if not picked:
        return None
    return Passage(" ".join(p.text for p in picked), picked[0].start, picked[-1].end)


# ---------------------------------------------------------------------------------------------
# Commits and code comments

_BOT = re.compile(
    r"^(bump |merge (branch|remote)|update dependency|chore\(deps|\[pre-commit|pre-commit autoupdate)",
    re.I,
)


def from_commits(commits: list[Commit]) -> list[Decision]:
    """Commits whose body (not only the subject) gives a reason."""
    out = []
    for c in commits:
        body = c.body.strip()
        if (
            not body
            or _BOT.search(c.subject)
            or reason_score(body) < 2
            or addresses_model(c.message)
        ):
            continue
        sentences = [Passage(clean(s), 0, 0) for s in SENTENCE_END.split(body) if s.strip()]
        found = reason_passage(sentences)
        if found is None:
            continue
        out.append(
            Decision(
                kind="commit",
                path=f"commit:{c.short}",
                start=0,
                end=0,
                subject=clean(c.subject),
                title=clean(c.subject),
                weight=1.0,
                decision=Passage(clean(c.subject), 0, 0),
                reasons=[found],
                date=c.date[:10],
                files=c.files[:20],
            )
        )
    return out


_COMMENT = re.compile(r"^\s*(#(?!!)|//+|--|/?\*+(?!/))\s?(.*)$")
_SLASH_COMMENT = re.compile(r"^\s*(//+|/?\*+(?!/))\s?(.*)$")  # C-like: `#` is a directive
_HASH_LANGS = {
    "python",
    "shell",
    "ruby",
    "perl",
    "r",
    "yaml",
    "toml",
    "elixir",
    "dockerfile",
    "makefile",
}
# Build and deployment files: a comment there explains the setting below it ("# Limit glibc malloc
# arenas ... for no performance benefit here" above `ENV MALLOC_ARENA_MAX=2`), so one weaker
# connective is enough and the setting is the subject.
_CONFIG_LANGS = {"dockerfile", "makefile", "yaml", "toml"}
_NO_REASON = re.compile(r"copyright|licen[sc]e|noqa|type: ?ignore|eslint-|pragma|nolint|spdx", re.I)
_DEFINITION = re.compile(
    r"^\s*(?:export\s+|pub(?:\(\w+\))?\s+|async\s+|static\s+|public\s+|private\s+)*"
    r"(?:def|class|func|fn|function|struct|interface|trait|impl|type|const|let|var)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_][\w]*)"
)
_COMMENT_LANGS = {
    "python",
    "go",
    "rust",
    "js",
    "ts",
    "java",
    "kotlin",
    "ruby",
    "c",
    "cpp",
    "csharp",
    "php",
    "scala",
    "swift",
    "shell",
    "sql",
    *_CONFIG_LANGS,
}


def from_comments(path: str, text: str, language: str) -> list[Decision]:
    """Comment blocks that explain a choice ("we do X because Y", "NOTE: ... to avoid ...")."""
    if language not in _COMMENT_LANGS:
        return []
    lines = text.split("\n")
    comment = _COMMENT if language in _HASH_LANGS or language == "sql" else _SLASH_COMMENT
    out = []
    n = 0
    while n < len(lines):
        m = comment.match(lines[n])
        if not m:
            n += 1
            continue
        first = n
        block = []
        while n < len(lines) and (m := comment.match(lines[n])):
            block.append(m.group(2).rstrip("*/ ").strip())
            n += 1
        joined = " ".join(b for b in block if b)
        if (
            len(joined) < 40
            or _NO_REASON.search(joined)
            or reason_score(joined) - 2 * len(_CONDITIONAL.findall(joined))
            < (1 if language in _CONFIG_LANGS else 2)
            or addresses_model(joined)
        ):
            continue
        nxt = next((x for x in lines[n : n + 3] if x.strip()), "")
        d = _DEFINITION.match(nxt)
        name = d.group(1) if d else ""
        if language in _CONFIG_LANGS and nxt.strip() and not comment.match(nxt):
            name = " ".join(nxt.split())[:80]
        subject = f"{name} ({path})" if name else path
        passage = Passage(clean(joined)[:MAX_PASSAGE], first + 1, n)
        out.append(
            Decision(
                kind="comment",
                path=path,
                start=first + 1,
                end=n,
                subject=subject,
                title=name or PurePosixPath(path).name,
                weight=0.8,
                reasons=[passage],
            )
        )
    return out
