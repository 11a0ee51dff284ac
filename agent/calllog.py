"""Every model call logged to SQLite; the same table is the response cache.

An identical request (model, messages, schema, parameters, structured-output mode) is answered from a
logged successful response without a call. Requests are stored as sent (prompts are already
redacted); credentials are never part of a request body, so they never reach this file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import home

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER DEFAULT 0,
    completion_tokens INTEGER DEFAULT 0,
    latency_ms REAL DEFAULT 0,
    cache_hit INTEGER DEFAULT 0,
    error TEXT,
    purpose TEXT
);
CREATE INDEX IF NOT EXISTS calls_hash ON calls(request_hash);
"""


def request_hash(payload: dict[str, Any]) -> str:
    """Stable hash of what decides the answer."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class LoggedCall:
    """One row of the log."""

    id: int
    ts: float
    endpoint: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cache_hit: bool
    error: str | None
    purpose: str | None
    finish_reason: str | None


class CallLog:
    """The SQLite call log and response cache (thread-safe)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "calls.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def cached(self, key: str) -> dict[str, Any] | None:
        """The newest successful response for this request, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT response, finish_reason, prompt_tokens, completion_tokens FROM calls "
                # A truncated or filtered answer is what this request gets too: cached like the rest,
                # so a re-run does not pay for it again (the caller raises the same typed error).
                "WHERE request_hash = ? AND response IS NOT NULL AND cache_hit = 0 "
                "AND (error IS NULL OR error LIKE 'finish_reason=%') "
                "ORDER BY id DESC LIMIT 1",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return {
            "content": row[0],
            "finish_reason": row[1],
            "prompt_tokens": row[2],
            "completion_tokens": row[3],
        }

    def record(
        self,
        *,
        endpoint: str,
        model: str,
        key: str,
        request: dict[str, Any],
        response: str | None,
        finish_reason: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        latency_ms: float = 0.0,
        cache_hit: bool = False,
        error: str | None = None,
        purpose: str | None = None,
    ) -> None:
        """Append one call (or cache hit) to the log."""
        with self._lock:
            self._db.execute(
                "INSERT INTO calls (ts, endpoint, model, request_hash, request, response, finish_reason, "
                "prompt_tokens, completion_tokens, latency_ms, cache_hit, error, purpose) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    time.time(),
                    endpoint,
                    model,
                    key,
                    json.dumps(request, ensure_ascii=False),
                    response,
                    finish_reason,
                    prompt_tokens,
                    completion_tokens,
                    latency_ms,
                    int(cache_hit),
                    error,
                    purpose,
                ),
            )
            self._db.commit()

    def recent(self, limit: int = 20) -> list[LoggedCall]:
        """The newest calls first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ts, endpoint, model, prompt_tokens, completion_tokens, latency_ms, cache_hit, "
                "error, purpose, finish_reason FROM calls ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            LoggedCall(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], r[10])
            for r in rows
        ]

    def get(self, call_id: int) -> dict[str, Any] | None:
        """One call with its request and response."""
        with self._lock:
            row = self._db.execute(
                "SELECT request, response, error FROM calls WHERE id = ?", (call_id,)
            ).fetchone()
        if row is None:
            return None
        return {"request": json.loads(row[0]), "response": row[1], "error": row[2]}

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
