"""Decision records: the reasons a repository records, harvested without a model.

Four sources, each read lexically once per file at index time (commits once per history):
- ADR files (MADR, Nygard and similar layouts): title, status, date, context, decision, rationale,
  consequences and the options considered, from their sections;
- design prose: paragraphs that state a reason ("because", "so that", "rather than" ...), one record
  per heading section, the heading path as its subject;
- commit messages whose body gives a reason;
- code comments that explain a choice.
Every passage keeps the exact lines it came from, so a record is cited like any evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from agent.chunking import note_sections
from agent.history import Commit
from agent.injection import addressed_lines, addresses_model

# A reason stated outright: two points. Measured on the quality benchmark's design docs, these
# words open nearly every documented reason; the weak ones alone mostly describe behaviour.
_STRONG = re.compile(
    r"\b(because|so that|in order to|to avoid|to prevent|instead of|rather than|trade-?offs?|"
    r"we (?:chose|decided|opted|prefer|picked|went with)|(?:chose|decided|opted) to|"
    r"(?:the|a|one|major|main|primary|another|important|good|two|three) reasons?|reasons? (?:for|why)|"
    r"this is why|that'?s why|that is why|the rationale|rationale|historically|motivation|"
    r"(?:is|are|was|were) (?:designed|intended|meant) to|the (?:benefit|advantage|downside|drawback)s?|"
    r"the (?:goal|idea|point) (?:is|was|of)|for (?:\w+ ){0,2}reasons|so as to)\b",
    re.IGNORECASE,
)
_WEAK = re.compile(
    r"\b(otherwise|due to|as a result|this (?:means|allows|lets|avoids|ensures|makes|gives|provides|"
    r"enables|keeps|way)|which (?:means|allows|lets|avoids|ensures|makes)|to ensure|to allow|"
    r"to keep|to make sure|to make|, so (?!that)|, allowing|, enabling|, as (?=[a-z]+ (?:is|are|has|have|was|were|does|do)\b)|since (?![\d.v]+\b)(?!then\b)|(?:^|(?<=[.!?]\s))as (?!a |an |the |of |well |long |far |soon |mentioned|described|shown|such|follows|part|needed|expected|usual|before|with|in |for |to |on |at |if |you |it is |this ))",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9(`\"*_\[])")
_NOT_DESIGN = re.compile(
    r"(^|/)(changelog|changes|history|news|release[-_ ]?notes?|releases|authors|contributors|"
    r"code[-_]of[-_]conduct|license|licence|security|claude|agents?|gemini|copilot-instructions|"
    r"\.cursorrules)([./_-]|$)|(^|/)(locale|locales|i18n|translations?)/",
    re.IGNORECASE,
)
_DESIGN_DOC = re.compile(
    r"architecture|design|internals?|technical|rationale|philosophy|tenets|principles|"
    r"decisions?|rfcs?|proposals?|concepts?|how[-_]it[-_]works|faq|why|overview|patterns?",
    re.IGNORECASE,
)
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
_RST_ROLE = re.compile(r":[\w:.-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MAX_PASSAGE = 700
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
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


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
    if _DESIGN_DOC.search(p.stem) or any(_DESIGN_DIR.search(d) for d in p.parts[:-1]):
        return 2.0
    if _HOWTO_DOC.search(path):
        return 0.6
    if p.stem.lower() == "readme":
        return 1.5 if len(p.parts) == 1 else 1.2
    return 1.0


# ---------------------------------------------------------------------------------------------
# Notes: paragraphs and sentences with their lines


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
        if language == "rst" and (
            stripped.startswith(".. ") or re.match(r"^([=\-~^\"'`#*+])\1{2,}$", stripped)
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
    bounds = [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    for end in bounds:
        chunk = text[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            first = para.start + text.count("\n", 0, pos + lead)
            last = para.start + text.count("\n", 0, end)
            out.append(Passage(clean(chunk), first, last))
        pos = end
    return out


def _reason_passage(sentences: list[Passage]) -> Passage | None:
    """From the first sentence that gives a reason, up to five sentences, at most ~700 chars."""
    for i, s in enumerate(sentences):
        if _STRONG.search(s.text) or _WEAK.search(s.text):
            # "This compromise costs ..." is about the sentence before it: quote that one too.
            if i > 0 and _ANAPHORA.match(s.text):
                i, s = i - 1, sentences[i - 1]
            picked = [s]
            # "There are three major reasons for this." announces; the reasons follow it.
            for nxt in sentences[i + 1 : i + 5]:
                if sum(len(p.text) for p in picked) + len(nxt.text) > _MAX_PASSAGE:
                    break
                picked.append(nxt)
            text = " ".join(p.text for p in picked)
            return Passage(text[: _MAX_PASSAGE + 200], picked[0].start, picked[-1].end)
    return None


def _joined(sentences: list[Passage], limit: int = 300) -> Passage | None:
    picked: list[Passage] = []
    for s in sentences:
        if picked and sum(len(p.text) for p in picked) + len(s.text) > limit:
            break
        picked.append(s)
    if not picked:
        return None
    return Passage(" ".join(p.text for p in picked), picked[0].start, picked[-1].end)


def from_notes(path: str, text: str, language: str, is_adr: bool) -> list[Decision]:
    """The decisions a Markdown/RST notes file records: an ADR as one record, prose per section."""
    if _NOT_DESIGN.search(path) or language not in ("markdown", "rst", "text"):
        return []
    lines = text.split("\n")
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
        paras = _paragraphs(lines, body_first, last, language)
        scored = [(reason_score(" ".join(p.lines)), p) for p in paras]
        first_para = _sentences(paras[0]) if paras else []
        passages = []
        for score, para in scored:
            if score < threshold:
                continue
            sentences = _sentences(para)
            # The section's first sentence says what was decided; the reason follows it.
            found = _reason_passage(sentences[1:]) if para is paras[0] else None
            found = found or _reason_passage(sentences)
            if found is not None and not _touches(found, planted):
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
                decision=_clear(_joined(first_para[:1]), planted),
                reasons=passages,
            )
        )
    return out


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
    parts: dict[str, tuple[int, int]] = {}
    status = date = ""
    for first, last, heading in sections:
        name = heading.rsplit(" > ", 1)[-1].strip() if heading else ""
        if name and not title:
            title = name
            continue
        for part, pattern in _ADR_PARTS.items():
            if name and part not in parts and pattern.search(name):
                parts[part] = (first + 1, last)
                break
    for line in lines[:40]:
        m = _FIELD_LINE.match(line)
        if m and m.group(1).lower() == "status" and not status:
            status = clean(m.group(2))
        if m and m.group(1).lower() == "date" and not date:
            date = clean(m.group(2))
    if not title:
        return None

    def passage(part: str, limit: int = _MAX_PASSAGE) -> Passage | None:
        if part not in parts:
            return None
        paras = _paragraphs(lines, *parts[part], language)
        return _joined([s for p in paras for s in _sentences(p)], limit)

    if "status" in parts and not status:
        found = passage("status", 80)
        status = found.text if found else ""
    decision = passage("decision")
    reasons = [r for r in (passage("rationale"),) if r]
    # Nygard records have no rationale section: the reason is stated in the decision or the
    # consequences ("We rejected PostgreSQL because ..."), or else it is the context itself.
    consequences = passage("consequences")
    for part in ("decision", "consequences"):
        if reasons or part not in parts:
            continue
        said = [s for p in _paragraphs(lines, *parts[part], language) for s in _sentences(p)]
        because = [s for s in said if _STRONG.search(s.text) or _WEAK.search(s.text)]
        if because:
            reasons = [_joined(because, _MAX_PASSAGE) or because[0]]
            if part == "consequences":
                # Quoted once: the reasons as the rationale, the rest as the consequences.
                consequences = _joined([s for s in said if s not in because], _MAX_PASSAGE)
    alternatives: list[str] = [
        s.text
        for p in _paragraphs(lines, 1, len(lines), language)
        for s in _sentences(p)
        if _REJECTED.search(s.text)
    ][:4]
    if "alternatives" in parts:
        a, b = parts["alternatives"]
        alternatives = [
            clean(re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", x))
            for x in lines[a - 1 : b]
            if re.match(r"^\s*([-*+]|\d+[.)])\s+", x)
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
        status=status.rstrip("."),
        date=date,
    )


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
        sentences = [Passage(clean(s), 0, 0) for s in _SENTENCE_END.split(body) if s.strip()]
        found = _reason_passage(sentences)
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
}


def from_comments(path: str, text: str, language: str) -> list[Decision]:
    """Comment blocks that explain a choice ("we do X because Y", "NOTE: ... to avoid ...")."""
    if language not in _COMMENT_LANGS:
        return []
    lines = text.split("\n")
    out = []
    n = 0
    while n < len(lines):
        m = _COMMENT.match(lines[n])
        if not m:
            n += 1
            continue
        first = n
        block = []
        while n < len(lines) and (m := _COMMENT.match(lines[n])):
            block.append(m.group(2).rstrip("*/ ").strip())
            n += 1
        joined = " ".join(b for b in block if b)
        if (
            len(joined) < 40
            or _NO_REASON.search(joined)
            or reason_score(joined) < 2
            or addresses_model(joined)
        ):
            continue
        nxt = next((x for x in lines[n : n + 3] if x.strip()), "")
        d = _DEFINITION.match(nxt)
        name = d.group(1) if d else ""
        subject = f"{name} ({path})" if name else path
        passage = Passage(clean(joined)[:_MAX_PASSAGE], first + 1, n)
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
