"""Schema migration histories in the tree, for a Migration Strategy field: which tool's layout they
follow (Alembic revisions, Django migrations, Prisma, Rails, Flyway, golang-migrate, Diesel/sqlx),
where they live and how many there are, cited at the last one. Read from paths (and Alembic's
`revision =` line), so a history kept in the repository is stated, not guessed.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from agent.repomodel import is_auxiliary

if TYPE_CHECKING:
    from agent.index import RepoIndex

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


def migration_history(index: RepoIndex) -> tuple[str, list[tuple[str, int, int]]] | None:
    """ "Alembic revisions: 312 migrations in `warehouse/migrations/versions/`", cited at the
    last file's revision line; None when the tree keeps no migration history."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in index.records:
        if is_auxiliary(path):
            continue
        for tool, pattern in _LAYOUTS:
            if pattern.search(path):
                folder = str(PurePosixPath(path).parent)
                if tool.startswith(("Prisma", "Diesel")):
                    folder = str(PurePosixPath(folder).parent)
                found.setdefault((tool, folder), []).append(path)
                break
    if not found:
        return None
    (tool, folder), paths = max(found.items(), key=lambda kv: len(kv[1]))
    # The last by name: Django's 0042_..., dated Rails and Knex files, Flyway's V12__.
    newest = max(paths)
    line = next(
        (
            n
            for n, text in enumerate(index.file_lines(newest) or [], start=1)
            if _REVISION.match(text)
        ),
        1,
    )
    if tool.startswith("Sequelize /"):
        # The ORM the manifests declare says whose migrations these are.
        orms = {f.name for f in index.facts if f.kind == "orm"}
        tool = next(
            (f"{o} migrations" for o in ("Sequelize", "Knex", "TypeORM") if o in orms), tool
        )
    count = f"{len(paths)} migration{'s' if len(paths) != 1 else ''}"
    return f"{tool}: {count} in `{folder}/`", [(newest, line, line)]
