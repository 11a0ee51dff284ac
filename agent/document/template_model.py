"""The typed tree a template parses into: sections, fields, tables, code blocks and groups."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from agent.document import markdown as md


class FieldKind(StrEnum):
    """How a field's answer is shaped and written back."""

    TEXT = "text"  # inline Markdown replacing the placeholder on its line
    LIST = "list"  # a bullet list of 0..N items
    TABLE = "table"  # 0..N rows of a pipe table
    CODE = "code"  # the body of a fenced block, its language kept


class Slot(BaseModel):
    """A column range on one template line (0-based line, [start, end) columns)."""

    model_config = ConfigDict(extra="forbid")
    line: int
    start: int
    end: int


class TemplateField(BaseModel):
    """One thing the filler must write."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(description="Stable id: heading path + labels, e.g. `overview.purpose`.")
    key: str = Field(description="Python identifier, unique within its section or group item.")
    label: str
    kind: FieldKind
    description: str = Field(description="The placeholder text: what the template asks for.")
    context: list[str] = Field(
        default_factory=list, description="Enclosing labels, outermost first."
    )
    line: int = Field(description="1-based template line of the field.")
    slots: list[Slot] = Field(default_factory=list)
    start: int = 0  # block fields: first replaced line (0-based)
    end: int = 0  # block fields: one past the last replaced line
    continuation: str = ""  # prefix for continuation lines of a multi-line text value
    marker: str = "-"
    language: str | None = None
    columns: list[str] = Field(default_factory=list)
    column_keys: list[str] = Field(default_factory=list)
    example_rows: list[list[str]] = Field(default_factory=list)
    placeholders: int = 0
    single_line: bool = False  # headings and table-like spots cannot hold line breaks

    @property
    def is_rationale(self) -> bool:
        """A "Why ..." field: its answer must say whether the reason is documented or inferred."""
        return self.label.lower().startswith(("why ", "rationale"))


class Group(BaseModel):
    """Numbered siblings of one shape (`Service 1..3`): filled with as many items as evidence has."""

    model_config = ConfigDict(extra="forbid")
    id: str
    key: str
    label: str
    line: int
    template_items: int
    fields: list[TemplateField] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    guidance: list[str] = Field(default_factory=list)
    item_start: int
    item_end: int
    separator: list[str] = Field(default_factory=list)
    trailer_start: int
    end: int
    number_slots: list[Slot] = Field(default_factory=list)
    placeholders: int = 0

    def members(self) -> tuple[list[TemplateField], list[Group]]:
        """The item shape of a group: its fields and nested groups, subsections included."""
        fields, groups = list(self.fields), list(self.groups)
        for sec in self.sections:
            f, g = sec.members()
            fields += f
            groups += g
        return fields, groups


class Section(BaseModel):
    """A heading and what it holds."""

    model_config = ConfigDict(extra="forbid")
    id: str
    key: str
    title: str
    level: int
    line: int
    guidance: list[str] = Field(default_factory=list)
    fields: list[TemplateField] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)

    def walk(self) -> list[Section]:
        """This section and all its descendants (not into groups), document order."""
        out = [self]
        for child in self.sections:
            out += child.walk()
        return out

    def members(self) -> tuple[list[TemplateField], list[Group]]:
        """Fields and groups of this section and its subsections, not descending into groups."""
        fields: list[TemplateField] = []
        groups: list[Group] = []
        for sec in self.walk():
            fields += sec.fields
            groups += sec.groups
        return fields, groups

    def count(self) -> dict[str, int]:
        """Fields, tables, code blocks and groups at or below this section (groups count once)."""
        totals = {"fields": 0, "tables": 0, "code": 0, "groups": 0}
        for sec in self.walk():
            for f in sec.fields:
                totals["fields"] += 1
                totals["tables"] += f.kind is FieldKind.TABLE
                totals["code"] += f.kind is FieldKind.CODE
            totals["groups"] += len(sec.groups)
        return totals


class Template(BaseModel):
    """A parsed template: its lines and the tree over them."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    lines: list[str]
    root: Section

    def sections(self) -> list[Section]:
        """Every section in document order (the untitled root first)."""
        return self.root.walk()

    def placeholder_total(self) -> int:
        """`[...]` placeholders in the document, outside HTML comments."""
        return md.count_bracket_placeholders("\n".join(self.lines))

    def find_field(self, fid: str) -> TemplateField | None:
        """The field with this id (directly in a section, not inside a group)."""
        return next((f for sec in self.sections() for f in sec.fields if f.id == fid), None)

    def find_group(self, gid: str) -> Group | None:
        """The group with this id."""
        return next((g for sec in self.sections() for g in sec.groups if g.id == gid), None)

    def member_ids(self) -> set[str]:
        """The ids of every field and group directly in a section."""
        ids: set[str] = set()
        for sec in self.sections():
            ids.update(f.id for f in sec.fields)
            ids.update(g.id for g in sec.groups)
        return ids

    def trails(self) -> dict[str, str]:
        """Each field's and group's heading trail below the document title ("A > B")."""
        out: dict[str, str] = {}

        def visit(sec: Section, trail: list[str]) -> None:
            here = [*trail, sec.title] if sec.title and sec.level > 1 else trail
            for fid in [f.id for f in sec.fields] + [g.id for g in sec.groups]:
                out[fid] = " > ".join(here)
            for sub in sec.sections:
                visit(sub, here)

        visit(self.root, [])
        return out


Group.model_rebuild()


def assign_roles(
    labels: dict[str, str], patterns: tuple[tuple[str, re.Pattern[str]], ...]
) -> dict[str, str]:
    """Which member (by id) takes which role, from the members' labels: each label gets the first
    role whose pattern it matches that no earlier member took."""
    roles: dict[str, str] = {}
    for fid, label in labels.items():
        low = label.lower().strip()
        for role, pattern in patterns:
            if role not in roles.values() and pattern.search(low):
                roles[fid] = role
                break
    return roles
