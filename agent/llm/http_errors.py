"""What a failed model request says: its validation errors as text, the innermost cause of a
transport error, the wait a Retry-After header asks for, a bounded message."""

from __future__ import annotations

import datetime as dt
import email.utils
import math

import openai
from pydantic import ValidationError

# The longest Retry-After a call waits out; a longer one fails the call at once.
MAX_WAIT = 120.0


def error_text(exc: Exception) -> str:
    """A validation error as a list of what is wrong, for a re-ask."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:8]:
            loc = ".".join(str(p) for p in err["loc"]) or "(root)"
            parts.append(f"- {loc}: {err['msg']}")
        return "\n".join(parts)
    return f"- not valid JSON: {exc}"


def cause(exc: Exception) -> str:
    """The innermost reason of a transport error, e.g. 'Connection refused'."""
    inner: BaseException = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    text = str(inner).split("] ")[-1].strip()
    return text[:120] or type(inner).__name__


def retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the endpoint asked to wait: `retry-after-ms`, else `Retry-After` in seconds or as an
    HTTP date; None when it did not say (or said something that is no wait: negative, not a
    number)."""
    headers = exc.response.headers if exc.response is not None else {}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            seconds = _http_date_seconds(value) if scale == 1.0 else math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _http_date_seconds(value: str) -> float:
    """Seconds from now until an HTTP date (a date without a zone is UTC); NaN if unreadable."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return math.nan
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def short(exc: Exception) -> str:
    """The error's message, at most ~400 characters."""
    text = str(exc)
    return text if len(text) < 400 else text[:400] + "..."
