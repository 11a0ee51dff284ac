"""Schema migration histories in the tree, for a Migration Strategy field: which tool's layout they
follow (Alembic revisions, Django migrations, Prisma, Rails, Flyway, golang-migrate, Diesel/sqlx),
where they live and how many there are, cited at the last one. Read from paths (and Alembic's
`revision =` line), so a history kept in the repository is stated, not guessed.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.ingest.repomodel.model import is_auxiliary

if TYPE_CHECKING:
    from agent.ingest.index import RepoIndex

# (tool, how its migrations are named) — the first layout a path matches.
_LAYOUTS: list[tuple[str, re.Pattern[str]]] = [
    ("Alembic revisions", re.compile(r"(^|/)(alembic|migrations)/versions/[^/]+\.py$")),
    ("Django migrations", re.compile(r"(^|/)migrations/\d{4}_[^/]+\.py$")),
    ("Prisma migrations", re.compile(r"(^|/)prisma/migrations/[^/]+/migration\.sql$")),
    ("Rails migrations", re.compile(r"(^|/)db/migrate/\d+_[^/]+\.rb$")),
    ("Flyway migrations", re.compile(r"(^|/)V\d+(?:[._]\d+)*__[^/]+\.sql$")),
    ("golang-migrate / dbmate up and down files", re.compile(r"(^|/)\d+_[^/]+\.up\.sql$")),
    ("Diesel / sqlx migrations", re.compile(r"(^|/)migrations/[^/]+/up\.sql$")),
    ("Sequelize / Knex / TypeORM migrations", re.compile(r"(^|/)migrations/\d{8,}[^/]*\.[jt]s$")),
]
_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*[\"']([\w-]+)[\"']")
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$")


def migration_history(index: RepoIndex) -> tuple[str, list[tuple[str, int, int]]] | None:
    """ "Alembic revisions: 312 migrations in `warehouse/migrations/versions/`", cited at the
    last one; None when the tree keeps no migration history."""
    found: dict[str, list[str]] = {}
    for path in index.records:
        name = PurePosixPath(path).name
        if is_auxiliary(path) or name == "__init__.py":
            continue
        for tool, pattern in _LAYOUTS:
            if pattern.search(path) and _is(tool, index, path):
                found.setdefault(tool, []).append(path)
                break
    if not found:
        return None
    tool, paths = max(found.items(), key=lambda kv: len(kv[1]))
    folders = sorted({_folder(tool, p) for p in paths})
    last, line = _last(tool, index, paths)
    if tool.startswith("Sequelize /"):
        # The ORM the manifests declare says whose migrations these are.
        orms = {f.name for f in index.facts if f.kind == "orm"}
        tool = next(
            (f"{o} migrations" for o in ("Sequelize", "Knex", "TypeORM") if o in orms), tool
        )
    count = f"{len(paths)} migration{'s' if len(paths) != 1 else ''}"
    where = (
        f"in `{folders[0]}/`"
        if len(folders) == 1
        else f"in {len(folders)} folders (e.g. `{folders[0]}/`)"
    )
    return f"{tool}: {count} {where}", [(last, line, line)]


def _is(tool: str, index: RepoIndex, path: str) -> bool:
    """A Django migration imports Django's migrations; the path alone could be anyone's."""
    if not tool.startswith("Django"):
        return True
    return any("django.db" in line for line in (index.file_lines(path) or [])[:30])


def _folder(tool: str, path: str) -> str:
    folder = PurePosixPath(path).parent
    # Prisma and Diesel keep one folder per migration: their parent is the history.
    return str(folder.parent if tool.startswith(("Prisma", "Diesel")) else folder)


def _last(tool: str, index: RepoIndex, paths: list[str]) -> tuple[str, int]:
    """The newest migration and the line to cite: Alembic's head (the revision no other one
    revises), otherwise the highest number or date in the names (V11 after V9)."""
    if tool.startswith("Alembic"):
        revisions: dict[str, tuple[str, int]] = {}
        parents: set[str] = set()
        for path in paths:
            for n, text in enumerate(index.file_lines(path) or [], start=1):
                m = _REVISION.match(text)
                if m:
                    revisions[m.group(1)] = (path, n)
                m = _DOWN.match(text)
                if m:
                    parents.update(re.findall(r"[\"']([\w-]+)[\"']", m.group(1)))
        heads = sorted(rev for rev in revisions if rev not in parents)
        if heads:
            return revisions[heads[0]]

    def key(path: str) -> tuple[int, str]:
        digits = re.search(r"\d+", PurePosixPath(path).name.lstrip("Vv"))
        return (int(digits.group()) if digits else -1, path)

    return max(paths, key=key), 1
