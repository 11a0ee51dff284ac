"""A small but realistic repository the tests build: several modules in three languages, notes, ADRs,
a git history whose messages carry reasons, and every kind of awkward file.

Everything is deterministic (fixed authors and dates), so commit hashes and therefore prompts are the
same on every run: recorded cassettes keep matching.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Planted secrets: none of these strings may survive into chunks or prompts.
PLANTED_SECRETS = [
    "AKIAQWERTYUIOPASDFGH",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETKEY",
    "ghp_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa",
    "hunter2-but-longer-password",
    "MIIEpAIBAAKCAQEAplantedprivatekeymaterial",
    "sk-proj-PLANTEDopenaiKEY0123456789abcdef",
    "dotenv-only-secret-value-42",
]

FILES: dict[str, str] = {
    "README.md": """# Inventory Service

Inventory Service keeps stock levels for the warehouse. Supplier feeds are imported every hour by
the importer; the HTTP API serves stock queries; a Go worker sends low-stock alerts.

## Layout

- `src/inventory/importer.py`: pulls supplier feeds and writes stock levels.
- `src/inventory/storage.py`: the SQLite storage layer.
- `src/inventory/api.py`: the FastAPI HTTP API.
- `web/server.js`: the Express front end that proxies to the API.
- `cmd/alerts/main.go`: the low-stock alert worker.

## Running

Run `inventory-import` to import feeds once, or `docker compose up` for everything.
Configuration comes from environment variables (see `.env.example`).
""",
    "docs/architecture.md": """# Architecture

The system is a modular monolith: one Python package with three modules (importer, storage, api)
deployed as one container, plus a small Go worker and a Node front end.

## Data flow

Supplier feeds (CSV over HTTPS) are fetched by the importer, validated with Pydantic and written to
SQLite through the storage module. The API reads the same database. The alert worker polls the API.

## Why a monolith

The team is three people and releases weekly; one deployable keeps releases and local development
simple. See docs/adr/0001-use-sqlite.md for the storage decision.
""",
    "docs/adr/0001-use-sqlite.md": """# 1. Use SQLite for stock storage

Date: 2024-03-02

## Status

Accepted

## Context

Stock data is small (under 100k rows) and written by a single importer process.

## Decision

We store stock levels in SQLite, accessed through SQLAlchemy Core in `src/inventory/storage.py`.

## Consequences

No database server to operate. Concurrent writers are not supported, so only the importer writes.
We rejected PostgreSQL because nobody on the team wanted to run it for 100k rows.
""",
    "docs/adr/0002-retry-supplier-imports.md": """# 2. Retry supplier imports with exponential backoff

Date: 2024-05-14

## Status

Accepted

## Context

Supplier endpoints fail transiently (HTTP 502/503) several times a day. A failed import left stock
levels stale for an hour until the next scheduled run.

## Decision

The importer retries each feed up to 5 times with exponential backoff (1s, 2s, 4s, 8s, 16s) and
jitter, then gives up and logs the feed as failed.

## Consequences

Imports recover from short outages. A feed that is down for good delays the run by ~31 seconds.
We rejected a message queue for retries as too much infrastructure for one importer.
""",
    "pyproject.toml": """[project]
name = "inventory"
version = "1.4.0"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "sqlalchemy>=2.0",
    "pydantic>=2.6",
    "httpx>=0.27",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff>=0.4"]

[project.scripts]
inventory-import = "inventory.importer:main"

[tool.ruff]
line-length = 100
""",
    "package.json": """{
  "name": "inventory-web",
  "version": "1.0.0",
  "main": "web/server.js",
  "engines": {"node": ">=20"},
  "dependencies": {
    "express": "^4.19.2"
  },
  "devDependencies": {
    "jest": "^29.7.0"
  }
}
""",
    "go.mod": """module example.com/inventory/alerts

go 1.22
""",
    "Dockerfile": """FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install .
CMD ["uvicorn", "inventory.api:app", "--host", "0.0.0.0"]
""",
    "docker-compose.yml": """services:
  api:
    build: .
    ports: ["8000:8000"]
  web:
    image: node:20-alpine
    command: node web/server.js
""",
    ".github/workflows/ci.yml": """name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install -e .[dev] && pytest
""",
    ".env.example": """INVENTORY_DB_PATH=./inventory.db
SUPPLIER_FEED_URL=https://feeds.example.com/stock.csv
IMPORT_MAX_RETRIES=5
""",
    ".env": f"""SUPPLIER_API_TOKEN={PLANTED_SECRETS[6]}
""",
    "src/inventory/__init__.py": '"""Inventory service."""\n',
    "src/inventory/importer.py": f'''"""Import supplier feeds into stock storage."""

import os
import random
import time

import httpx

from inventory.storage import StockStore

FEED_URL = os.environ.get("SUPPLIER_FEED_URL", "https://feeds.example.com/stock.csv")
MAX_RETRIES = int(os.getenv("IMPORT_MAX_RETRIES", "5"))
AWS_ACCESS_KEY_ID = "{PLANTED_SECRETS[0]}"
AWS_SECRET_ACCESS_KEY = "{PLANTED_SECRETS[1]}"


def fetch_feed(url: str) -> str:
    """Fetch one feed, retrying transient failures with exponential backoff and jitter."""
    delay = 1.0
    for attempt in range(MAX_RETRIES):
        try:
            response = httpx.get(url, timeout=30)
            response.raise_for_status()
            return response.text
        except httpx.HTTPError:
            if attempt == MAX_RETRIES - 1:
                raise
            time.sleep(delay + random.random())
            delay *= 2
    raise RuntimeError("unreachable")


def parse_rows(text: str) -> list[tuple[str, int]]:
    """Parse `sku,quantity` lines."""
    rows = []
    for line in text.splitlines()[1:]:
        sku, quantity = line.split(",")
        rows.append((sku.strip(), int(quantity)))
    return rows


def main() -> None:
    """Import the configured feed once."""
    store = StockStore(os.environ.get("INVENTORY_DB_PATH", "inventory.db"))
    store.write_levels(parse_rows(fetch_feed(FEED_URL)))


if __name__ == "__main__":
    main()
''',
    "src/inventory/storage.py": '''"""Stock storage on SQLite through SQLAlchemy Core."""

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

metadata = MetaData()
stock = Table(
    "stock",
    metadata,
    Column("sku", String, primary_key=True),
    Column("quantity", Integer, nullable=False),
)


class StockStore:
    """Reads and writes stock levels. Only the importer writes (SQLite has one writer)."""

    def __init__(self, path: str) -> None:
        self.engine = create_engine(f"sqlite:///{path}")
        metadata.create_all(self.engine)

    def write_levels(self, rows: list[tuple[str, int]]) -> None:
        """Replace stock levels in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(stock.delete())
            conn.execute(stock.insert(), [{"sku": s, "quantity": q} for s, q in rows])

    def level(self, sku: str) -> int | None:
        """Current quantity of one SKU."""
        with self.engine.connect() as conn:
            row = conn.execute(stock.select().where(stock.c.sku == sku)).first()
            return None if row is None else row.quantity
''',
    "src/inventory/api.py": f'''"""HTTP API for stock queries."""

import os

from fastapi import FastAPI, HTTPException

from inventory.storage import StockStore

app = FastAPI(title="Inventory")
store = StockStore(os.environ["INVENTORY_DB_PATH"])
ADMIN_PASSWORD = "{PLANTED_SECRETS[3]}"


@app.get("/stock/{{sku}}")
def get_stock(sku: str) -> dict[str, int | str]:
    """Current stock level of one SKU."""
    level = store.level(sku)
    if level is None:
        raise HTTPException(status_code=404, detail="unknown sku")
    return {{"sku": sku, "quantity": level}}
''',
    "web/server.js": f"""// Express front end: serves the dashboard and proxies stock queries to the API.
const express = require("express");

const app = express();
const API_URL = process.env.INVENTORY_API_URL || "http://localhost:8000";
const githubToken = "{PLANTED_SECRETS[2]}";

app.get("/stock/:sku", async (req, res) => {{
  const response = await fetch(`${{API_URL}}/stock/${{req.params.sku}}`);
  res.status(response.status).json(await response.json());
}});

app.listen(process.env.PORT || 3000);
""",
    "cmd/alerts/main.go": """// Command alerts polls the inventory API and reports SKUs below their threshold.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	apiURL := os.Getenv("INVENTORY_API_URL")
	for {
		fmt.Println("checking low stock at", apiURL)
		time.Sleep(5 * time.Minute)
	}
}
""",
    "config/settings.yaml": f"""database:
  path: ./inventory.db
openai_api_key: "{PLANTED_SECRETS[5]}"
""",
    "deploy/tls.key": "not read at all\n",
    "src/inventory/legacy_cert.py": f'''"""An embedded key that someone committed by mistake."""

PRIVATE_KEY = """-----BEGIN RSA PRIVATE KEY-----
{PLANTED_SECRETS[4]}
c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0
-----END RSA PRIVATE KEY-----"""
''',
    "tests/test_importer.py": """from inventory.importer import parse_rows


def test_parse_rows() -> None:
    assert parse_rows("sku,quantity\\nA1,3\\n") == [("A1", 3)]
""",
    "node_modules/left-pad/index.js": "module.exports = () => {};\n",
    "package-lock.json": "{}\n",
    "web/app.min.js": "var a=1;" * 100 + "\n",
}

# The importer as first written, before retries were added.
IMPORTER_V1 = '''"""Import supplier feeds into stock storage."""

import os

import httpx

from inventory.storage import StockStore

FEED_URL = os.environ.get("SUPPLIER_FEED_URL", "https://feeds.example.com/stock.csv")


def fetch_feed(url: str) -> str:
    """Fetch one feed."""
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    return response.text


def parse_rows(text: str) -> list[tuple[str, int]]:
    """Parse `sku,quantity` lines."""
    rows = []
    for line in text.splitlines()[1:]:
        sku, quantity = line.split(",")
        rows.append((sku.strip(), int(quantity)))
    return rows


def main() -> None:
    """Import the configured feed once."""
    store = StockStore(os.environ.get("INVENTORY_DB_PATH", "inventory.db"))
    store.write_levels(parse_rows(fetch_feed(FEED_URL)))
'''

# Files whose content at a given commit differs from FILES: {commit index: {path: content}}.
EARLIER_VERSIONS: dict[int, dict[str, str]] = {1: {"src/inventory/importer.py": IMPORTER_V1}}

# Commits in order: (message, files added or changed). Messages carry reasons, as real ones do.
COMMITS: list[tuple[str, list[str]]] = [
    (
        "Initial inventory service: importer, SQLite storage and API\n\n"
        "SQLite because the data is small and only the importer writes (ADR 0001).",
        [
            "README.md",
            "pyproject.toml",
            "src/inventory/__init__.py",
            "src/inventory/storage.py",
            "src/inventory/api.py",
            "docs/adr/0001-use-sqlite.md",
            "docs/architecture.md",
            ".env.example",
            "tests/test_importer.py",
            "config/settings.yaml",
            "src/inventory/legacy_cert.py",
        ],
    ),
    (
        "Add importer for supplier feeds",
        ["src/inventory/importer.py"],
    ),
    (
        "Add Express front end and Go alert worker",
        ["web/server.js", "package.json", "cmd/alerts/main.go", "go.mod", "web/app.min.js"],
    ),
    (
        "Retry supplier feeds with exponential backoff\n\n"
        "Supplier endpoints return 502/503 several times a day and a failed import left stock\n"
        "stale for an hour. Retry up to 5 times with backoff and jitter so short outages recover\n"
        "within the same run. A queue would be too much infrastructure for one importer (ADR 0002).",
        ["src/inventory/importer.py", "docs/adr/0002-retry-supplier-imports.md"],
    ),
    (
        "Package as one container with docker compose and add CI",
        ["Dockerfile", "docker-compose.yml", ".github/workflows/ci.yml"],
    ),
]

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dana Developer",
    "GIT_AUTHOR_EMAIL": "dana@example.com",
    "GIT_COMMITTER_NAME": "Dana Developer",
    "GIT_COMMITTER_EMAIL": "dana@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
}


def _git(root: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ, **_GIT_ENV}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write text files, creating folders."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def build(root: Path, *, git: bool = True, awkward: bool = True) -> Path:
    """Create the fixture repository at root and return it."""
    root.mkdir(parents=True, exist_ok=True)
    write_files(root, FILES)
    (root / ".gitignore").write_text("*.db\nbuild/\n", encoding="utf-8")
    if git:
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", ".gitignore", "node_modules", "package-lock.json", ".env")
        for n, (message, paths) in enumerate(COMMITS):
            write_files(root, {p: FILES[p] for p in paths})
            write_files(root, EARLIER_VERSIONS.get(n, {}))
            _git(root, "add", *paths)
            _git(root, "commit", "-q", "-m", message, date=f"2024-0{n + 1}-15T10:00:00+00:00")
    if awkward:
        add_awkward_files(root)
    return root


def add_awkward_files(root: Path) -> None:
    """A binary, a non-UTF-8 file, symlinks (loop, escaping, internal), a huge file, ignored output."""
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "logo.dat").write_bytes(bytes(range(256)) * 8)
    (root / "docs" / "legacy-notes.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("/etc/hostname", root / "escape-link")
    os.symlink("src/inventory/storage.py", root / "storage-link.py")
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "huge.sql").write_text(
        "INSERT INTO t VALUES (1);\n" * 60_000, encoding="utf-8"
    )
    (root / "build").mkdir(exist_ok=True)
    (root / "build" / "output.py").write_text("print('built')\n", encoding="utf-8")
