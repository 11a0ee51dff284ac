"""Check every citation and mention against the repository, then settle confidence and review flags.

No model is involved: a citation stands only if the lines it names lie in the evidence it cites (the
quote is then read from the file); when those lines do not support the value, the span is corrected to
the lines of that evidence that do. Paths and identifiers a value mentions must exist in the repository.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from agent.answers import Citation, Cite, FieldResult, cites_of, item_key
from agent.index import RepoIndex
from agent.plan import Evidence
from agent.render import group_members
from agent.retrieval import tokenize
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

    def _path_exists(self, token: str) -> bool:
        token = token.strip("./").split(":")[0].rstrip("/")
        if not token:
            return True
        if token in self.paths or token in self.dirs:
            return True
        return any(p.endswith("/" + token) for p in self.paths) or any(
            d.endswith("/" + token) or d.startswith(token + "/") for d in self.dirs
        )


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


@dataclass
class Judgement:
    """Final confidence and flags for one answer."""

    confidence: float
    flagged: bool
    reasons: list[str]
    basis: str | None


def support(value: str, cited_texts: list[str]) -> float:
    """Share of the value's content words (stemmed) found in the evidence it cites."""
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
    cites: list[Cite], by_id: dict[str, Evidence], verifier: Verifier, value: str
) -> tuple[list[Citation], list[str], set[str], list[str]]:
    """Verified citations, why others were dropped, the kinds cited, and the cited text."""
    kept: list[Citation] = []
    dropped: list[str] = []
    kinds: set[str] = set()
    texts: list[str] = []
    for cite in cites:
        citation, why, ev = verifier.resolve(cite, by_id, value)
        if citation is None:
            dropped.append(why)
            continue
        if all(c.label != citation.label for c in kept):
            kept.append(citation)
        if ev is not None:
            kinds.add(ev.kind)
            texts.append(
                verifier.span_text(citation.path, citation.start_line, citation.end_line)
                if citation.start_line
                else ev.text
            )
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


@cache
def _prompt_text() -> str:
    from agent import prompts

    return " ".join(
        normalise(prompts.load(name).template) for name in ("draft_section", "extract_section")
    )


def echoes_prompt(value: str) -> bool:
    """Whether a value only repeats docagent's own instructions (small models copy them)."""
    v = normalise(value)
    return bool(
        (len(v.split()) >= 2 and v in _prompt_text())
        or v in ("write", "(write)")
        or _SCAFFOLD_RE.search(v)
    )


# Phrases of the field list `draft.field_lines` writes into every prompt.
_SCAFFOLD_RE = re.compile(
    r"one item per .* the evidence shows|an empty list if none|each item has |\(write\)"
)


def _usable(value: Any, placeholder: str) -> bool:
    text = _value_text(value).strip()
    return (
        bool(text)
        and text.lower().strip("._") not in _NON_ANSWERS
        and not repeats_placeholder(text, placeholder)
    )


_GENERIC = frozenset(
    tokenize(
        "why this these those what which how key main other overall approach used use type name "
        "description details example etc e.g. chosen choose reasoning reason decision"
    )
)
_REASON_RE = re.compile(
    r"\b(because|so that|since|rejected|chose|choose|decided|decision|instead of|in order to|"
    r"reason|avoid|keeps?|simpler?|trade-?offs?|prefer(?:red)?)\b",
    re.I,
)


def mentions_subject(f: TemplateField, text: str) -> bool:
    """Whether cited text is about what a field asks: it shares a word with the field's label or
    placeholder, or, for a "why" field, it gives a reason."""
    terms = set(tokenize(f"{f.label} {f.description}")) - _GENERIC
    if terms & set(tokenize(text)):
        return True
    return f.is_rationale and bool(_REASON_RE.search(text))


def _off_topic(f: TemplateField, section: str, citation: Citation) -> FieldResult:
    return FieldResult(
        id=f.id,
        label=f.label,
        section=section,
        kind=f.kind.value,
        status="not_found",
        is_rationale=f.is_rationale,
        reasons=[f"the lines the model pointed at ({citation.label}) do not mention what it asks"],
    )


def field_result(
    f: TemplateField, answer: Any, by_id: dict[str, Evidence], verifier: Verifier, section: str
) -> FieldResult:
    extracted = not hasattr(answer, "value") and not hasattr(answer, "rows")
    value: Any = answer.rows if f.kind is FieldKind.TABLE else getattr(answer, "value", None)
    if f.kind is FieldKind.TABLE:
        value = [
            row.model_dump()
            for row in value
            if _usable(list(row.model_dump().values()), f.description)
        ]
    elif f.kind is FieldKind.LIST and value is not None:
        value = [v for v in value if _usable(v, f.description)]
    usable = _usable(value, f.description)
    citations, dropped, kinds, texts = _verify_cites(
        cites_of(answer), by_id, verifier, _value_text(value) if usable else ""
    )
    extra: list[str] = []
    confidence = answer.confidence
    if not usable:
        value = None
        pointed = not extracted or answer.status == "answered"
        if (
            pointed
            and citations
            and citations[0].quote
            and f.kind in (FieldKind.TEXT, FieldKind.LIST)
        ):
            # The model found the evidence but wrote no usable value (in the extract style it is
            # not asked to): the cited lines themselves are the draft, for a human to confirm.
            citations[0], quote = verifier.excerpt(citations[0])
            if extracted and not mentions_subject(f, quote):
                # Small models point at arbitrary lines; lines that share no word with what the
                # field asks about are not an answer.
                return _off_topic(f, section, citations[0])
            value = quote if f.kind is FieldKind.TEXT else [quote]
            texts = [quote]
            confidence = min(confidence, 0.5)
            extra.append(
                "the value is the cited text"
                + (" (extract style)" if extracted else "")
                + "; check that it answers the field"
            )
    status = (
        "answered"
        if value
        else ("not_applicable" if answer.status == "not_applicable" else "not_found")
    )
    unknown = verifier.unknown_mentions(_value_text(value)) if status == "answered" else []
    j = judge(
        status=status,
        model_confidence=confidence,
        basis=None,
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
        placeholders = {f.id: f"{f.label}: {f.description}" for f in fields}
        values = {
            k: v
            for k, v in values.items()
            if _usable(v, placeholders[k]) and not echoes_prompt(_value_text(v))
        }
        text = _value_text(list(values.values()))
        if not text.strip():
            continue
        citations, dropped, kinds, texts = _verify_cites(cites_of(item), by_id, verifier, text)
        unknown = verifier.unknown_mentions(text)
        j = judge(
            status="answered",
            model_confidence=item.confidence,
            basis=None,
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
