"""Repeated parts of a template become groups: numbered sibling headings or bullets ("Service 1",
"Service 2", ...) are one group whose first item is the pattern every drafted item follows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

from agent.document import markdown as md
from agent.document.template_blocks import Scope, md_label
from agent.document.template_model import Group, Section, Slot

if TYPE_CHECKING:
    from agent.document.templates import _Node

T = TypeVar("T")


class GroupReader:
    """The group half of the template parser (a mixin of `templates._Parser`)."""

    lines: list[str]

    if TYPE_CHECKING:

        def _new_id(self, base: str) -> str: ...
        @staticmethod
        def _new_key(scope: Scope, label: str, parent: str | None = None) -> str: ...
        def _count(self, start: int, end: int) -> int: ...
        def _content_end(self, start: int, end: int) -> int: ...
        def _section(self, node: _Node, parent_id: str, group_prefix: str | None) -> Section: ...
        def _bullet(
            self, item: md.Bullet, scope: Scope, out: Section, head_of_group: bool = False
        ) -> None: ...

    # --- groups ---

    def _group_ids(self, scope: Scope, label: str) -> tuple[str, str, str]:
        name = group_label(label)
        return self._new_id(f"{scope.id}.{md.slugify(name)}"), self._new_key(scope, name), name

    def _section_group(self, run: list[_Node], scope: Scope) -> Group:
        first, last = run[0], run[-1]
        gid, key, name = self._group_ids(scope, first.title)
        member = self._section(first, scope.id, gid)
        item_end = self._content_end(first.line, first.end)
        heading_col = self.lines[first.line].index(first.title)
        return Group(
            id=gid,
            key=key,
            label=name,
            line=first.line + 1,
            template_items=len(run),
            fields=member.fields,
            groups=member.groups,
            sections=member.sections,
            guidance=member.guidance,
            item_start=first.line,
            item_end=item_end,
            separator=self.lines[item_end : run[1].line],
            trailer_start=self._content_end(last.line, last.end),
            end=last.end,
            number_slots=number_slots(first.line, self.lines[first.line], heading_col),
            placeholders=self._count(first.line, last.end),
        )

    def _bullet_group(self, run: list[md.Bullet], scope: Scope) -> Group:
        first, last = run[0], run[-1]
        gid, key, name = self._group_ids(scope, md.plain(first.text))
        item_scope = Scope(gid, name, [], set())
        holder = Section(id=gid, key=key, title=name, level=0, line=first.line + 1)
        self._bullet(first, item_scope, holder, head_of_group=True)
        return Group(
            id=gid,
            key=key,
            label=name,
            line=first.line + 1,
            template_items=len(run),
            fields=holder.fields,
            groups=holder.groups,
            guidance=holder.guidance,
            item_start=first.line,
            item_end=first.end + 1,
            separator=self.lines[first.end + 1 : run[1].line],
            trailer_start=last.end + 1,
            end=last.end + 1,
            number_slots=number_slots(first.line, self.lines[first.line], first.text_col),
            placeholders=self._count(first.line, last.end + 1),
        )


def group_label(label: str) -> str:
    text = md.plain(label)
    stripped = md.PLACEHOLDER_RE.sub("", md.NUMBER_RE.sub("", text)).strip(" :-")
    if stripped:
        return re.sub(r"\s+", " ", stripped)
    phs = md.find_placeholders(text)
    return md_label(phs[0].text) if phs else "Item"


def number_slots(n: int, line: str, col: int) -> list[Slot]:
    m = md.NUMBER_RE.search(line, col)
    return [Slot(line=n, start=m.start(), end=m.end())] if m else []
