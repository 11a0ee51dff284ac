"""What calls cost: running totals, a validated answer with its cost, one reply as sent or served,
and the token budget a run may not pass."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from agent.base.errors import BudgetExceededError

T = TypeVar("T", bound=BaseModel)


@dataclass
class Usage:
    """Tokens and calls spent (thread-safe running totals)."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, prompt: int, completion: int, seconds: float, cache_hit: bool) -> None:
        """Account for one call or cache hit."""
        with self._lock:
            if cache_hit:
                self.cache_hits += 1
            else:
                self.calls += 1
                self.prompt_tokens += prompt
                self.completion_tokens += completion
                self.model_seconds += seconds

    def failed(self) -> None:
        """Account for a request that got no usable answer."""
        with self._lock:
            self.failures += 1


@dataclass
class Completion(Generic[T]):
    """A validated answer and what it cost."""

    value: T
    attempts: int
    cache_hit: bool
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Reply:
    """One answer as sent or served: its text, why it ended, its cost and its row in the log."""

    content: str
    finish: str | None
    prompt_tokens: int
    completion_tokens: int
    cache_hit: bool
    row: int = 0


@dataclass
class Spent:
    attempts: int
    prompt_tokens: int
    completion_tokens: int

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of a typed error."""
        return {
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class TokenBudget:
    """The run's token budget: a call reserves its estimate before it is sent, so concurrent calls
    cannot overrun the budget together."""

    def __init__(self, limit: int | None, usage: Usage) -> None:
        self.limit = limit
        self.usage = usage
        self._reserved = 0
        self._lock = threading.Lock()

    def reserve(self, estimate: int) -> None:
        """Hold `estimate` tokens for a call, or raise BudgetExceededError."""
        if self.limit is None:
            return
        with self._lock:
            spent = self.usage.prompt_tokens + self.usage.completion_tokens
            if spent + self._reserved + estimate > self.limit:
                raise BudgetExceededError(
                    f"Token budget of {self.limit:,} reached ({spent:,} spent; the next call needs ~{estimate:,}).",
                    hint="Raise it with --token-budget, or fill fewer sections with --sections.",
                    prompt_tokens=self.usage.prompt_tokens,
                    completion_tokens=self.usage.completion_tokens,
                )
            self._reserved += estimate

    def release(self, estimate: int) -> None:
        """The call is done: its tokens are in `usage` now, or were never spent."""
        if self.limit is not None:
            with self._lock:
                self._reserved -= estimate
