"""Every model call logged to SQLite; the same table is the response cache.

An identical request (model, messages, schema, parameters, structured-output mode) is answered from a
logged response that was valid (or cut off at the token limit) without a call; a reply that failed
validation, a refusal, a filtered or empty reply is logged with its error and never served again.
Requests are stored as sent (prompts are already redacted); credentials are never part of a request
body, so they never reach this file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.base.config import home
from agent.base.errors import CallLogError, UserInputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no per-request locks, runs may pay twice
    fcntl = None  # type: ignore[assignment]

# Seconds to wait for another process's write before giving up with a clear error.
BUSY_TIMEOUT = 10.0
# Lock files for in-flight requests: one per leading hash byte, so the folder stays small; two
# different requests that share one only wait for each other.
LOCK_STRIPES_HEX = 2

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

    def to_json(self, cost_usd: float | None) -> dict[str, object]:
        """One call as `docagent log --json` prints it (its cost at today's price, if known)."""
        return {
            "id": self.id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.ts)),
            "endpoint": self.endpoint,
            "model": self.model,
            "purpose": self.purpose,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_ms": round(self.latency_ms, 1),
            "cache_hit": self.cache_hit,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "cost_usd": cost_usd,
        }


@dataclass
class LogTotal:
    """Sums over the calls of one endpoint and model."""

    endpoint: str
    model: str
    calls: int
    cache_hits: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float


@dataclass
class LogFilter:
    """Which calls `docagent log` lists and sums."""

    since: float | None = None  # a Unix time
    model: str | None = None
    errors: bool = False

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        """A WHERE clause and its arguments."""
        parts: list[str] = []
        args: list[Any] = []
        if self.since is not None:
            parts.append("ts >= ?")
            args.append(self.since)
        if self.model is not None:
            parts.append("model = ?")
            args.append(self.model)
        if self.errors:
            parts.append("error IS NOT NULL")
        return ("WHERE " + " AND ".join(parts) if parts else ""), tuple(args)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> float:
    """`--since`: a duration back from now (`90m`, `2h`, `7d`, `1w`) or a local date or time
    (`2025-01-31`, `2025-01-31T14:00`), as a Unix time."""
    now = time.time() if now is None else now
    m = _DURATION.fullmatch(text.strip().lower())
    if m:
        return now - float(m.group(1)) * _SECONDS[m.group(2)]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UserInputError(
            f"--since {text!r}: expected a duration such as 2h or 7d, or a date such as 2025-01-31",
            hint="Units: s, m, h, d, w. Dates and times are ISO 8601, read in local time.",
        ) from None


class CallLog:
    """The SQLite call log and response cache (thread-safe)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "calls.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                self._db = self._open()
                break
            except sqlite3.OperationalError as exc:
                # Two runs creating the log at once: SQLite reports "locked" without waiting
                # while one of them switches it to WAL; the other tries again.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    with self._guard():
                        raise
                time.sleep(0.05)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT)
        try:
            with self._guard_corrupt():
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                # Take the write lock once now: a log another process holds fails here, before
                # any model call is paid for, not after the first answer.
                db.execute("BEGIN IMMEDIATE")
                db.rollback()
        except BaseException:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def _guard_corrupt(self) -> Iterator[None]:
        """A file that is not a database fails at once; "locked" is left to the caller."""
        try:
            yield
        except sqlite3.OperationalError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from None

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """SQLite's errors as one typed error that says what to do."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise CallLogError(
                    f"{self.path}: the call log is locked by another process "
                    f"(waited {BUSY_TIMEOUT:g} s).",
                    path=self.path,
                    hint="Wait for the other docagent run to finish, or set DOCAGENT_HOME to "
                    "another directory.",
                ) from None
            raise self._corrupt(exc) from None
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from None

    def _corrupt(self, exc: Exception) -> CallLogError:
        return CallLogError(
            f"{self.path}: the call log cannot be read ({exc}).",
            path=self.path,
            hint="It only holds the call log and response cache: move it aside (or delete it) "
            "and run again.",
        )

    def cached(self, key: str) -> dict[str, Any] | None:
        """The newest logged response for this request that may answer it again, if any."""
        with self._lock, self._guard():
            row = self._db.execute(
                "SELECT response, finish_reason, prompt_tokens, completion_tokens FROM calls "
                # A cut-off answer is what this request gets again (same max_tokens): served like a
                # valid one, so a re-run does not pay for it twice (the caller keeps its complete
                # part). Refusals, filtered and invalid replies carry an error and are asked anew.
                "WHERE request_hash = ? AND response IS NOT NULL AND cache_hit = 0 "
                "AND (error IS NULL OR error = 'finish_reason=length') "
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
    ) -> int:
        """Append one call (or cache hit) to the log; its row id."""
        with self._lock, self._guard():
            cursor = self._db.execute(
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
            return int(cursor.lastrowid or 0)

    def mark_invalid(self, call_id: int, error: str) -> None:
        """Record that a logged reply failed validation: it is never served from the cache."""
        with self._lock, self._guard():
            self._db.execute("UPDATE calls SET error = ? WHERE id = ?", (error[:2000], call_id))
            self._db.commit()

    @contextlib.contextmanager
    def claim(
        self, key: str, *, wait: float, stop: Callable[[], bool] = lambda: False
    ) -> Iterator[bool]:
        """Hold the lock of one request hash while it is paid for, so two runs sharing this call
        log never both pay for the same request: the second waits, then finds the answer cached.

        The OS releases the lock when its holder dies. Yields whether the lock is held: after `wait`
        seconds (a holder that hangs) or when `stop()` says so, the caller goes on without it."""
        if fcntl is None:
            yield False
            return
        folder = self.path.parent / "locks"
        folder.mkdir(exist_ok=True)
        with open(folder / f"{key[:LOCK_STRIPES_HEX]}.lock", "a+b") as handle:
            deadline = time.monotonic() + wait
            held = False
            while not stop():
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                    continue
                held = True
                break
            try:
                yield held
            finally:
                if held:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def recent(self, limit: int = 20, where: LogFilter | None = None) -> list[LoggedCall]:
        """The newest calls first (those `where` selects)."""
        clause, args = (where or LogFilter()).sql()
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT id, ts, endpoint, model, prompt_tokens, completion_tokens, latency_ms, cache_hit, "
                f"error, purpose, finish_reason FROM calls {clause} ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [
            LoggedCall(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], r[10])
            for r in rows
        ]

    def totals(self, where: LogFilter | None = None) -> list[LogTotal]:
        """Calls, cache hits, errors and tokens of every call `where` selects, per endpoint and model."""
        clause, args = (where or LogFilter()).sql()
        with self._lock, self._guard():
            rows = self._db.execute(
                "SELECT endpoint, model, SUM(cache_hit = 0), SUM(cache_hit), SUM(error IS NOT NULL), "
                "SUM(prompt_tokens), SUM(completion_tokens), SUM(latency_ms) "
                f"FROM calls {clause} GROUP BY endpoint, model ORDER BY MIN(id)",
                args,
            ).fetchall()
        return [
            LogTotal(r[0], r[1], r[2] or 0, r[3] or 0, r[4] or 0, r[5] or 0, r[6] or 0, r[7] or 0.0)
            for r in rows
        ]

    def get(self, call_id: int) -> dict[str, Any] | None:
        """One call with its request and response."""
        with self._lock, self._guard():
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
