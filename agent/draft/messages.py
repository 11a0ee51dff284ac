"""The messages of one draft call: the answer model it must fill, the fields it asks for, the prompt, and how many tokens the answer may take."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agent.document.templates import FieldKind, Group
from agent.draft.answers import (
    answer_type,
    describe,
    group_answer,
    item_key,
)
from agent.draft.brief import brief_block
from agent.draft.evidence import Evidence, evidence_text
from agent.draft.plan import Unit
from agent.llm import prompts


class _UnitResult(BaseModel):
    model_config = ConfigDict(extra="forbid")


def unit_model(unit: Unit, extract: bool = False) -> type[BaseModel]:
    """The structured answer for one call: one property per field/group key of the unit."""
    members = unit.members()
    props: dict[str, Any] = {}
    for key, member_id in unit.keys.items():
        member = members[member_id]
        if isinstance(member, Group):
            fields, _ = member.members()
            props[key] = (group_answer(member, fields), Field(description=f"{member.label} items"))
        else:
            props[key] = (answer_type(member, extract), Field(description=describe(member)))
    name = "".join(w.capitalize() for w in unit.sections[0].key.split("_")) or "Section"
    return create_model(f"{name}Answers", __base__=_UnitResult, **props)


def field_lines(unit: Unit, extract: bool = False) -> str:
    """How the prompt describes each field it asks for."""
    members = unit.members()
    out = []
    for key, member_id in unit.keys.items():
        m = members[member_id]
        if isinstance(m, Group):
            fields, _ = m.members()
            parts = ", ".join(
                f"{item_key(f)} ({f.label})" for f in fields if f.kind is not FieldKind.TABLE
            )
            out.append(
                f"- {key}: one item per {m.label.lower()} the evidence shows (an empty list if none). "
                f"Each item has {parts}.{' (write)' if extract else ''}"
            )
            continue
        where = f" [under {' > '.join(m.context)}]" if m.context else ""
        why = ' (a "why" field)' if m.is_rationale else ""
        if m.kind is FieldKind.TABLE:
            cols = ", ".join(f"{k} ({c})" for k, c in zip(m.column_keys, m.columns, strict=True))
            write = " (write)" if extract else ""
            out.append(f"- {key}: {m.label}{where}: table rows with {cols}{write}")
        elif m.kind is FieldKind.LIST:
            out.append(
                f"- {key}: {m.label}{where}: "
                + ("" if extract else "a list of short items: ")
                + _short(m.description)
            )
        elif m.kind is FieldKind.CODE:
            out.append(
                f"- {key}: {m.label}{where}: the content of a {m.language or 'text'} block for this "
                f"repository{' (write)' if extract else ''}"
            )
        else:
            out.append(
                f"- {key}: {m.label}{why}{where}? (for example: {_short(m.description, 90)})"
            )
    return "\n".join(out)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def build_messages(
    unit: Unit, evidence: list[Evidence], repo_name: str, extract: bool = False, brief: str = ""
) -> list[dict[str, str]]:
    """The chat messages for one unit (the constant instructions and the repository brief first:
    llama.cpp reuses the cached prefix of the previous prompt)."""
    guidance = [g for g in unit.guidance if len(g) < 600][:3]
    guide = (
        ("\nTemplate guidance:\n" + "\n".join(f"- {g}" for g in guidance) + "\n")
        if guidance
        else ""
    )
    text = prompts.render(
        "extract_section" if extract else "draft_section",
        repo=repo_name,
        brief=brief_block(brief),
        section=unit.title,
        guidance=guide,
        fields=field_lines(unit, extract),
        evidence=evidence_text(evidence),
    )
    return [{"role": "user", "content": text}]


def max_output_tokens(unit: Unit, extract: bool = False) -> int:
    """Room for the answer. Unused room costs nothing; the grammar bounds every string and list, so
    this only has to cover a full answer (a cut one is salvaged field by field)."""
    total = 0
    # Measured on the 0.5B model with line citations: a text field takes 50-110 tokens.
    for f in unit.fields:
        if extract and f.kind in (FieldKind.TEXT, FieldKind.LIST):
            total += 50
        else:
            total += 400 if f.kind in (FieldKind.TABLE, FieldKind.CODE, FieldKind.LIST) else 140
    for g in unit.groups:
        total += 100 + 110 * len(g.members()[0])
    return max(400, min(total, 3500))
