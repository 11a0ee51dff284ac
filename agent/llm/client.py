"""Talk to any OpenAI-compatible endpoint and get validated Pydantic objects back, or a typed error.

One `ModelClient` per run: it resolves the endpoint (or starts the embedded model), checks it with one
tiny preflight call before the first paid one, sends structured requests in the form the backend
accepts, re-asks on validation errors, retries transport faults, answers repeated requests from the
SQLite cache (valid answers only), logs every call, enforces a token budget, and stops at once when
cancelled.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from agent.base.errors import (
    EndpointCheckError,
    ModelCancelledError,
    ModelContentFilterError,
    ModelRefusalError,
    ModelTruncatedError,
    ModelValidationError,
)
from agent.llm import costs, transport
from agent.llm.calllog import CallLog, request_hash
from agent.llm.http_errors import error_text
from agent.llm.json_repair import parse_json
from agent.llm.json_schema import strict_json_schema
from agent.llm.ledger import Accept, Ledger
from agent.llm.local_model import EmbeddedServer
from agent.llm.preflight import Preflight
from agent.llm.profile import first_mode, needs_preflight
from agent.llm.request import (
    FALLBACK,
    REASK,
    Message,
    build_request,
    estimate_tokens,
    format_refused,
)
from agent.llm.settings import ModelSettings, StructuredMode
from agent.llm.usage import Completion, Reply, Spent, TokenBudget, Usage

T = TypeVar("T", bound=BaseModel)

# Connecting takes milliseconds when the server is up; waiting longer only hides a dead endpoint.
CONNECT_TIMEOUT = 10.0


class ModelClient(Preflight):
    """Structured completions against one endpoint. Use as a context manager to stop the embedded server."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        log: CallLog | None = None,
        client: openai.OpenAI | None = None,
        sleep: Callable[[float], None] | None = None,
        server: EmbeddedServer | None = None,
    ) -> None:
        self.settings = settings
        self.log = log or CallLog()
        self.usage = Usage()
        self.ledger = Ledger(settings, self.log, self.usage)
        self._client = client
        self._cancelled = threading.Event()
        # Backoff waits end early on cancel (tests pass their own sleep to record the waits).
        self._sleep = sleep or self._cancellable_sleep
        # The embedded server, started on first use (or given: a test's stand-in that can die).
        self._server: EmbeddedServer | None = server
        self._mode = first_mode(settings)
        self._gate = threading.Semaphore(settings.max_concurrency)
        self._mode_lock = threading.Lock()
        self._budget = TokenBudget(settings.token_budget, self.usage)
        self._check_lock = threading.Lock()
        self._checked = not needs_preflight(settings)
        self._check_error: EndpointCheckError | None = None

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the embedded server if this client started one."""
        if self._server is not None:
            self._server.stop()

    def cancel(self) -> None:
        """Stop at once: nothing more is sent, backoff waits end, every later call raises
        ModelCancelledError (a request already in flight is abandoned by its caller)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._cancelled.is_set()

    def _cancellable_sleep(self, seconds: float) -> None:
        self._cancelled.wait(seconds)

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise ModelCancelledError("The run was interrupted; the call was not sent.")

    @property
    def mode(self) -> StructuredMode:
        """The structured-output mode in use (AUTO until probed for unknown endpoints)."""
        return self._mode

    def client(self) -> openai.OpenAI:
        """The openai client, starting the embedded server on first use."""
        if self._client is not None:
            return self._client
        s = self.settings
        timeout = openai.Timeout(s.timeout, connect=min(s.timeout, CONNECT_TIMEOUT))
        if s.embedded:
            self._server = self._server or EmbeddedServer(s.model)
            url = self._server.start()
            self._client = self._embedded_client(url)
        elif s.azure_endpoint:
            self._client = openai.AzureOpenAI(
                azure_endpoint=s.azure_endpoint,
                api_key=s.api_key,
                api_version=s.azure_api_version,
                max_retries=0,
                timeout=timeout,
            )
        else:
            self._client = openai.OpenAI(
                base_url=s.base_url,
                api_key=s.api_key or "not-needed",
                max_retries=0,
                timeout=timeout,
            )
        return self._client

    def _embedded_client(self, url: str) -> openai.OpenAI:
        """The client for the embedded server at url (a seam for tests of restarts)."""
        return openai.OpenAI(
            base_url=url, api_key="embedded", max_retries=0, timeout=self.settings.timeout
        )

    def model_name(self) -> str:
        """The model name sent to the endpoint."""
        if self.settings.embedded and self._server is not None:
            return self._server.alias
        return self.settings.model

    # --- estimates and budget ---

    def estimate(self, messages: list[Message], response_model: type[BaseModel]) -> int:
        """Prompt tokens this request will cost, counted before sending."""
        return estimate_tokens(messages, strict_json_schema(response_model), self._mode)

    def rate(self) -> costs.Rate | None:
        """The price of this model at this endpoint (see `costs.rate`)."""
        return costs.rate(self.settings.endpoint_id, self.settings.model)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for these tokens, or None when the price is not known."""
        found = self.rate()
        return None if found is None else found.usd(prompt_tokens, completion_tokens)

    # --- the structured call ---

    def complete(
        self,
        messages: list[Message],
        response_model: type[T],
        *,
        max_tokens: int = 1024,
        purpose: str | None = None,
    ) -> Completion[T]:
        """Ask for one `response_model` object; re-ask on validation errors; raise typed errors."""
        schema = strict_json_schema(response_model, bounds=True)
        convo = list(messages)
        spent_prompt = spent_completion = 0
        last_error = ""

        def accept(content: str, finish: str | None) -> str | None:
            # A cut-off answer is served again (its complete part is kept by the caller); anything
            # else must validate, so an invalid, refused or empty reply is never replayed.
            if finish == "length":
                return None
            if finish not in ("stop", "tool_calls", None):
                return f"finish_reason={finish}"
            try:
                response_model.model_validate(parse_json(content))
            except (ValueError, ValidationError) as exc:
                return f"invalid: {error_text(exc)}"
            return None

        for attempt in range(1, self.settings.max_reasks + 2):
            reply = self._call(convo, schema, response_model.__name__, max_tokens, purpose, accept)
            content, finish = reply.content, reply.finish
            spent_prompt += reply.prompt_tokens
            spent_completion += reply.completion_tokens
            spent = Spent(attempt, spent_prompt, spent_completion)
            if finish == "length":
                raise ModelTruncatedError(
                    f"The answer was cut off at {max_tokens} tokens.",
                    hint="The section may be too large for this model; try fewer fields per call.",
                    partial=content,
                    **spent.kwargs(),
                )
            if finish == "content_filter":
                raise ModelContentFilterError(
                    "The provider's content filter stopped the answer.", **spent.kwargs()
                )
            if finish == "refusal":
                raise ModelRefusalError(f"The model refused: {content[:300]}", **spent.kwargs())
            try:
                value = response_model.model_validate(parse_json(content))
            except (ValueError, ValidationError) as exc:
                last_error = error_text(exc)
                convo = [
                    *convo,
                    {"role": "assistant", "content": content[:6000]},
                    {"role": "user", "content": REASK.format(error=last_error)},
                ]
                continue
            return Completion(
                value, attempt, reply.cache_hit and attempt == 1, spent_prompt, spent_completion
            )
        raise ModelValidationError(
            f"The answer did not fit the schema after {self.settings.max_reasks + 1} attempts: {last_error[:500]}",
            last_error=last_error,
            attempts=self.settings.max_reasks + 1,
            prompt_tokens=spent_prompt,
            completion_tokens=spent_completion,
        )

    def _call(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        name: str,
        max_tokens: int,
        purpose: str | None,
        accept: Accept,
    ) -> Reply:
        """One request: from the cache when a valid answer is logged, else sent (once per request
        hash across every run sharing the call log)."""
        while True:
            self._check_cancelled()
            mode = self._mode
            request = build_request(self.settings, messages, schema, name, max_tokens, mode)
            key = request_hash({"endpoint": self.settings.endpoint_id, **request})
            cached = self.ledger.cached(key, request, purpose, accept)
            if cached is None and mode is StructuredMode.AUTO and not self._checked:
                cached = self._from_cache_in_any_mode(
                    messages, schema, name, max_tokens, purpose, accept
                )
            if cached is not None:
                return cached
            self._ensure_checked()
            if self._mode is not mode:
                continue  # the preflight (or another call) settled another mode: rebuild
            estimate = estimate_tokens(messages, schema, self._mode) + max_tokens // 4
            self._budget.reserve(estimate)
            try:
                with self._claim(key):
                    # Another run may have paid for this request while this one waited.
                    cached = self.ledger.cached(key, request, purpose, accept)
                    if cached is not None:
                        return cached
                    reply = self._send(request, key, purpose, max_tokens, mode)
                    rejected = accept(reply.content, reply.finish)
                    if rejected is not None and reply.row:
                        self.log.mark_invalid(reply.row, rejected)
            except transport.ModeRejected:
                continue  # the mode fell back; build the request again
            finally:
                self._budget.release(estimate)
            return reply

    def _from_cache_in_any_mode(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        name: str,
        max_tokens: int,
        purpose: str | None,
        accept: Accept,
    ) -> Reply | None:
        """AUTO mode before the preflight: an answer logged in a fallback mode shows this endpoint
        takes that mode, so a cached re-run needs neither a preflight nor a call."""
        for mode in (StructuredMode.JSON_OBJECT, StructuredMode.PROMPT):
            request = build_request(self.settings, messages, schema, name, max_tokens, mode)
            key = request_hash({"endpoint": self.settings.endpoint_id, **request})
            cached = self.ledger.cached(key, request, purpose, accept)
            if cached is not None:
                self._mode = mode
                return cached
        return None

    @contextlib.contextmanager
    def _claim(self, key: str) -> Iterator[None]:
        """The per-request lock of the call log (only when answers are shared through the cache)."""
        if not self.settings.use_cache:
            yield
            return
        # Wait no longer than the holder may take for its request and one retry.
        wait = 2 * self.settings.timeout + 30
        with self.log.claim(key, wait=wait, stop=self._cancelled.is_set):
            self._check_cancelled()
            yield

    def _send(
        self,
        request: dict[str, Any],
        key: str,
        purpose: str | None,
        max_tokens: int,
        mode: StructuredMode,
    ) -> Reply:
        def create() -> Any:
            with self._gate:
                self._check_cancelled()
                sent = dict(request, model=self.model_name())
                return self.client().chat.completions.create(**sent)

        def connection_failed() -> None:
            # The one-time restart of a dead embedded server; the next attempt reconnects.
            if self._server is not None and not self._server.alive():
                self._server.restart()
                self._client = None

        hooks = transport.Hooks(
            sleep=self._sleep,
            check_cancelled=self._check_cancelled,
            connection_failed=connection_failed,
            mode_rejected=lambda exc: self._mode_rejected(exc, mode),
            failed=lambda exc: self.ledger.failed(request, key, purpose, exc),
        )
        started = time.perf_counter()
        response = transport.send(create, self.settings, hooks)
        seconds = time.perf_counter() - started
        self._check_cancelled()
        return self.ledger.received(request, key, purpose, max_tokens, response, seconds)

    def _ensure_checked(self) -> None:
        """Run the preflight once, before the first request that is paid for (never when every
        answer comes from the cache); every caller after a failed check gets the same error."""
        if self._checked:
            return
        with self._check_lock:
            if not self._checked and self._check_error is None:
                try:
                    self.preflight()
                except EndpointCheckError as exc:
                    self._check_error = exc
                else:
                    self._checked = True
        if self._check_error is not None:
            raise EndpointCheckError(
                self._check_error.message,
                cause=self._check_error.cause,
                hint=self._check_error.hint,
            )

    def _mode_rejected(self, exc: openai.APIStatusError, sent: StructuredMode) -> bool:
        """A backend that does not accept our response_format: fall back one mode (AUTO only)
        from the one the request was `sent` in (another call may have fallen back already)."""
        if self.settings.mode is not StructuredMode.AUTO or exc.status_code not in (400, 422, 500):
            return False
        if not format_refused(exc):
            return False
        with self._mode_lock:
            if self._mode is not sent:
                return True  # already fell back: rebuild the request in the current mode
            current = sent if sent is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
            if current is StructuredMode.PROMPT:
                return False
            self._mode = FALLBACK[FALLBACK.index(current) + 1]
            return True
