"""Is a value an answer at all, and does it speak to its field: a repeated placeholder, a non-answer ('N/A', 'see above'), an echo of the prompt, a scaffold; a cited heading or plans document; the field's subject words."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from agent.document.templates import TemplateField
from agent.draft.citations import normalise
from agent.ingest.retrieval import tokenize


def repeats_placeholder(value: str, placeholder: str) -> bool:
    """Whether a value only echoes the template's placeholder text (small models do this)."""
    v, p = normalise(value), normalise(placeholder)
    if not v:
        return True
    if v in p or v.rstrip(".") in p:
        return True
    words = set(re.findall(r"\w+", v))
    return bool(words) and len(words & set(re.findall(r"\w+", p))) / len(words) > 0.8


def value_text(value: Any) -> str:
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
    from agent.llm import prompts

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


# Phrases of the field list `draft.field_lines` writes into every prompt: its instructions, and the
# way it states a field ("Layered Architecture? (for example: ...)", 'Why X (a "why" field)').
_SCAFFOLD_RE = re.compile(
    r"one item per .* the evidence shows|an empty list if none|each item has |\(write\)"
    r"|\? \(for example: |\(a \"why\" field\)"
)


# A format slot a model copied instead of a value: "{0}", "{{ name }}", "%s", "<value>", "${VAR}".
_SLOT = re.compile(r"^(\{\d*\}|\{\{\s*\w*\s*\}\}|%[sdr]|<\w*>|\$\{?\w*\}?)$")


def is_usable(value: Any, placeholder: str) -> bool:
    text = value_text(value).strip()
    return (
        bool(text)
        and text.lower().strip("._") not in _NON_ANSWERS
        and not _SLOT.match(text)
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


# Documents of plans and wishes, by their name (not `todo_app.py`, `futures.md`, `autodoc.py`).
_PLANS_DOC = re.compile(r"^(roadmap|todo|wishlist|future(?:[-_ ]work)?|ideas)([-_. ]|$)", re.I)


def is_plans_doc(path: str) -> bool:
    """A roadmap, TODO or wishlist document, or one in a roadmap folder."""
    parts = path.lower().split("/")
    return path.lower().endswith(_DOC_SUFFIXES) and (
        bool(_PLANS_DOC.match(parts[-1])) or "roadmap" in parts[:-1]
    )


_ADORNMENT_RE = re.compile(r"^([-=~^*+#\"'`])\1{2,}$")


_DOC_SUFFIXES = (".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc")


def is_heading(lines: list[str], path: str) -> bool:
    """Whether cited lines of a document are only a section title: Markdown `## Title` lines, or
    one title line over (or between) rules of one adornment character (reST, setext)."""
    if not path.lower().endswith(_DOC_SUFFIXES):
        return False  # `# Use Redis for sessions` in code is a comment, not a heading
    text = [line.strip() for line in lines if line.strip()]
    if text and all(re.match(r"#{1,6}\s+\S", t) for t in text):
        return True
    titles = [t for t in text if not _ADORNMENT_RE.match(t)]
    return (
        len(titles) == 1
        and len(text) > 1
        and len(titles[0]) <= 100
        and not titles[0].endswith((".", ":", ";"))
    )


# Words of a field's label and placeholder that any passage shares: matching one says nothing
# about whether the lines speak of the field's subject.
_VAGUE = frozenset(
    tokenize(
        "how used use system overview data flow flows handled managed applied works work across "
        "into through implementation pattern patterns approach strategy management architecture "
        "design model models method methods mechanism considerations code general level"
    )
)


def subject_terms(f: TemplateField) -> set[str]:
    """What a field is about: the words of its label and placeholder, less the vague ones."""
    terms = set(tokenize(f"{f.label} {f.description}")) - _GENERIC
    return (terms - _VAGUE) or terms


def mentions_subject(f: TemplateField, text: str) -> bool:
    """Whether cited text is about what a field asks: it names the field's subject, or, for a
    "why" field, it gives a reason. Measured on the quality benchmark: the embedded model points
    at arbitrary lines (a design-by-contract checklist for "Event-Driven Architecture", a
    deployment note for "State Management") that share only a vague word ("used", "manages")."""
    if subject_terms(f) & set(tokenize(text)):
        return True
    return f.is_rationale and bool(_REASON_RE.search(text))
