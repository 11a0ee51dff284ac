"""What a model returns for a section, and what a verified field looks like after checking.

The model cites evidence by id (E1, E2, ...) and the line numbers printed in that evidence; the quote
comes from the file, never from the model (measured on the 0.5B model: it copies the same long
sentence as "quote" for every field, which doubled the output tokens; it picks line numbers reliably).
`citations.py` checks the lines lie in the cited evidence and support the value.
Bounds for validation (confidence range, list lengths) live in validators. String lengths and list
sizes are also declared for grammar backends (`bounded`, `at_most`; `schemas.strip_bounds` removes
them for OpenAI strict mode), so a small model cannot loop inside a string until its token limit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_validator,
)

from agent.document.templates import FieldKind, Group, TemplateField

MAX_ITEMS = 8
# Fewer items in the grammar: a small model fills every slot it is given, repeating itself.
GRAMMAR_ITEMS = 6
MAX_ROWS = 15
MAX_LIST = 10


class Status(StrEnum):
    """What happened to a field."""

    ANSWERED = "answered"
    NOT_FOUND = "not_found"
    NOT_APPLICABLE = "not_applicable"


# Grammar bounds in characters: ~2 sentences for a value, a short phrase for list items and cells.
VALUE_CHARS = 200
ITEM_CHARS = 120
LINES_PATTERN = r"^(none|[0-9]{1,5}(-[0-9]{1,5})?)$"
EVIDENCE_PATTERN = r"^(none|E[0-9]{1,3})$"


# Hard limits applied after validation in every structured-output mode: grammars bound strings only
# on llama.cpp backends (OpenAI strict mode and prompt mode send no bounds), and a misbehaving
# server can send a value of any size. Ten times the grammar's, so a real answer is never cut.
MAX_VALUE_CHARS = 10 * VALUE_CHARS
MAX_ITEM_CHARS = 4 * ITEM_CHARS
MAX_REF_CHARS = 40  # an evidence id or line numbers
_LIMITS = {
    "value": MAX_VALUE_CHARS,
    "answer": MAX_VALUE_CHARS,
    "evidence": MAX_REF_CHARS,
    "lines": MAX_REF_CHARS,
}


class BoundedAnswer(BaseModel):
    """Base of every answer model: after validation each string is cut to a hard limit;
    `cut_parts` names what was cut, so the field can be flagged."""

    model_config = ConfigDict(extra="forbid")
    _cut: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _bound(self) -> Self:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, str):
                limit = _LIMITS.get(name, MAX_ITEM_CHARS)
                if len(value) > limit:
                    setattr(self, name, _cut_text(value, limit))
                    self._cut.append(name)
            elif isinstance(value, list):
                items = list(value)
                for n, item in enumerate(items):
                    if isinstance(item, str) and len(item) > MAX_ITEM_CHARS:
                        items[n] = _cut_text(item, MAX_ITEM_CHARS)
                        self._cut.append(f"{name}[{n + 1}]")
                    elif isinstance(item, BoundedAnswer):
                        self._cut += [f"{name}[{n + 1}].{part}" for part in item.cut_parts]
                if items != value:
                    setattr(self, name, items)
        return self

    @property
    def cut_parts(self) -> list[str]:
        """The properties whose text was longer than the hard limit and was cut."""
        return list(self._cut)


def _cut_text(text: str, limit: int) -> str:
    return text[: limit - 1].rstrip() + "…"


def bounded(chars: int) -> dict[str, Any]:
    """Schema extras: a string of at most `chars` characters (grammar backends only)."""
    return {"maxLength": chars}


def at_most(items: int) -> dict[str, Any]:
    """Schema extras: a list of at most `items` elements (grammar backends only)."""
    return {"maxItems": items}


class Cite(BaseModel):
    """A citation as the model gives it: an evidence id and line numbers within it."""

    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(description="Evidence id, e.g. E3.")
    lines: str = Field(description="Line numbers in that evidence, e.g. 12-14.")


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
_CONFIDENCE = (
    float,
    Field(description="0 to 1: how directly the cited evidence supports the value."),
)
_EVIDENCE = (
    str,
    Field(
        description="The evidence id that answers the field, e.g. E3; none if no evidence does.",
        json_schema_extra={"pattern": EVIDENCE_PATTERN},
    ),
)
_LINES = (
    str,
    Field(
        description="The numbers of the lines in that evidence that answer the field, e.g. 12-14; "
        "none if no evidence does.",
        json_schema_extra={"pattern": LINES_PATTERN},
    ),
)


def _clamp(cls: type[BaseModel], value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def _envelope_model(
    name: str, first: dict[str, Any], extra_validators: dict[str, Any] | None = None
) -> type[BaseModel]:
    """Evidence id and lines first (a required source, not an optional list: given an empty list
    small models always took it), then the model's own properties, then status and confidence.
    Whether a reason is documented or inferred is not asked: verification derives it from what the
    verified citations are."""
    validators = {
        "clamp": field_validator("confidence")(classmethod(_clamp)),
        **(extra_validators or {}),
    }
    model: type[BaseModel] = create_model(
        name,
        __base__=BoundedAnswer,
        __validators__=validators,
        evidence=_EVIDENCE,
        lines=_LINES,
        **first,
        status=_STATUS,
        confidence=_CONFIDENCE,
    )
    return model


def cites_of(answer: Any) -> list[Cite]:
    """The citation an answer object carries (none when it names neither evidence nor lines)."""
    evidence = str(getattr(answer, "evidence", "") or "").strip()
    lines = str(getattr(answer, "lines", "") or "").strip()
    if _is_none(lines) and _is_none(evidence):
        return []
    # An id of "none" with line numbers still counts: verification finds the evidence holding them.
    return [Cite(evidence=evidence or "none", lines=lines)]


def _is_none(text: str) -> bool:
    return text.lower() in ("", "none", "null", "n/a", "-")


ENVELOPE_KEYS = frozenset({"evidence", "lines", "status", "confidence"})


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
            Field(
                description="The answer in Markdown (one or two sentences); empty if not found.",
                json_schema_extra=bounded(VALUE_CHARS),
            ),
        )
    },
)
ListAnswer = _envelope_model(
    "ListAnswer",
    {
        "value": (
            list[Annotated[str, Field(json_schema_extra=bounded(ITEM_CHARS))]],
            Field(
                description="Up to 10 short items; empty if not found.",
                json_schema_extra=at_most(MAX_LIST),
            ),
        )
    },
    {"few_items": field_validator("value")(classmethod(_few_list))},
)


# Extractive answers: the model only points at the lines that answer; the value is those lines.
CitedAnswer = _envelope_model("CitedAnswer", {})


def answer_type(field: TemplateField, extract: bool = False) -> type[BaseModel]:
    """The answer model for one top-level field (text and list fields only cite when extracting)."""
    if extract and field.kind in (FieldKind.TEXT, FieldKind.LIST):
        return CitedAnswer
    if field.kind is FieldKind.LIST:
        return ListAnswer
    if field.kind is FieldKind.TABLE:
        return table_answer(field)
    return TextAnswer


def table_answer(field: TemplateField) -> type[BaseModel]:
    """Rows of plain strings plus one envelope for the table."""
    columns: dict[str, Any] = {
        key: (str, Field(description=col, json_schema_extra=bounded(ITEM_CHARS)))
        for key, col in zip(field.column_keys, field.columns, strict=True)
    }
    row = create_model(f"{_camel(field.key)}Row", __base__=BoundedAnswer, **columns)

    def few_rows(cls: type[BaseModel], value: list[Any]) -> list[Any]:
        return _bounded(value, MAX_ROWS)

    return _envelope_model(
        f"{_camel(field.key)}Table",
        {
            "rows": (
                list[row],
                Field(
                    description="One row per item the evidence supports (up to 15).",
                    json_schema_extra=at_most(MAX_ROWS),
                ),
            )
        },
        {"few_rows": field_validator("rows")(classmethod(few_rows))},
    )


def group_item_type(group: Group, fields: list[TemplateField]) -> type[BaseModel]:
    """One item of a repeatable group: a plain string per field, plus one envelope per item."""
    props: dict[str, Any] = {}
    for f in fields:
        if f.kind is FieldKind.LIST:
            props[item_key(f)] = (
                list[Annotated[str, Field(json_schema_extra=bounded(ITEM_CHARS))]],
                Field(description=describe(f), json_schema_extra=at_most(MAX_LIST)),
            )
        elif f.kind is FieldKind.TABLE:
            continue  # nested tables inside group items are left for humans
        else:
            props[item_key(f)] = (
                str,
                Field(
                    description=describe(f) + " Empty if the evidence does not say.",
                    json_schema_extra=bounded(ITEM_CHARS),
                ),
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
        description=f"One item per {group.label.lower()} the evidence supports; [] if none.",
        json_schema_extra=at_most(GRAMMAR_ITEMS),
    )
    model: type[BaseModel] = create_model(
        f"{_camel(group.key)}Group",
        __base__=BoundedAnswer,
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
    # Digest of the cited lines when drafted (`docagent check` compares it with today's lines).
    digest: str = ""

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


def describe(field: TemplateField) -> str:
    """What the model reads about a field: label, where it sits, what the template asks."""
    where = " > ".join(field.context)
    text = f"{field.label}: {field.description}"
    return f"{text} (under {where})" if where else text
