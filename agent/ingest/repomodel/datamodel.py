"""The data model one file declares: tables, their columns and foreign keys, each at its line.

Read from ORM model classes (SQLAlchemy declarative, Django models, Sequelize-typescript and
TypeORM entities; GORM and Diesel in agent/ingest/repomodel/datamodel_go_rust.py), Prisma schemas, and SQL DDL — `CREATE TABLE` statements in `.sql` files and in
SQL strings inside code, parsed with `sqlglot` (a real SQL parser) rather than patterns. Model
classes are located with the file's tree-sitter symbols, so a column belongs to the class whose
lines hold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.ingest.repomodel.syntax import Symbol


@dataclass
class Table:
    """One table (or ORM model), its columns and the tables its foreign keys point to."""

    name: str
    path: str
    line: int
    end: int
    source: str  # SQLAlchemy, Django, Sequelize, TypeORM, Prisma, SQL
    model: str = ""  # the class or model name, when there is one
    columns: list[tuple[str, int]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, int]] = field(default_factory=list)  # column, table, line


_TABLENAME = re.compile(r"^\s+__tablename__\s*=\s*[\"'](\w+)[\"']")
_PY_COLUMN = re.compile(
    r"^\s+(\w+)\s*(?::\s*Mapped\[.*\])?\s*=\s*(?:[\w.]+\.)?"
    r"(Column|mapped_column|ForeignKey|OneToOneField|ManyToManyField|\w+Field)\("
)
_PY_MAPPED = re.compile(r"^\s+(\w+)\s*:\s*Mapped\[")
_SA_FK = re.compile(r"ForeignKey\(\s*[\"'](?:\w+\.)?(\w+)\.\w+[\"']")
_DB_TABLE = re.compile(r"^\s+db_table\s*=\s*[\"'](\w+)[\"']")
_DJANGO_FK = re.compile(r"models\.(?:ForeignKey|OneToOneField|ManyToManyField)\(\s*[\"']?([\w.]+)")
_TS_TABLE = re.compile(r"@(?:Table|Entity)\b")
_TS_TABLENAME = re.compile(r"(?:tableName\s*:\s*|@Entity\(\s*(?:\{\s*name\s*:\s*)?)[\"'](\w+)[\"']")
_TS_COLUMN_DECO = re.compile(
    r"^\s*@(Column|PrimaryKey|PrimaryGeneratedColumn|PrimaryColumn|CreatedAt|UpdatedAt|DeletedAt|"
    r"ForeignKey|ManyToOne|OneToOne|BelongsTo)\b(.*)"
)
_TS_OTHER_DECO = re.compile(r"^\s*@\w+")
_TS_PROPERTY = re.compile(r"^\s*(?:declare\s+|readonly\s+|public\s+)*(\w+)[?!]?\s*:")
_TS_TARGET = re.compile(r"\(\s*\)\s*=>\s*(\w+)")
_PRISMA_MODEL = re.compile(r"^\s*model\s+(\w+)\s*\{")
_PRISMA_FIELD = re.compile(r"^\s*(\w+)\s+(\w+)(\[\])?\??")
# A statement, not prose about one: the table's name and the opening parenthesis on the same line.
_CREATE = re.compile(
    r"\bcreate\s+(?:virtual\s+|temporary\s+|temp\s+)?table\s+(?:if\s+not\s+exists\s+)?"
    r"[\w.\"`\[\]]+\s*(?:\(|$)",
    re.IGNORECASE,
)


# `_CREATE` on any one line, searched in the whole text at once (a space never spans lines).
_CREATE_ON_A_LINE = re.compile(_CREATE.pattern.replace(r"\s", r"[^\S\n]"), re.IGNORECASE | re.M)


def tables(path: str, lines: list[str], language: str, syms: list[Symbol]) -> list[Table]:
    """Every table this file declares."""
    if language == "sql":
        return _ddl(path, lines, 0, len(lines))
    if path.endswith(".prisma"):
        return _prisma(path, lines)
    out: list[Table] = []
    if language == "python":
        out += _python_models(path, lines, syms)
    elif language in ("ts", "js"):
        out += _ts_models(path, lines, syms)
    elif language in ("go", "rust"):
        # Imported here: that module builds on this one's Table.
        from agent.ingest.repomodel.datamodel_go_rust import diesel_tables, gorm_models

        out += gorm_models(path, lines, syms) if language == "go" else diesel_tables(path, lines)
    if _CREATE_ON_A_LINE.search("\n".join(lines)):
        out += _ddl(path, lines, 0, len(lines))
    return out


def _python_models(path: str, lines: list[str], syms: list[Symbol]) -> list[Table]:
    out: list[Table] = []
    for s in syms:
        if s.kind != "class" or s.parent:
            continue
        body = lines[s.line : s.end]
        name = next((m.group(1) for ln in body if (m := _TABLENAME.match(ln))), "")
        source = "SQLAlchemy"
        if not name and re.search(r"\bmodels\.Model\b", s.bases):
            name, source = s.name.lower(), "Django"
        elif not name:
            continue
        # `__tablename__` is SQLAlchemy's, whatever else the body names (`models.User` of a
        # module called models made warehouse's Project a Django model).
        table = Table(name, path, s.line, s.end, source, s.name)
        if re.search(r"^\s+abstract\s*=\s*True", "\n".join(body), re.MULTILINE):
            continue  # a Django abstract base: no table of its own
        named = next((m.group(1) for ln in body if (m := _DB_TABLE.match(ln))), "")
        if named:
            table.name = named
        for i, ln in enumerate(body):
            k = s.line + 1 + i
            m = _PY_COLUMN.match(ln) or _PY_MAPPED.match(ln)
            if not m or m.group(1).startswith("_") or m.group(1) == "objects":
                continue
            if re.search(r"=\s*(?:\w+\.)*(relationship|association_proxy|synonym)\(", ln):
                continue  # an association, not a column
            table.columns.append((m.group(1), k))
            # A column written over several lines: its ForeignKey may be on a later one.
            statement = ln
            for more in body[i + 1 : i + 8]:
                if statement.count("(") <= statement.count(")"):
                    break
                statement += " " + more.strip()
            # "app.Model" in Django, "table.column" in SQLAlchemy.
            patterns = (_DJANGO_FK, _SA_FK) if table.source == "Django" else (_SA_FK, _DJANGO_FK)
            fk = patterns[0].search(statement) or patterns[1].search(statement)
            if fk:
                target = fk.group(1).rsplit(".", 1)[-1]
                table.foreign_keys.append((m.group(1), target, k))
        out.append(table)
    return out


def _ts_models(path: str, lines: list[str], syms: list[Symbol]) -> list[Table]:
    out: list[Table] = []
    for s in syms:
        if s.kind != "class" or not any(_TS_TABLE.search(d) for d in s.decorators):
            continue
        decorated = " ".join(s.decorators)
        named = _TS_TABLENAME.search(decorated)
        source = "TypeORM" if "@Entity" in decorated else "Sequelize"
        table = Table(named.group(1) if named else s.name, path, s.line, s.end, source, s.name)
        pending: tuple[str, str] | None = None
        k, stop = s.line, min(s.end, len(lines))
        while k < stop:
            ln = lines[k]
            k += 1
            deco = _TS_COLUMN_DECO.match(ln) or _TS_OTHER_DECO.match(ln)
            if deco:
                # Arguments spread over several lines belong to the decorator, not the class.
                depth = _depth(ln)
                while depth > 0 and k < stop:
                    ln += " " + lines[k].strip()
                    depth += _depth(lines[k])
                    k += 1
                column = _TS_COLUMN_DECO.match(ln)
                if column:
                    target = _TS_TARGET.search(column.group(2))
                    if pending is None or column.group(1) in (
                        "ForeignKey",
                        "ManyToOne",
                        "BelongsTo",
                    ):
                        pending = (column.group(1), target.group(1) if target else "")
                # `@Column() name: string;` on one line: the property follows the decorator.
                rest = re.sub(r"^\s*@\w+(\((?:[^()]|\([^()]*\))*\))?", "", ln)
                if not _TS_PROPERTY.match(rest):
                    continue
                ln = rest
            elif not ln.strip() or ln.strip().startswith(("//", "*", "/*")):
                continue
            prop = _TS_PROPERTY.match(ln)
            if prop is None or pending is None:
                pending = None  # a method, or an undecorated property, ends the decorations
                continue
            kind, target_model = pending
            pending = None
            if kind in ("BelongsTo", "OneToOne") and not ln.strip().endswith("Id;"):
                continue  # the association object, not a column
            table.columns.append((prop.group(1), k))
            if kind in ("ForeignKey", "ManyToOne") and target_model:
                table.foreign_keys.append((prop.group(1), target_model, k))
        out.append(table)
    return out


def _depth(line: str) -> int:
    return line.count("(") + line.count("{") - line.count(")") - line.count("}")


def _prisma(path: str, lines: list[str]) -> list[Table]:
    out: list[Table] = []
    current: Table | None = None
    for n, ln in enumerate(lines, start=1):
        m = _PRISMA_MODEL.match(ln)
        if m:
            current = Table(m.group(1), path, n, n, "Prisma", m.group(1))
            out.append(current)
            continue
        if current is None:
            continue
        if ln.strip().startswith("}"):
            current.end = n
            current = None
            continue
        f = _PRISMA_FIELD.match(ln)
        if not f or f.group(1).startswith("@"):
            continue
        if "@relation" in ln:
            local = re.search(r"fields:\s*\[(\w+)", ln)
            if local:
                current.foreign_keys.append((local.group(1), f.group(2), n))
            continue
        if f.group(3):
            continue  # the other side of a relation: a list of rows, not a column
        current.columns.append((f.group(1), n))
    return out


def _ddl(path: str, lines: list[str], start: int, stop: int) -> list[Table]:
    """`CREATE TABLE` statements, each parsed on its own (a statement sqlglot cannot parse is
    skipped, never guessed)."""
    out: list[Table] = []
    n = start
    while n < stop:
        m = _CREATE.search(lines[n])
        if not m:
            n += 1
            continue
        statement, end = _statement(lines, n, m.start())
        try:
            table = _parse_create(statement, path, n + 1, end + 1)
        except Exception:  # sqlglot's tree for odd DDL can fail when read (a name of None)
            table = None
        if table is not None:
            out.append(table)
        n = end + 1
    return out


def _statement(lines: list[str], n: int, col: int) -> tuple[str, int]:
    """The text from CREATE to the parenthesis that closes its column list."""
    depth, seen, parts = 0, False, []
    quote = ""
    for k in range(n, min(n + 200, len(lines))):
        text = lines[k][col:] if k == n else lines[k]
        for i, ch in enumerate(text):
            if quote:
                quote = "" if ch == quote else quote
                continue
            if ch in "'\"":
                quote = ch
                continue
            if text.startswith("--", i):
                break
            if ch == "(":
                depth += 1
                seen = True
            elif ch == ")":
                depth -= 1
                if seen and depth == 0:
                    parts.append(text[: i + 1])
                    return "\n".join(parts), k
        parts.append(text)
    return "\n".join(parts), n


def _parse_create(sql: str, path: str, line: int, end: int) -> Table | None:
    import logging

    import sqlglot
    from sqlglot import exp

    # sqlglot logs a warning for every statement it cannot read; an unread one is simply skipped.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    tree = None
    # The default dialect first, then the ones whose quoting it does not read (MySQL backticks,
    # T-SQL brackets, PostgreSQL specifics).
    for dialect in (None, "mysql", "postgres", "tsql"):
        try:
            found = sqlglot.parse_one(sql, read=dialect, error_level=sqlglot.ErrorLevel.IGNORE)
        except Exception:  # sqlglot raises more than its own errors on odd input
            continue
        if isinstance(found, exp.Create) and isinstance(found.this, exp.Schema):
            tree = found
            break
    if tree is None:
        return None
    name_node = tree.this.this
    name = name_node.name if isinstance(name_node, exp.Table) else ""
    if not name or not re.fullmatch(r"[\w]+", name):
        return None
    table = Table(name, path, line, end, "SQL")
    rows = sql.split("\n")
    cursor = 0  # table-level FOREIGN KEY clauses come in order
    for col in tree.this.expressions:
        if isinstance(col, exp.ColumnDef):
            row = line + _column_row(rows, col.name)
            table.columns.append((col.name, row))
            for constraint in col.constraints:
                ref = constraint.find(exp.Reference)
                target = ref.find(exp.Table) if ref is not None else None
                if target is not None:
                    table.foreign_keys.append((col.name, target.name, row))
        elif isinstance(col, exp.ForeignKey):
            ref = col.args.get("reference")
            target = ref.find(exp.Table) if ref is not None else None
            cols = [e.name for e in col.expressions]
            if target is not None and cols:
                cursor = _clause_row(rows, cursor)
                table.foreign_keys.append((cols[0], target.name, line + cursor))
                cursor += 1
    return table


def _column_row(rows: list[str], name: str) -> int:
    """The row (0-based) that defines a column: its name first on the row, quoted or not."""
    pattern = re.compile(r"^\s*[\"`\[]?" + re.escape(name) + r"[\"`\]]?(\s|$)", re.IGNORECASE)
    for i, row in enumerate(rows):
        if i and pattern.match(row):
            return i
    # One-line statements: the column sits on the CREATE line.
    return 0


def _clause_row(rows: list[str], start: int) -> int:
    """The first row from `start` with a FOREIGN KEY clause."""
    for i in range(max(start, 0), len(rows)):
        if re.search(r"foreign\s+key", rows[i], re.IGNORECASE):
            return i
    return 0
