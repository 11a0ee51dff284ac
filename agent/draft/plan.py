"""Plan a draft: which fields go to the model in which call, and the evidence each call gets.

Fewer, richer calls beat one call per field: neighbouring subsections of one chapter share a call
while their fields fit a budget of "weight" (a text field weighs 1, a table or code block 3, a group
1 + half its item fields).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.document.templates import FieldKind, Group, Section, Template, TemplateField

MAX_WEIGHT = 12


@dataclass
class Unit:
    """One model call: the fields and groups of one or more neighbouring sections."""

    title: str
    sections: list[Section]
    fields: list[TemplateField] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # schema key -> field/group id
    guidance: list[str] = field(default_factory=list)

    def members(self) -> dict[str, TemplateField | Group]:
        """The unit's fields and groups by id."""
        return {**{f.id: f for f in self.fields}, **{g.id: g for g in self.groups}}

    @property
    def weight(self) -> float:
        """How much this call asks for."""
        total = 0.0
        for f in self.fields:
            total += 3 if f.kind in (FieldKind.TABLE, FieldKind.CODE) else 1
        for g in self.groups:
            total += 1 + len(g.members()[0]) / 2
        return total

    @property
    def has_rationale(self) -> bool:
        """Whether any field asks "why"."""
        return any(f.is_rationale for f in self.fields) or any(
            f.is_rationale for g in self.groups for f in g.members()[0]
        )

    def query(self, topic: str = "") -> str:
        """Words to retrieve evidence with: headings, labels and what the placeholders ask."""
        parts = [self.title, topic]
        for f in self.fields:
            parts += [f.label, _trim(f.description)]
        for g in self.groups:
            parts += [g.label, *(f.label for f in g.members()[0][:6])]
        return " ".join(p for p in parts if p)


def _trim(text: str) -> str:
    # Placeholder examples ("PostgreSQL, MySQL, MongoDB, etc.") are options, not evidence terms.
    return re.split(r" - |\(|, etc", text)[0]


def plan_units(
    template: Template, static_ids: set[str], only: list[str] | None = None
) -> list[Unit]:
    """Group the model-filled fields into calls, in document order."""
    paths: dict[str, list[str]] = {}

    def walk(sec: Section, trail: list[str]) -> None:
        here = [*trail, sec.title] if sec.title and sec.level > 1 else trail
        paths[sec.id] = here
        for sub in sec.sections:
            walk(sub, here)

    walk(template.root, [])
    pieces: list[tuple[str, Unit]] = []
    for sec in template.sections():
        fields = [f for f in sec.fields if f.id not in static_ids]
        groups = [g for g in sec.groups if g.id not in static_ids]
        if not fields and not groups:
            continue
        title = " > ".join(paths.get(sec.id, [])) or sec.title or template.name
        if only and not any(_selected(s, sec, title) for s in only):
            continue
        chapter = paths.get(sec.id, [""])[0] if paths.get(sec.id) else ""
        unit = Unit(
            title=title,
            sections=[sec],
            fields=fields,
            groups=groups,
            guidance=list(sec.guidance),
        )
        pieces.append((chapter, unit))
    units: list[Unit] = []
    last_chapter = None
    for chapter, piece in pieces:
        current = units[-1] if units else None
        if (
            current is not None
            and chapter == last_chapter
            and current.weight + piece.weight <= MAX_WEIGHT
        ):
            current.title = f"{current.title}; {piece.title.split(' > ')[-1]}"
            current.sections += piece.sections
            current.fields += piece.fields
            current.groups += piece.groups
            current.guidance += piece.guidance
        else:
            units.append(piece)
        last_chapter = chapter
    for unit in units:
        _assign_keys(unit)
    return units


def unknown_selectors(template: Template, selectors: list[str]) -> list[str]:
    """The `--sections` selectors that match no section (by id prefix or title words)."""
    titles: list[tuple[Section, str]] = []

    def walk(sec: Section, trail: list[str]) -> None:
        here = [*trail, sec.title] if sec.title and sec.level > 1 else trail
        titles.append((sec, " > ".join(here)))
        for sub in sec.sections:
            walk(sub, here)

    walk(template.root, [])
    return [s for s in selectors if not any(_selected(s, sec, title) for sec, title in titles)]


def _selected(selector: str, sec: Section, title: str) -> bool:
    s = selector.lower()
    return sec.id.startswith(s) or s in title.lower()


def _assign_keys(unit: Unit) -> None:
    taken: dict[str, str] = {}
    owners = {
        f.id: next((s for s in unit.sections if f in s.fields), unit.sections[0])
        for f in unit.fields
    }
    members: list[TemplateField | Group] = [*unit.fields, *unit.groups]
    for member in members:
        key = member.key
        if key in taken:
            owner = owners.get(member.id, unit.sections[0])
            key = f"{owner.key}__{member.key}"
        n = 2
        base = key
        while key in taken:
            key, n = f"{base}_{n}", n + 1
        taken[key] = member.id
    unit.keys = taken
