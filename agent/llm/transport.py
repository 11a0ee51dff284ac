"""Send one chat request and retry what is worth retrying: a busy or failing server (429, 5xx), a
refused connection, and one timeout. tenacity runs the loop; this module decides what is transient,
how long to wait, and which typed error a request that still failed becomes.

Not left to the openai SDK's own retries (`max_retries=0` on every client) because a run needs
three things the SDK does not give: a wait that ends at once when the run is cancelled, a dead
embedded server restarted between attempts, and a hung server tried twice, not `max_retries + 1`
times the timeout.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import RetryCallState, Retrying, retry_if_exception

from agent.base.errors import ModelNotConfiguredError, ModelUnavailableError
from agent.llm.http_errors import MAX_WAIT, retry_after, short
from agent.llm.settings import ModelSettings


class ModeRejected(Exception):
    """The endpoint refused the structured-output mode and the client fell back: rebuild the
    request in the new mode (never retried as it was)."""


@dataclass
class Hooks:
    """What the client lends the loop: how to wait, whether it was cancelled, what to do when the
    connection failed (restart a dead embedded server), and how to log a failure."""

    sleep: Callable[[float], None]
    check_cancelled: Callable[[], None]
    connection_failed: Callable[[], None]
    mode_rejected: Callable[[openai.APIStatusError], bool]
    failed: Callable[[Exception], None]


def backoff(attempt: int, exc: openai.APIStatusError | None) -> float:
    """The wait before the next attempt: what the endpoint asked for (at most MAX_WAIT), else
    exponential backoff with jitter."""
    after = retry_after(exc) if exc is not None else None
    if after is not None:
        return min(after, MAX_WAIT)
    return min(30.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


def send(create: Callable[[], Any], settings: ModelSettings, hooks: Hooks) -> Any:
    """`create()` until it answers; a fault that stays becomes ModelUnavailableError (or
    ModelNotConfiguredError for credentials and unknown models), logged once through the hooks."""
    timeouts = attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        hooks.check_cancelled()
        attempts += 1
        try:
            return create()
        except openai.APIStatusError as exc:
            if hooks.mode_rejected(exc):
                raise ModeRejected from exc
            raise
        except (openai.APITimeoutError, openai.APIConnectionError):
            hooks.connection_failed()
            raise

    def transient(exc: BaseException) -> bool:
        nonlocal timeouts
        if isinstance(exc, openai.APIStatusError):
            asked = retry_after(exc)
            busy = exc.status_code == 429 or exc.status_code >= 500
            return busy and (asked is None or asked <= MAX_WAIT)
        if isinstance(exc, openai.APITimeoutError):
            # A request that timed out once is tried once more, not max_retries times: a hung
            # server would otherwise cost (max_retries + 1) x timeout per call.
            timeouts += 1
            return timeouts <= 1
        return isinstance(exc, openai.APIConnectionError)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        status = exc if isinstance(exc, openai.APIStatusError) else None
        return backoff(state.attempt_number, status)

    retrying = Retrying(
        retry=retry_if_exception(transient),
        stop=lambda state: state.attempt_number > settings.max_retries,
        wait=wait,
        sleep=hooks.sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except openai.APIStatusError as exc:
        hooks.failed(exc)
        raise _status_error(exc, settings, attempts) from exc
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        hooks.failed(exc)
        raise _transport_error(exc, settings, attempts) from exc


def _status_error(
    exc: openai.APIStatusError, settings: ModelSettings, attempts: int
) -> ModelNotConfiguredError | ModelUnavailableError:
    answered: dict[str, Any] = {
        "status": exc.status_code,
        "body": short(exc),
        "retry_after": retry_after(exc),
    }
    if exc.status_code in (401, 403):
        return ModelNotConfiguredError(
            f"The endpoint refused the credentials ({exc.status_code}).",
            hint="Check OPENAI_API_KEY (or AZURE_OPENAI_API_KEY) for this endpoint.",
            **answered,
        )
    if exc.status_code == 404:
        return ModelNotConfiguredError(
            f"Model {settings.model!r} was not found at {settings.endpoint_id}.",
            hint="Set DOCAGENT_MODEL (or --model) to a model the endpoint serves.",
            **answered,
        )
    busy = exc.status_code == 429 or exc.status_code >= 500
    waited = answered["retry_after"]
    if busy and waited is not None and waited > MAX_WAIT:
        # Waiting hours for one call is no retry: say so now, with the wait asked.
        return ModelUnavailableError(
            f"The endpoint answered HTTP {exc.status_code} and asked to wait "
            f"{waited:.0f} s before retrying.",
            hint="Try again later, or use another endpoint.",
            attempts=attempts,
            **answered,
        )
    return ModelUnavailableError(
        f"The endpoint answered HTTP {exc.status_code} {'after retries' if busy else ''}: {short(exc)}",
        attempts=attempts,
        **answered,
    )


def _transport_error(
    exc: openai.APIConnectionError, settings: ModelSettings, attempts: int
) -> ModelUnavailableError:
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailableError(
            f"The endpoint {settings.endpoint_id} timed out: no answer "
            f"within {settings.timeout:g} s ({attempts} attempts).",
            hint="Raise --timeout (or DOCAGENT_TIMEOUT) for a slow server.",
            attempts=attempts,
        )
    return ModelUnavailableError(
        f"The endpoint {settings.endpoint_id} could not be reached after {attempts} attempts.",
        hint="Check OPENAI_BASE_URL and that the server is running.",
        attempts=attempts,
    )
