"""Check every citation and mention against the repository, then settle confidence and review flags.

No model is involved: a citation stands only if its quote (whitespace-normalised) is found in the
evidence it names, or nearby in the same file (then its span is corrected). Paths and identifiers a
value mentions must exist in the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.answers import Citation, Cite
from agent.index import RepoIndex
from agent.plan import Evidence

REVIEW_THRESHOLD = 0.6
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

    def __post_init__(self) -> None:
        self.paths = self.index.paths()
        self.dirs = {p.rsplit("/", 1)[0] for p in self.paths if "/" in p}
        words: set[str] = set()
        for chunk in self.index.chunks:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", chunk.text))
        self.words = words

    def citation(self, cite: Cite, evidence: dict[str, Evidence]) -> tuple[Citation | None, str]:
        """A verified citation (span corrected if needed), or None and why it was dropped."""
        found, why, _ = self.resolve(cite, evidence)
        return found, why

    def resolve(
        self, cite: Cite, evidence: dict[str, Evidence]
    ) -> tuple[Citation | None, str, Evidence | None]:
        """Like `citation`, also returning the evidence item the quote was found in."""
        citation, why, ev = self._resolve(cite, evidence)
        return citation, why, ev if citation is not None else None

    def _resolve(
        self, cite: Cite, evidence: dict[str, Evidence]
    ) -> tuple[Citation | None, str, Evidence | None]:
        quote = cite.quote.strip().strip("\"'“”")
        pieces = [p for p in re.split(r"\.\.\.|…", quote) if len(normalise(p)) >= 3]
        needle = normalise(pieces[0]) if pieces else ""
        ev = evidence.get(cite.evidence.strip().strip("[]").upper())
        if ev is None or (needle and needle not in normalise(ev.text)):
            # The id is missing or wrong (small models often write "none"): the quote decides.
            holder = next(
                (e for e in evidence.values() if needle and needle in normalise(e.text)), None
            )
            ev = holder or ev
        if ev is None:
            return None, f"cites {cite.evidence!r}, which is not one of the evidence items", None
        if len(needle) < 3:
            return None, f"citation of {ev.header.split(' ')[1]} has no usable quote", ev
        if ev.start_line == 0:  # a commit message
            commit = self.index.commit(ev.path)
            text = commit.message if commit else ev.text
            if needle in normalise(text):
                return Citation(path=ev.path, start_line=0, end_line=0, quote=quote), "", ev
            return None, f"quote {quote[:60]!r} is not in {ev.path}", ev
        lines = self.index.file_lines(ev.path)
        if lines is None:
            return None, f"{ev.path} is no longer in the repository", ev
        span = _find(lines, needle, ev.start_line, ev.end_line)
        if span is not None:
            return Citation(path=ev.path, start_line=span[0], end_line=span[1], quote=quote), "", ev
        span = _find(lines, needle, 1, len(lines))
        if span is not None:
            return (
                Citation(
                    path=ev.path,
                    start_line=span[0],
                    end_line=span[1],
                    quote=quote,
                    note=f"span corrected from {ev.start_line}-{ev.end_line}",
                ),
                "",
                ev,
            )
        return None, f"quote {quote[:60]!r} is not in {ev.path}", ev

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

    def _path_exists(self, token: str) -> bool:
        token = token.strip("./").split(":")[0].rstrip("/")
        if not token:
            return True
        if token in self.paths or token in self.dirs:
            return True
        return any(p.endswith("/" + token) for p in self.paths) or any(
            d.endswith("/" + token) or d.startswith(token + "/") for d in self.dirs
        )


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


@dataclass
class Judgement:
    """Final confidence and flags for one answer."""

    confidence: float
    flagged: bool
    reasons: list[str]
    basis: str | None


def support(value: str, cited_texts: list[str]) -> float:
    """Share of the value's content words (stemmed) found in the evidence it cites."""
    from agent.retrieval import tokenize

    words = set(tokenize(value))
    if not words:
        return 1.0
    cited: set[str] = set()
    for text in cited_texts:
        cited.update(tokenize(text))
    return len(words & cited) / len(words)


def judge(
    *,
    status: str,
    model_confidence: float,
    basis: str | None,
    is_rationale: bool,
    kept: list[Citation],
    dropped: list[str],
    unknown: list[str],
    cited_kinds: set[str],
    supported: float = 1.0,
) -> Judgement:
    """Combine the model's confidence with what verification found."""
    if status != "answered":
        return Judgement(0.0, False, [], None)
    conf = model_confidence
    reasons: list[str] = []
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
    if is_rationale:
        # Documented or inferred is decided by what the verified citations are, not by the model.
        basis = "documented" if cited_kinds & {"notes", "ADR", "history"} else "inferred"
        if basis == "inferred":
            conf = min(conf, 0.55)
            reasons.append("the reason is inferred; no cited note, ADR or commit states it")
    conf = round(max(0.0, min(1.0, conf)), 2)
    if conf < REVIEW_THRESHOLD and not any("confidence" in r for r in reasons):
        reasons.append(f"confidence {conf:.2f} is below {REVIEW_THRESHOLD}")
    return Judgement(conf, bool(reasons), reasons, basis)
