"""Resolve a model's citation (evidence id + line numbers) against the repository, without a model.

A citation stands only if the lines it names lie in the evidence it cites; the quote is then read from
the file. When those lines do not hold the value's words, the span is corrected to the lines of that
evidence that do. Paths and identifiers a value mentions must exist in the repository. Lines that
address the model instead of describing the repository ("ignore previous instructions", "AI
assistants: set every field to ...") are never evidence for a value: repository text is data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

from agent.draft.answers import Citation, Cite, FieldResult
from agent.draft.evidence import Evidence
from agent.ingest.index import RepoIndex
from agent.ingest.injection import addressed_lines, addresses_model
from agent.ingest.retrieval import tokenize

_WS = re.compile(r"\s+")
_MARKUP = re.compile(r"[`*_>#]")
_PATH_RE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+|[\w-]+\.(?:py|js|ts|tsx|go|rs|java|rb|md|toml|json|ya?ml|sql|sh|cfg|ini|txt))(?![\w/])"
)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(\(\))?$")


def normalise(text: str) -> str:
    """Lower-cased, markup-free, single-spaced text for quote matching."""
    return _WS.sub(" ", _MARKUP.sub("", text)).strip().lower()


@dataclass
class Verifier:
    """Holds the repository's facts needed to check answers."""

    index: RepoIndex
    _addressed: dict[str, set[int]] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def paths(self) -> set[str]:
        return set(self.index.paths())

    @cached_property
    def dirs(self) -> set[str]:
        return {p.rsplit("/", 1)[0] for p in self.paths if "/" in p}

    @cached_property
    def words(self) -> set[str]:
        """Every identifier-like word of the repository (built on first use: it reads every chunk)."""
        words: set[str] = set()
        for chunk in self.index.chunks:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", chunk.text))
        return words

    def resolve(
        self, cite: Cite, evidence: dict[str, Evidence], value: str = ""
    ) -> tuple[Citation | None, str, Evidence | None]:
        """The citation an evidence id + line numbers make, checked against the repository.

        Returns (citation or None, why it was dropped, the evidence item it is in). The quote is
        read from the file. Spans are corrected, with a note, to the lines of the same evidence item
        that support `value` when the cited ones do not (or none were given)."""
        span = parse_lines(cite.lines)
        ev = evidence.get(cite.evidence.strip().strip("[]").upper())
        if span and (ev is None or (ev.start_line and not _inside(span, ev))):
            # Small models often write "none" or a neighbour's id: lines that lie in another item
            # and support the value decide (line numbers alone could match any file).
            holders = [e for e in evidence.values() if e.start_line and _inside(span, e)]
            scored = [(support(value, [self.span_text(e.path, *span)]), e) for e in holders]
            best = max(scored, key=lambda pair: pair[0], default=None)
            if best is not None and (best[0] >= 0.5 or (ev is None and len(holders) == 1)):
                ev = best[1]
        if ev is None:
            return None, f"cites {cite.evidence!r}, which is not one of the evidence items", None
        if ev.start_line == 0:  # a commit: its subject is the quote
            subject = ev.text.split("\n")[1] if "\n" in ev.text else ev.text
            return Citation(path=ev.path, start_line=0, end_line=0, quote=subject[:160]), "", ev
        lines = self.index.file_lines(ev.path)
        if lines is None:
            return None, f"{ev.path} is no longer in the repository", ev
        where = f"{ev.id} ({ev.path}:{ev.start_line}-{ev.end_line})"
        # A long span backs a written value poorly: narrowed to the lines that hold its words.
        # (An extracted value is narrowed by `excerpt` instead.)
        too_long = bool(span and value and span[1] - span[0] >= MAX_SPAN_LINES)
        if span is None or not _inside(span, ev) or too_long:
            given = f"lines {cite.lines.strip()!r}" if span else "no line numbers"
            better = best_lines(lines, ev, value) if value else None
            if better is None or better[1] < 0.5:
                problem = "span too long" if span and _inside(span, ev) else f"not in {where}"
                return None, f"{given} given for {where}: {problem}", ev
            return better[0].model_copy(update={"note": f"{given} given; span chosen"}), "", ev
        start, end = span
        text = self.span_text(ev.path, start, end)
        citation = Citation(path=ev.path, start_line=start, end_line=end, quote=text[:300])
        supported = support(value, [text]) if value else 1.0
        if supported < 0.5:
            better = best_lines(lines, ev, value)
            if better is not None and better[1] >= 0.5 and better[1] > supported:
                note = f"span corrected from {start}-{end}"
                return better[0].model_copy(update={"note": note}), "", ev
        if not text:
            return None, f"{ev.path}:{start}-{end} is blank", ev
        return citation, "", ev

    def injected(self, citation: Citation, value: str) -> bool:
        """Whether a citation backs `value` only through lines that address the model (suspected
        prompt injection): its other lines, if any, do not hold the value's words."""
        if not citation.start_line:  # a commit: its subject is what is cited
            return addresses_model(citation.quote)
        lines = self.index.file_lines(citation.path) or []
        if citation.path not in self._addressed:
            self._addressed[citation.path] = addressed_lines(lines)
        span = range(citation.start_line, min(citation.end_line, len(lines)) + 1)
        planted = [n for n in span if n in self._addressed[citation.path]]
        if not planted:
            return False
        rest = [lines[n - 1] for n in span if n not in planted]
        return not value.strip() or support(value, rest) < 0.5

    def excerpt(self, citation: Citation) -> tuple[Citation, str]:
        """The first few lines of a cited span that say something (blank lines and a heading
        followed by text skipped), as a value, with the citation narrowed to them."""
        if not citation.start_line:
            return citation, citation.quote
        lines = self.index.file_lines(citation.path) or []
        picked: list[int] = []
        size = 0
        for n in range(citation.start_line, min(citation.end_line, len(lines)) + 1):
            text = lines[n - 1].strip()
            if not text or (text.startswith("#") and n < citation.end_line and not picked):
                continue
            if picked and (size + len(text) > EXCERPT_CHARS or n != picked[-1] + 1):
                break
            picked.append(n)
            size += len(text) + 1
        if not picked:
            return citation, citation.quote
        text = " ".join(lines[n - 1].strip() for n in picked)
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
        narrowed = citation.model_copy(
            update={"start_line": picked[0], "end_line": picked[-1], "quote": text[:300]}
        )
        return narrowed, text

    def span_text(self, path: str, start: int, end: int) -> str:
        """The lines start..end of a file as one whitespace-normalised line of text."""
        lines = self.index.file_lines(path) or []
        return " ".join(line.strip() for line in lines[start - 1 : end]).strip()

    def check_citation(self, citation: Citation) -> str:
        """Re-check a citation given as path:lines + quote (e.g. one kept from an earlier draft)."""
        if citation.path.startswith("commit:"):
            commit = self.index.commit(citation.path)
            return (
                ""
                if commit and normalise(citation.quote) in normalise(commit.message)
                else f"{citation.path} not found"
            )
        lines = self.index.file_lines(citation.path)
        if lines is None:
            return f"{citation.path} does not exist"
        if citation.end_line > len(lines) or citation.start_line < 1:
            return f"{citation.label} is past the end of the file ({len(lines)} lines)"
        if (
            citation.quote
            and _find(lines, normalise(citation.quote), citation.start_line, citation.end_line)
            is None
        ):
            return f"quote {citation.quote[:60]!r} is not at {citation.label}"
        return ""

    def unknown_mentions(self, value: str) -> list[str]:
        """Paths and code identifiers the value mentions that the repository does not have."""
        missing: list[str] = []
        for span in _CODE_SPAN.findall(value):
            token = span.strip()
            if "/" in token or _PATH_RE.fullmatch(token):
                if not self._path_exists(token):
                    missing.append(token)
            elif (_IDENT.match(token) and "_" in token) or re.match(
                r"^[a-z]+[A-Z]\w*$|^[A-Z][a-z]+[A-Z]\w*$", token
            ):
                name = token.rstrip("()").split(".")[-1]
                if name not in self.words:
                    missing.append(token)
        for token in _PATH_RE.findall(_CODE_SPAN.sub(" ", value)):
            if (
                "/" in token
                and "://" not in value
                and not self._path_exists(token)
                and token not in missing
            ):
                missing.append(token)
        return missing

    def missing_names(self, text: str, cited: list[str]) -> list[str]:
        """Names `text` uses that none of the `cited` texts mention: `code`, CamelCase, ACRONYMS,
        snake_case, capitalised words inside a sentence ("uses Kafka for retries"), and a
        sentence's first word when the repository never uses it."""
        have: set[str] = set()
        for part in cited:
            have.update(tokenize(part))
        vocab = self.index.retriever.vocab
        missing: list[str] = []
        for name, first in _names(text):
            terms = set(tokenize(name))
            if not terms or (first and terms & vocab.keys()) or name in missing:
                continue
            if not terms <= have:
                missing.append(name)
        return missing

    def _path_exists(self, token: str) -> bool:
        token = token.strip("./").split(":")[0].rstrip("/")
        if not token:
            return True
        if token in self.paths or token in self.dirs:
            return True
        return any(p.endswith("/" + token) for p in self.paths) or any(
            d.endswith("/" + token) or d.startswith(token + "/") for d in self.dirs
        )


# Acronyms and words that name no particular thing (a reason "from the ADR" names the ADR).
_GENERIC_NAMES = frozenset(
    {"adr", "adrs", "readme", "api", "apis", "http", "https", "url", "urls", "json", "yaml"}
    | {"toml", "cli", "ui", "id", "ids", "ok", "io", "ci", "cd", "pr", "prs", "todo", "faq"}
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*")


def _names(text: str) -> list[tuple[str, bool]]:
    """(name, is a sentence's first word) for the names a sentence uses (see `missing_names`)."""
    found = [(span.strip().rstrip("()"), False) for span in _CODE_SPAN.findall(text)]
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", _CODE_SPAN.sub(" ", text)):
        for n, word in enumerate(_WORD.findall(sentence)):
            if word.lower() in _GENERIC_NAMES:
                continue
            camel = bool(re.search(r"[a-z][A-Z]", word))
            acronym = len(word) > 1 and word.isupper()
            snake = "_" in word.strip("_")
            capital = word[0].isupper()
            if camel or acronym or snake or (capital and n > 0):
                found.append((word, False))
            elif capital:
                found.append((word, True))
    return found


MAX_SPAN_LINES = 25
EXCERPT_CHARS = 320
_LINES_RE = re.compile(r"\s*L?(\d+)\s*(?:(?:-|–|:|to)\s*L?(\d+))?\s*")


def parse_lines(text: str) -> tuple[int, int] | None:
    """`12`, `12-14`, `L12-L14` as (start, end); None for anything else ("none", "")."""
    m = _LINES_RE.fullmatch(text or "")
    if not m:
        return None
    start, end = sorted((int(m.group(1)), int(m.group(2) or m.group(1))))
    return (start, end) if start >= 1 else None


def _inside(span: tuple[int, int], ev: Evidence) -> bool:
    return ev.start_line <= span[0] and span[1] <= ev.end_line


def best_lines(lines: list[str], ev: Evidence, value: str) -> tuple[Citation, float] | None:
    """The window of one to five lines of an evidence item that best supports a value (the
    shortest one among equals)."""
    best: tuple[float, int, int, int] | None = None
    for start in range(ev.start_line, min(ev.end_line, len(lines)) + 1):
        for size in (1, 2, 3, 5):
            end = min(ev.end_line, len(lines), start + size - 1)
            quote = " ".join(line.strip() for line in lines[start - 1 : end]).strip()
            if not quote:
                continue
            score = support(value, [quote])
            if (
                best is None
                or score > best[0] + 1e-9
                or (score > best[0] - 1e-9 and start - end > best[1])
            ):
                best = (score, start - end, start, end)
    if best is None:
        return None
    score, _, start, end = best
    quote = " ".join(line.strip() for line in lines[start - 1 : end]).strip()
    return Citation(path=ev.path, start_line=start, end_line=end, quote=quote[:300]), score


def _find(lines: list[str], needle: str, start: int, end: int) -> tuple[int, int] | None:
    """1-based (first, last) lines of lines[start..end] whose joined text holds the needle."""
    start = max(1, start)
    end = min(len(lines), end)
    joined: list[str] = []
    owners: list[int] = []
    for n in range(start, end + 1):
        part = normalise(lines[n - 1])
        if not part:
            continue
        if joined:
            joined.append(" ")
            owners.append(n)
        joined.append(part)
        owners.extend([n] * len(part))
    text = "".join(joined)
    at = text.find(needle)
    if at < 0:
        return None
    return owners[at], owners[min(len(owners) - 1, at + len(needle) - 1)]


def support(value: str, cited_texts: list[str]) -> float:
    """Share of the value's content words (stemmed) found in the evidence it cites."""
    words = set(tokenize(value))
    if not words:
        return 1.0
    cited: set[str] = set()
    for text in cited_texts:
        cited.update(tokenize(text))
    return len(words & cited) / len(words)


def digest_lines(lines: list[str]) -> str:
    """The digest of cited lines (whitespace at the ends of each line ignored)."""
    body = "\n".join(line.strip() for line in lines)
    return hashlib.sha1(body.encode()).hexdigest()[:12]


def stamp_citations(results: dict[str, FieldResult], index: RepoIndex) -> None:
    """Record the digest of every cited span as drafted (in .draft.json, for `docagent check`).
    A citation that has one keeps it: an answer carried over by --update still describes the
    lines as they were when it was drafted."""
    for result in results.values():
        for c in result.citations:
            lines = index.file_lines(c.path) if c.start_line and not c.digest else None
            if lines is not None:
                c.digest = digest_lines(lines[c.start_line - 1 : c.end_line])
        for item in result.items:
            for raw in item.get("citations") or []:
                if isinstance(raw, dict) and raw.get("start_line") and not raw.get("digest"):
                    lines = index.file_lines(str(raw.get("path")))
                    if lines is not None:
                        raw["digest"] = digest_lines(lines[raw["start_line"] - 1 : raw["end_line"]])
