"""The body of a template section: paragraphs, labelled lines, lists, tables and code blocks, and
the placeholders in them that become fields (each with the exact place it is written back to)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agent.base.errors import TemplateError
from agent.document import markdown as md
from agent.document.template_model import FieldKind, Group, Section, Slot, TemplateField


@dataclass
class Scope:
    """Where fields are being read: the section or group they belong to and the keys taken."""

    id: str
    title: str
    context: list[str]
    keys: set[str]


class BlockReader:
    """The section-body half of the template parser (a mixin of `templates._Parser`)."""

    lines: list[str]
    kinds: list[str]
    path: str

    if TYPE_CHECKING:

        def _new_id(self, base: str) -> str: ...
        @staticmethod
        def _new_key(scope: Scope, label: str, parent: str | None = None) -> str: ...
        def _count(self, start: int, end: int) -> int: ...
        def _bullet_group(self, run: list[md.Bullet], scope: Scope) -> Group: ...

    # --- blocks of a section body ---

    def _blocks(self, start: int, end: int, scope: Scope, out: Section) -> None:
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
                inner = Scope(
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

    def _paragraph(self, i: int, j: int, scope: Scope, out: Section) -> None:
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
        scope: Scope,
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
        scope: Scope,
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
        scope: Scope,
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
            **extra,
        )

    def _code(self, i: int, close: int, scope: Scope, out: Section, context: str | None) -> None:
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

    def _table(self, i: int, j: int, scope: Scope, out: Section, context: str | None) -> None:
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

    def _bullets(self, items: list[md.Bullet], scope: Scope, out: Section) -> None:
        i = 0
        bare: list[md.Bullet] = []
        while i < len(items):
            run = md.numbered_run(items, i, lambda b: _split_label(b.text)[0] or md.plain(b.text))
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
        self, bare: list[md.Bullet], scope: Scope, out: Section, label: str | None = None
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
        self, item: md.Bullet, scope: Scope, out: Section, head_of_group: bool = False
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
        child_scope = Scope(
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
