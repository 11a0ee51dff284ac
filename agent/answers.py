"""What a model returns for a section, and what a verified field looks like after checking.

The model cites evidence by id (E1, E2, ...) with a short verbatim quote; `verify.py` turns that into
`path:start-end` by finding the quote, so line numbers never come from the model's memory.
Bounds (confidence range, list lengths) live in validators, not in the JSON schema, so the schema stays
portable between OpenAI strict mode and llama.cpp grammars.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from agent.schemas import describe
from agent.templates import FieldKind, Group, TemplateField

MAX_ITEMS = 8
MAX_ROWS = 15
MAX_LIST = 10


class Status(StrEnum):
    """What happened to a field."""

    ANSWERED = "answered"
    NOT_FOUND = "not_found"
    NOT_APPLICABLE = "not_applicable"


class Cite(BaseModel):
    """A citation as the model gives it."""

    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(description="Evidence id, e.g. E3.")
    quote: str = Field(
        description="A short phrase copied exactly from that evidence (under 20 words)."
    )


def _bounded(items: list[Any], limit: int) -> list[Any]:
    return items[:limit]


# The grammar makes a model write properties in schema order. Small models answer far better when
# they first copy the evidence that answers (citations), then write the value, and judge status and
# confidence last (measured on the 0.5B model: with status first it answered "not_applicable" to
# fields its evidence stated; with the value first it copied the template's placeholder text).
_STATUS: tuple[Any, Any] = (
    Literal["answered", "not_found", "not_applicable"],
    Field(
        description="answered if the evidence supports the value; not_found if it does not say; "
        "not_applicable if the field does not apply to this repository."
    ),
)
_BASIS: tuple[Any, Any] = (
    Literal["documented", "inferred"],
    Field(
        description="documented if a note, ADR or commit states it; inferred if read from code only."
    ),
)
_CONFIDENCE = (
    float,
    Field(description="0 to 1: how directly the cited evidence supports the value."),
)
_EVIDENCE = (
    str,
    Field(description="The evidence id that answers the field, e.g. E3; none if no evidence does."),
)
_QUOTE = (
    str,
    Field(
        description="Words copied exactly from that evidence that answer the field; empty if none."
    ),
)


def _clamp(cls: type[BaseModel], value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _envelope_model(
    name: str, first: dict[str, Any], extra_validators: dict[str, Any] | None = None
) -> type[BaseModel]:
    """Evidence id and quote first (a required source, not an optional list: given an empty list
    small models always took it), then the model's own properties, then status, basis, confidence."""
    validators = {
        "clamp": field_validator("confidence")(classmethod(_clamp)),
        **(extra_validators or {}),
    }
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name,
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        evidence=_EVIDENCE,
        quote=_QUOTE,
        **first,
        status=_STATUS,
        basis=_BASIS,
        confidence=_CONFIDENCE,
    )
    return model


def cites_of(answer: Any) -> list[Cite]:
    """The citation an answer object carries (none when it names no evidence)."""
    evidence = str(getattr(answer, "evidence", "") or "").strip()
    quote = str(getattr(answer, "quote", "") or "").strip()
    if not quote and (not evidence or evidence.lower() in ("none", "null", "n/a", "-")):
        return []
    # An id of "none" with a quote still counts: verification finds the evidence holding the quote.
    return [Cite(evidence=evidence or "none", quote=quote)]


ENVELOPE_KEYS = frozenset({"evidence", "quote", "status", "basis", "confidence"})


def item_key(f: TemplateField) -> str:
    """A group item's property for a field (renamed if it collides with the envelope)."""
    return f"{f.key}_value" if f.key in ENVELOPE_KEYS else f.key


def _few_list(cls: type[BaseModel], value: list[str]) -> list[str]:
    return _bounded(value, MAX_LIST)


TextAnswer = _envelope_model(
    "TextAnswer",
    {
        "value": (
            str,
            Field(description="The answer in Markdown (one or two sentences); empty if not found."),
        )
    },
)
ListAnswer = _envelope_model(
    "ListAnswer",
    {"value": (list[str], Field(description="Up to 10 short items; empty if not found."))},
    {"few_items": field_validator("value")(classmethod(_few_list))},
)


def answer_type(field: TemplateField) -> type[BaseModel]:
    """The answer model for one top-level field."""
    if field.kind is FieldKind.LIST:
        return ListAnswer
    if field.kind is FieldKind.TABLE:
        return table_answer(field)
    return TextAnswer


def table_answer(field: TemplateField) -> type[BaseModel]:
    """Rows of plain strings plus one envelope for the table."""
    columns: dict[str, Any] = {
        key: (str, Field(description=col))
        for key, col in zip(field.column_keys, field.columns, strict=True)
    }
    row = create_model(f"{_camel(field.key)}Row", __config__=ConfigDict(extra="forbid"), **columns)  # type: ignore[call-overload]

    def few_rows(cls: type[BaseModel], value: list[Any]) -> list[Any]:
        return _bounded(value, MAX_ROWS)

    return _envelope_model(
        f"{_camel(field.key)}Table",
        {
            "rows": (
                list[row],
                Field(description="One row per item the evidence supports (up to 15)."),
            )
        },  # type: ignore[valid-type]
        {"few_rows": field_validator("rows")(classmethod(few_rows))},
    )


def group_item_type(group: Group, fields: list[TemplateField]) -> type[BaseModel]:
    """One item of a repeatable group: a plain string per field, plus one envelope per item."""
    props: dict[str, Any] = {}
    for f in fields:
        if f.kind is FieldKind.LIST:
            props[item_key(f)] = (list[str], Field(description=describe(f)))
        elif f.kind is FieldKind.TABLE:
            continue  # nested tables inside group items are left for humans
        else:
            props[item_key(f)] = (
                str,
                Field(description=describe(f) + " Empty if the evidence does not say."),
            )
    return _envelope_model(f"{_camel(group.key)}Item", props)


def group_answer(group: Group, fields: list[TemplateField]) -> type[BaseModel]:
    """A list of items, as many as the evidence supports."""
    item = group_item_type(group, fields)

    def few(cls: type[BaseModel], value: list[Any]) -> list[Any]:
        return _bounded(value, MAX_ITEMS)

    items_type: Any = list[item]  # type: ignore[valid-type]
    validators: dict[str, Any] = {"few_items": field_validator("items")(classmethod(few))}
    described = Field(
        description=f"One item per {group.label.lower()} the evidence supports; [] if none."
    )
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{_camel(group.key)}Group",
        __config__=ConfigDict(extra="forbid"),
        __validators__=validators,
        items=(items_type, described),
    )
    return model


def _camel(key: str) -> str:
    return "".join(p.capitalize() for p in key.split("_") if p) or "Field"


class Citation(BaseModel):
    """A verified citation."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="Repository path, or commit:<sha> for a commit message.")
    start_line: int
    end_line: int
    quote: str = ""
    verified: bool = True
    note: str = ""

    @property
    def label(self) -> str:
        """`path:start-end` (or the commit reference)."""
        if self.path.startswith("commit:") or self.start_line == 0:
            return self.path
        return f"{self.path}:{self.start_line}-{self.end_line}"


class FieldResult(BaseModel):
    """One filled field (or group) after verification."""

    model_config = ConfigDict(extra="forbid")
    id: str
    label: str
    section: str = Field(description="Heading path of the field.")
    kind: str
    status: str
    value: Any = None
    confidence: float = 0.0
    model_confidence: float = 0.0
    basis: str | None = None
    is_rationale: bool = False
    citations: list[Citation] = Field(default_factory=list)
    flagged: bool = False
    reasons: list[str] = Field(default_factory=list)
    source: str = Field(default="model", description="model, facts, human, error or none.")
    items: list[dict[str, Any]] = Field(
        default_factory=list, description="Group items (each with citations)."
    )
