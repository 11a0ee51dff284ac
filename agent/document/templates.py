"""Parse any Markdown architecture template into a typed tree of sections, fields and groups.

Every field remembers where its placeholder sits in the template (line and columns, or a block of
lines), so `render.py` can write answers back while leaving every other byte of the template alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from agent.base.errors import TemplateError, TemplateNotFoundError
from agent.document import markdown as md
from agent.document.template_blocks import BlockReader, Scope
from agent.document.template_groups import GroupReader
from agent.document.template_model import (
    FieldKind,
    Group,
    Section,
    Slot,
    Template,
    TemplateField,
)

__all__ = [
    "FieldKind",
    "Group",
    "Section",
    "Slot",
    "Template",
    "TemplateField",
    "load_template",
    "parse_template",
    "shipped_templates",
]


# --- loading -----------------------------------------------------------------------------------


def templates_dir() -> Path:
    """Where shipped templates live: inside the installed package, or the source checkout."""
    packaged = Path(str(resources.files("agent"))) / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def shipped_templates() -> dict[str, Path]:
    """Shipped template names (file stem) and their paths."""
    return {p.stem: p for p in sorted(templates_dir().glob("*.md"))}


def load_template(name_or_path: str | Path) -> Template:
    """Parse a shipped template by name, or any template file by path."""
    candidate = Path(name_or_path)
    shipped = shipped_templates()
    if str(name_or_path) in shipped:
        candidate = shipped[str(name_or_path)]
    elif not candidate.exists():
        names = ", ".join(shipped) or "none"
        raise TemplateNotFoundError(
            name_or_path,
            "no such template file or shipped template name",
            hint=f"Shipped templates: {names}. Or pass the path of a Markdown file.",
        )
    if candidate.is_dir():
        raise TemplateError(candidate, "is a directory, not a Markdown template file")
    try:
        text = candidate.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(candidate, f"is not UTF-8 text ({exc.reason})") from exc
    return parse_template(text, path=str(candidate), name=candidate.stem)


# --- parsing ------------------------------------------------------------------------------------


@dataclass
class _Node:
    line: int
    level: int
    title: str
    end: int
    children: list[_Node] = field(default_factory=list)

    @property
    def body_end(self) -> int:
        return self.children[0].line if self.children else self.end


def parse_template(text: str, *, path: str = "<template>", name: str = "template") -> Template:
    """Parse Markdown into a Template; raises TemplateError naming path:line on bad input."""
    lines = text.split("\n")
    parser = _Parser(lines, path)
    root = parser.parse()
    template = Template(name=name, path=path, lines=lines, root=root)
    if template.placeholder_total() == 0 and not any(s.fields for s in template.sections()):
        raise TemplateError(
            path,
            "has no [placeholders], so there is nothing to fill",
            hint="Mark what docagent should write as [description of the content].",
        )
    return template


class _Parser(BlockReader, GroupReader):
    """Headings into sections; each section's body is read by BlockReader, groups by GroupReader."""

    def __init__(self, lines: list[str], path: str) -> None:
        self.lines = lines
        self.path = path
        self.ids: set[str] = set()
        self.title_node: _Node | None = None
        self.kinds = self._classify()

    # Which lines are inside fences or comments: headings and lists there are not structure.
    def _classify(self) -> list[str]:
        """Each line's kind: "fence" and "comment" lines are no structure, "heading" lines start a
        section (ATX headings at the left margin only: a setext underline is read as a rule, and an
        indented `#` line is text). A fence that never closes is an error naming its line."""
        kinds = ["text"] * len(self.lines)
        for block in md.blocks(self.lines):
            if block.kind == "fence" and not block.closed:
                raise TemplateError(self.path, "code fence is never closed", line=block.start + 1)
            if block.kind in ("fence", "comment"):
                kinds[block.start : block.end] = [block.kind] * (block.end - block.start)
            elif not block.setext and md.HEADING_RE.match(self.lines[block.start]):
                kinds[block.start] = "heading"
        return kinds

    def _new_id(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    @staticmethod
    def _new_key(scope: Scope, label: str, parent: str | None = None) -> str:
        key = md.identifier(label)
        if key in scope.keys and parent:
            key = md.identifier(f"{parent} {label}")
        base, n = key, 2
        while key in scope.keys:
            key, n = f"{base}_{n}", n + 1
        scope.keys.add(key)
        return key

    def parse(self) -> Section:
        root = _Node(-1, 0, "", len(self.lines))
        stack = [root]
        for i, kind in enumerate(self.kinds):
            if kind != "heading":
                continue
            m = md.HEADING_RE.match(self.lines[i])
            assert m
            level = len(m.group(1))
            while stack[-1].level >= level:
                stack.pop().end = i
            node = _Node(i, level, m.group(2), len(self.lines))
            stack[-1].children.append(node)
            stack.append(node)
        return self._section(root, "", None)

    def _section(self, node: _Node, parent_id: str, group_prefix: str | None) -> Section:
        title = node.title
        sid = group_prefix or ".".join(p for p in (parent_id, md.slugify(title)) if p)
        if not node.level:
            sid = ""
            if len(node.children) == 1 and node.children[0].level == 1:
                self.title_node = node.children[0]
        elif node is self.title_node:
            # A lone top heading is the document's title: ids leave it out, so they stay the
            # same whatever the product is called.
            sid = ""
        elif not group_prefix:
            sid = self._new_id(sid)
        child_parent = sid
        scope = Scope(sid, title, [], set())
        section = Section(
            id=sid,
            key=md.identifier(title or "document"),
            title=title,
            level=node.level,
            line=node.line + 1,
        )
        if node.level:
            section.fields += self._inline_fields(node.line, title, scope, heading=True)
        self._blocks(node.line + 1, node.body_end, scope, section)
        i, children = 0, node.children
        keys: set[str] = set()
        while i < len(children):
            run = md.numbered_run(children, i, lambda n: n.title)
            if len(run) > 1:
                section.groups.append(self._section_group(run, scope))
                i += len(run)
                continue
            child = self._section(children[i], child_parent, None)
            base, n = child.key, 2
            while child.key in keys:
                child.key, n = f"{base}_{n}", n + 1
            keys.add(child.key)
            section.sections.append(child)
            i += 1
        return section

    def _content_end(self, start: int, end: int) -> int:
        """One past the last line of a section that is not blank or a rule."""
        last = end - 1
        while last > start and (not self.lines[last].strip() or md.HR_RE.match(self.lines[last])):
            last -= 1
        return last + 1

    def _count(self, start: int, end: int) -> int:
        return md.count_bracket_placeholders("\n".join(self.lines[start:end]))
