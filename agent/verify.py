"""Check every citation and mention against the repository, then settle confidence and review flags.

No model is involved: a citation stands only if its quote (whitespace-normalised) is found in the
evidence it names, or nearby in the same file (then its span is corrected). Paths and identifiers a
value mentions must exist in the repository.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agent.answers import Citation, Cite, FieldResult, cites_of, item_key
from agent.index import RepoIndex
from agent.plan import Evidence
from agent.render import group_members
from agent.templates import FieldKind, Group, TemplateField

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


# --- from a model's answer to a verified field -------------------------------------------------


def flag_duplicates(results: list[FieldResult]) -> None:
    """The same value for several different fields is a sign the model did not tell them apart."""
    by_value: dict[str, list[FieldResult]] = {}
    for r in results:
        if r.status == "answered" and isinstance(r.value, str) and r.source == "model":
            by_value.setdefault(normalise(r.value), []).append(r)
    for same in by_value.values():
        if len(same) < 2:
            continue
        labels = ", ".join(r.label for r in same)
        for r in same:
            r.confidence = round(max(0.0, r.confidence - 0.3), 2)
            r.reasons.append(f"the same value was given for {labels}")
            if r.confidence < REVIEW_THRESHOLD:
                r.reasons.append(f"confidence {r.confidence:.2f} is below {REVIEW_THRESHOLD}")
            r.flagged = True


def _verify_cites(
    cites: list[Cite], by_id: dict[str, Evidence], verifier: Verifier
) -> tuple[list[Citation], list[str], set[str], list[str]]:
    kept: list[Citation] = []
    dropped: list[str] = []
    kinds: set[str] = set()
    texts: list[str] = []
    for cite in cites:
        citation, why, ev = verifier.resolve(cite, by_id)
        if citation is None:
            dropped.append(why)
            continue
        if all(c.label != citation.label for c in kept):
            kept.append(citation)
        if ev is not None:
            kinds.add(ev.kind)
            texts.append(ev.text)
    return kept, dropped, kinds, texts


def repeats_placeholder(value: str, placeholder: str) -> bool:
    """Whether a value only echoes the template's placeholder text (small models do this)."""
    v, p = normalise(value), normalise(placeholder)
    if not v:
        return True
    if v in p or v.rstrip(".") in p:
        return True
    words = set(re.findall(r"\w+", v))
    return bool(words) and len(words & set(re.findall(r"\w+", p))) / len(words) > 0.8


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(json.dumps(v) if isinstance(v, dict) else str(v) for v in value)
    return str(value or "")


_NON_ANSWERS = {
    "",
    "none",
    "not_found",
    "not found",
    "n/a",
    "na",
    "not_applicable",
    "not applicable",
    "unknown",
    "-",
}


def _usable(value: Any, placeholder: str) -> bool:
    text = _value_text(value).strip()
    return (
        bool(text)
        and text.lower().strip("._") not in _NON_ANSWERS
        and not repeats_placeholder(text, placeholder)
    )


def field_result(
    f: TemplateField, answer: Any, by_id: dict[str, Evidence], verifier: Verifier, section: str
) -> FieldResult:
    value: Any = answer.rows if f.kind is FieldKind.TABLE else answer.value
    if f.kind is FieldKind.TABLE:
        value = [
            row.model_dump()
            for row in value
            if _usable(list(row.model_dump().values()), f.description)
        ]
    elif f.kind is FieldKind.LIST:
        value = [v for v in value if _usable(v, f.description)]
    citations, dropped, kinds, texts = _verify_cites(cites_of(answer), by_id, verifier)
    extra: list[str] = []
    confidence = answer.confidence
    if not _usable(value, f.description):
        value = None
        if citations and citations[0].quote and f.kind in (FieldKind.TEXT, FieldKind.LIST):
            # The model found the right evidence but gave no usable value of its own (small models
            # often do): the verified quote itself is the draft, for a human to confirm.
            quote = citations[0].quote
            value = quote if f.kind is FieldKind.TEXT else [quote]
            confidence = min(confidence, 0.5)
            extra.append("the value is the quoted evidence; check that it answers the field")
    status = (
        "answered"
        if value
        else ("not_applicable" if answer.status == "not_applicable" else "not_found")
    )
    unknown = verifier.unknown_mentions(_value_text(value)) if status == "answered" else []
    j = judge(
        status=status,
        model_confidence=confidence,
        basis=answer.basis,
        is_rationale=f.is_rationale,
        kept=citations,
        dropped=dropped,
        unknown=unknown,
        cited_kinds=kinds,
        supported=support(_value_text(value), texts) if status == "answered" else 1.0,
    )
    if status == "answered" and f.is_rationale and len(_value_text(value).split()) < 4:
        extra.append("it names something but states no reason")
        j.confidence = min(j.confidence, 0.4)
    reasons = extra + j.reasons if status == "answered" else []
    return FieldResult(
        id=f.id,
        label=f.label,
        section=section,
        kind=f.kind.value,
        status=status,
        value=value if status == "answered" else None,
        confidence=j.confidence,
        model_confidence=answer.confidence,
        basis=j.basis if f.is_rationale else None,
        is_rationale=f.is_rationale,
        citations=citations if status == "answered" else [],
        flagged=bool(reasons) or j.flagged,
        reasons=reasons,
    )


def group_result(
    g: Group, answer: Any, by_id: dict[str, Evidence], verifier: Verifier, section: str
) -> FieldResult:
    fields, _ = group_members(g)
    rationale = any(f.is_rationale for f in fields)
    items: list[dict[str, Any]] = []
    for item in answer.items:
        values = {
            f.id: getattr(item, item_key(f), None) for f in fields if hasattr(item, item_key(f))
        }
        values = {k: v for k, v in values.items() if _usable(v, "")}
        text = _value_text(list(values.values()))
        if not text.strip():
            continue
        citations, dropped, kinds, texts = _verify_cites(cites_of(item), by_id, verifier)
        unknown = verifier.unknown_mentions(text)
        j = judge(
            status="answered",
            model_confidence=item.confidence,
            basis=item.basis,
            is_rationale=rationale,
            kept=citations,
            dropped=dropped,
            unknown=unknown,
            cited_kinds=kinds,
            supported=support(text, texts),
        )
        items.append(
            {
                **values,
                "citations": [c.model_dump() for c in citations],
                "confidence": j.confidence,
                "flagged": j.flagged,
                "reasons": j.reasons,
                "basis": j.basis,
            }
        )
    status = "answered" if items else "not_found"
    confidence = min((i["confidence"] for i in items), default=0.0)
    return FieldResult(
        id=g.id,
        label=g.label,
        section=section,
        kind="group",
        status=status,
        confidence=confidence,
        items=items,
        is_rationale=rationale,
        flagged=False,
        reasons=[],
    )
