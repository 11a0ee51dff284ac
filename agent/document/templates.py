"""Parse any Markdown architecture template into a typed tree of sections, fields and groups.

Every field remembers where its placeholder sits in the template (line and columns, or a block of
lines), so `render.py` can write answers back while leaving every other byte of the template alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TypeVar

from agent.base.errors import TemplateError, TemplateNotFoundError
from agent.document import markdown as md
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

_T = TypeVar("_T")


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


@dataclass
class _Scope:
    id: str
    title: str
    context: list[str]
    keys: set[str]


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


class _Parser:
    def __init__(self, lines: list[str], path: str) -> None:
        self.lines = lines
        self.path = path
        self.ids: set[str] = set()
        self.title_node: _Node | None = None
        self.kinds = self._classify()

    # Which lines are inside fences or comments: headings and lists there are not structure.
    def _classify(self) -> list[str]:
        kinds = ["text"] * len(self.lines)
        fence: str | None = None
        in_comment = False
        for i, line in enumerate(self.lines):
            if fence is not None:
                kinds[i] = "fence"
                if line.strip().startswith(fence) and not line.strip()[len(fence) :].strip():
                    fence = None
                continue
            if in_comment:
                kinds[i] = "comment"
                in_comment = "-->" not in line
                continue
            m = md.FENCE_RE.match(line)
            if m:
                kinds[i] = "fence"
                fence = m.group(2)
                continue
            if line.lstrip().startswith("<!--"):
                kinds[i] = "comment"
                in_comment = "-->" not in line
                continue
            if md.HEADING_RE.match(line):
                kinds[i] = "heading"
        if fence is not None:
            start = max(
                i for i, k in enumerate(kinds) if k == "fence" and md.FENCE_RE.match(self.lines[i])
            )
            raise TemplateError(self.path, "code fence is never closed", line=start + 1)
        return kinds

    def _new_id(self, base: str) -> str:
        candidate, n = base, 2
        while candidate in self.ids:
            candidate, n = f"{base}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    @staticmethod
    def _new_key(scope: _Scope, label: str, parent: str | None = None) -> str:
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
        scope = _Scope(sid, title, [], set())
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
            run = _numbered_run(children, i, lambda n: n.title)
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

    # --- groups ---

    def _group_ids(self, scope: _Scope, label: str) -> tuple[str, str, str]:
        name = _group_label(label)
        return self._new_id(f"{scope.id}.{md.slugify(name)}"), self._new_key(scope, name), name

    def _section_group(self, run: list[_Node], scope: _Scope) -> Group:
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
            number_slots=_number_slots(first.line, self.lines[first.line], heading_col),
            placeholders=self._count(first.line, last.end),
        )

    def _bullet_group(self, run: list[md.Bullet], scope: _Scope) -> Group:
        first, last = run[0], run[-1]
        gid, key, name = self._group_ids(scope, md.plain(first.text))
        item_scope = _Scope(gid, name, [], set())
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
            number_slots=_number_slots(first.line, self.lines[first.line], first.text_col),
            placeholders=self._count(first.line, last.end + 1),
        )

    def _content_end(self, start: int, end: int) -> int:
        """One past the last line of a section that is not blank or a rule."""
        last = end - 1
        while last > start and (not self.lines[last].strip() or md.HR_RE.match(self.lines[last])):
            last -= 1
        return last + 1

    def _count(self, start: int, end: int) -> int:
        return md.count_bracket_placeholders("\n".join(self.lines[start:end]))

    # --- blocks of a section body ---

    def _blocks(self, start: int, end: int, scope: _Scope, out: Section) -> None:
        lines, kinds = self.lines, self.kinds
        context: str | None = None  # a bold "**API Endpoints:**" line names the block after it
        i = start
        while i < end:
            line = lines[i]
            if not line.strip() or md.HR_RE.match(line):
                i += 1
                continue
            if kinds[i] == "comment":
                j = i
                while j < end and kinds[j] == "comment":
                    j += 1
                    if "-->" in lines[j - 1]:
                        break
                out.guidance.append(_comment_text(lines[i:j]))
                i = j
                continue
            if kinds[i] == "fence":
                close = i + 1
                while close < end and not (
                    kinds[close] == "fence" and md.FENCE_RE.match(lines[close])
                ):
                    close += 1
                self._code(i, close, scope, out, context)
                context, i = None, close + 1
                continue
            if md.TABLE_LINE_RE.match(line):
                j = i
                while j < end and md.TABLE_LINE_RE.match(lines[j]):
                    j += 1
                self._table(i, j, scope, out, context)
                context, i = None, j
                continue
            if md.BULLET_RE.match(line):
                j = self._list_end(i, end)
                inner = _Scope(
                    scope.id,
                    scope.title,
                    [*scope.context, *([context] if context else [])],
                    scope.keys,
                )
                self._bullets(md.parse_bullets(lines, i, j), inner, out)
                context, i = None, j
                continue
            j = i
            while (
                j < end and lines[j].strip() and kinds[j] == "text" and not _starts_block(lines[j])
            ):
                j += 1
            j = max(j, i + 1)
            label_only = _label_only(line)
            if j == i + 1 and label_only:
                context = label_only
            else:
                self._paragraph(i, j, scope, out)
                context = None
            i = j

    def _list_end(self, i: int, end: int) -> int:
        last = i
        j = i + 1
        while j < end:
            line = self.lines[j]
            if not line.strip():
                j += 1
                continue
            if self.kinds[j] != "text" or not (md.BULLET_RE.match(line) or line[:1] in " \t"):
                break
            last = j
            j += 1
        return last + 1

    def _paragraph(self, i: int, j: int, scope: _Scope, out: Section) -> None:
        found = False
        for n in range(i, j):
            text = self.lines[n]
            if text.lstrip().startswith(">"):
                col = text.index(">") + 1
                col += text[col:].startswith(" ")
                fields = self._inline_fields(n, text[col:], scope, offset=col, prefix="> ")
            else:
                fields = self._inline_fields(n, text, scope)
            found = found or bool(fields)
            out.fields += fields
        if not found:
            out.guidance.append("\n".join(self.lines[i:j]).strip())

    def _inline_fields(
        self,
        n: int,
        text: str,
        scope: _Scope,
        *,
        offset: int = 0,
        prefix: str = "",
        heading: bool = False,
        label_hint: str | None = None,
    ) -> list[TemplateField]:
        """Fields on one line: one per labelled line, else one per placeholder."""
        line = self.lines[n]
        base = line.index(text, offset) if text and text in line[offset:] else offset
        phs = md.find_placeholders(text, n)
        if not phs:
            return []
        label, rest_col = _split_label(text)
        after = [p for p in phs if p.start >= rest_col]
        if label and after and not heading:
            slot = Slot(line=n, start=base + after[0].start, end=base + after[-1].end)
            desc = "; ".join(p.text for p in after)
            return [
                self._text_field(label_hint or label, desc, scope, [slot], n, prefix, base, label)
            ]
        whole = len(phs) == 1 and text.strip() == text[phs[0].start : phs[0].end]
        out = []
        for p in phs:
            name = scope.title if whole and not heading and scope.title else md_label(p.text)
            slot = Slot(line=n, start=base + p.start, end=base + p.end)
            out.append(
                self._text_field(name, p.text, scope, [slot], n, prefix, base, None, heading)
            )
        return out

    def _text_field(
        self,
        label: str,
        desc: str,
        scope: _Scope,
        slots: list[Slot],
        n: int,
        prefix: str,
        base: int,
        parent_label: str | None,
        single_line: bool = False,
    ) -> TemplateField:
        fid = self._new_id(f"{scope.id}.{md.slugify(label)}" if scope.id else md.slugify(label))
        indent = prefix or " " * base
        return TemplateField(
            id=fid,
            key=self._new_key(scope, label, scope.context[-1] if scope.context else None),
            label=label,
            kind=FieldKind.TEXT,
            description=desc,
            context=list(scope.context),
            line=n + 1,
            slots=slots,
            continuation=indent,
            single_line=single_line,
            placeholders=sum(
                md.count_bracket_placeholders(self.lines[s.line][s.start : s.end]) for s in slots
            ),
        )

    def _block_field(
        self,
        label: str,
        kind: FieldKind,
        desc: str,
        scope: _Scope,
        start: int,
        end: int,
        line: int,
        **extra: object,
    ) -> TemplateField:
        fid = self._new_id(f"{scope.id}.{md.slugify(label)}" if scope.id else md.slugify(label))
        return TemplateField(
            id=fid,
            key=self._new_key(scope, label),
            label=label,
            kind=kind,
            description=desc,
            context=list(scope.context),
            line=line + 1,
            start=start,
            end=end,
            placeholders=self._count(start, end),
            **extra,  # type: ignore[arg-type]
        )

    def _code(self, i: int, close: int, scope: _Scope, out: Section, context: str | None) -> None:
        body = "\n".join(self.lines[i + 1 : close])
        m = md.FENCE_RE.match(self.lines[i])
        language = (m.group(3) if m else "") or None
        if not md.find_placeholders(body):
            out.guidance.append("\n".join(self.lines[i : close + 1]))
            return
        label = context or (f"{scope.title} ({language})" if language else scope.title) or "Code"
        out.fields.append(
            self._block_field(
                label,
                FieldKind.CODE,
                f"Content of the {language or 'code'} block shown in the template.",
                scope,
                i + 1,
                close,
                i,
                language=language,
                example_rows=[[body]],
            )
        )

    def _table(self, i: int, j: int, scope: _Scope, out: Section, context: str | None) -> None:
        if j - i < 2 or not md.TABLE_SEPARATOR_RE.match(self.lines[i + 1]):
            raise TemplateError(
                self.path,
                "malformed table: the header row must be followed by a |---| separator row",
                line=i + 2 if j - i >= 2 else i + 1,
                hint="Add a separator row such as |---|---|.",
            )
        columns = [md.plain(c) for c in md.split_table_row(self.lines[i])]
        if len(md.split_table_row(self.lines[i + 1])) != len(columns):
            raise TemplateError(
                self.path,
                "malformed table: separator row has a different number of columns than the header",
                line=i + 2,
            )
        rows = []
        for n in range(i + 2, j):
            cells = md.split_table_row(self.lines[n])
            if len(cells) != len(columns):
                raise TemplateError(
                    self.path,
                    f"malformed table: row has {len(cells)} cells but the header has {len(columns)}",
                    line=n + 1,
                    hint="Give every row as many | cells as the header row.",
                )
            rows.append(cells)
        label = context or scope.title or "Table"
        keys: list[str] = []
        for c in columns:
            k, n = md.identifier(c or "column"), 2
            while k in keys:
                k, n = f"{md.identifier(c or 'column')}_{n}", n + 1
            keys.append(k)
        out.fields.append(
            self._block_field(
                label,
                FieldKind.TABLE,
                f"Table rows with columns: {', '.join(columns)}.",
                scope,
                i + 2,
                j,
                i,
                columns=columns,
                column_keys=keys,
                example_rows=rows,
            )
        )

    # --- bullets ---

    def _bullets(self, items: list[md.Bullet], scope: _Scope, out: Section) -> None:
        i = 0
        bare: list[md.Bullet] = []
        while i < len(items):
            run = _numbered_run(items, i, lambda b: _split_label(b.text)[0] or md.plain(b.text))
            if len(run) > 1:
                self._flush_bare(bare, scope, out)
                out.groups.append(self._bullet_group(run, scope))
                i += len(run)
                continue
            item = items[i]
            if _is_bare(item):
                bare.append(item)
            else:
                self._flush_bare(bare, scope, out)
                self._bullet(item, scope, out)
            i += 1
        self._flush_bare(bare, scope, out)

    def _flush_bare(
        self, bare: list[md.Bullet], scope: _Scope, out: Section, label: str | None = None
    ) -> None:
        if not bare:
            return
        texts = [m.group(1) for b in bare for m in [re.search(r"\[([^\[\]]+)\]", b.text)] if m]
        name = label or (scope.context[-1] if scope.context else scope.title) or "Items"
        first = bare[0]
        f = self._block_field(
            name or "Items",
            FieldKind.LIST,
            "; ".join(texts) or "Links to related documents.",
            scope,
            first.line,
            bare[-1].end + 1,
            first.line,
            marker=first.marker,
            continuation=self.lines[first.line][
                : len(self.lines[first.line]) - len(self.lines[first.line].lstrip())
            ],
            example_rows=[[t] for t in texts],
        )
        out.fields.append(f)
        bare.clear()

    def _bullet(
        self, item: md.Bullet, scope: _Scope, out: Section, head_of_group: bool = False
    ) -> None:
        label, _ = _split_label(item.text)
        label_hint = None
        if head_of_group:
            phs = md.find_placeholders(item.text)
            label_hint = md_label(phs[0].text) if phs else None
        fields = self._inline_fields(item.line, item.text, scope, label_hint=label_hint)
        out.fields += fields
        if not item.children:
            if not fields:
                out.guidance.append(item.text)
            return
        own = md.plain(label or "") if label else None
        child_scope = _Scope(
            fields[0].id if fields else (f"{scope.id}.{md.slugify(own)}" if own else scope.id),
            scope.title,
            [*scope.context, *([own] if own and not head_of_group else [])],
            scope.keys,
        )
        if head_of_group:
            child_scope.id = scope.id
        if own and not fields and all(_is_bare(c) for c in item.children):
            self._flush_bare(list(item.children), scope, out, label=own)
            return
        self._bullets(item.children, child_scope, out)


# --- helpers ------------------------------------------------------------------------------------


def md_label(text: str) -> str:
    """A short label from placeholder text: `Name - e.g., Repository` -> `Name`."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", re.sub(r"\d+$", "", text.strip()))
    text = re.split(r" - |, | e\.g\.|\(|: |\. ", text)[0].strip()
    words = text.split()
    return " ".join(words[:6]) or "Value"


def _split_label(text: str) -> tuple[str | None, int]:
    """Label of a line and the column where the labelled content starts."""
    m = md.BOLD_LABEL_RE.match(text)
    if m:
        label = md.PLACEHOLDER_RE.sub("", m.group("label")).strip().rstrip(":").strip()
        if not label:
            return None, 0
        return label, m.start("rest") if not md.PLACEHOLDER_RE.search(m.group("label")) else 0
    m = md.PLAIN_LABEL_RE.match(text)
    if m:
        return m.group("label").strip(), m.start("rest")
    return None, 0


def _label_only(line: str) -> str | None:
    m = md.BOLD_LABEL_RE.match(line.strip())
    if m and not m.group("rest") and not md.find_placeholders(line):
        return md.plain(m.group("label"))
    return None


def _starts_block(line: str) -> bool:
    return bool(
        md.BULLET_RE.match(line)
        or md.TABLE_LINE_RE.match(line)
        or md.HR_RE.match(line)
        or md.FENCE_RE.match(line)
        or line.lstrip().startswith("<!--")
    )


def _is_bare(item: md.Bullet) -> bool:
    text = item.text.strip().rstrip(".;,")
    if item.children:
        return False
    if md.LINK_ONLY_RE.match(text):
        return True
    m = md.PLACEHOLDER_RE.fullmatch(text)
    return m is not None


def _comment_text(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return text.removeprefix("<!--").removesuffix("-->").strip()


def _numbered_key(label: str) -> tuple[str, int] | None:
    m = md.NUMBER_RE.search(label)
    if not m:
        return None
    return md.NUMBER_RE.sub("#", label), int(m.group(0))


def _numbered_run(items: list[_T], i: int, label_of: Callable[[_T], str]) -> list[_T]:
    """Siblings from i on whose labels differ only by a counter 1, 2, 3, ..."""
    first = _numbered_key(label_of(items[i]))
    if first is None or first[1] != 1:
        return [items[i]]
    run = [items[i]]
    for item in items[i + 1 :]:
        key = _numbered_key(label_of(item))
        if key is None or key[0] != first[0] or key[1] != len(run) + 1:
            break
        run.append(item)
    return run


def _group_label(label: str) -> str:
    text = md.plain(label)
    stripped = md.PLACEHOLDER_RE.sub("", md.NUMBER_RE.sub("", text)).strip(" :-")
    if stripped:
        return re.sub(r"\s+", " ", stripped)
    phs = md.find_placeholders(text)
    return md_label(phs[0].text) if phs else "Item"


def _number_slots(n: int, line: str, col: int) -> list[Slot]:
    m = md.NUMBER_RE.search(line, col)
    return [Slot(line=n, start=m.start(), end=m.end())] if m else []
