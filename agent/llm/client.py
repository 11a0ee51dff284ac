"""Talk to any OpenAI-compatible endpoint and get validated Pydantic objects back, or a typed error.

One `ModelClient` per run: it resolves the endpoint (or starts the embedded model), checks it with one
tiny preflight call before the first paid one, sends structured requests in the form the backend
accepts, re-asks on validation errors, retries transport faults, answers repeated requests from the
SQLite cache (valid answers only), logs every call, enforces a token budget, and stops at once when
cancelled.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.base import tokens
from agent.base.errors import (
    BudgetExceededError,
    EndpointCheckError,
    ModelBadReplyError,
    ModelCancelledError,
    ModelContentFilterError,
    ModelNotConfiguredError,
    ModelRefusalError,
    ModelTruncatedError,
    ModelUnavailableError,
    ModelValidationError,
)
from agent.llm import costs, prompts
from agent.llm.calllog import CallLog, request_hash
from agent.llm.http_errors import MAX_WAIT, cause, error_text, retry_after, short
from agent.llm.json_repair import parse_json
from agent.llm.json_schema import strict_json_schema, strip_bounds
from agent.llm.local_model import EmbeddedServer
from agent.llm.settings import ModelSettings, StructuredMode

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]

# Connecting takes milliseconds when the server is up; waiting longer only hides a dead endpoint.
CONNECT_TIMEOUT = 10.0
# A reply is text the model generated within max_tokens: even at 32 characters a token, anything
# larger is not an answer (a broken proxy, a server that ignores max_tokens) and is not kept.
CHARS_PER_TOKEN_LIMIT = 32
MIN_REPLY_LIMIT = 65_536


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


@dataclass
class Completion(Generic[T]):
    """A validated answer and what it cost."""

    value: T
    attempts: int
    cache_hit: bool
    prompt_tokens: int
    completion_tokens: int


class _Check(BaseModel):
    """The preflight's answer: the smallest structured object a model can give."""

    model_config = ConfigDict(extra="forbid")
    ok: bool = Field(description="Always true.")


# Enough for `{"ok": true}` in any tokenizer, with room for a model that adds whitespace.
PREFLIGHT_TOKENS = 24


@dataclass
class _Reply:
    """One answer as sent or served: its text, why it ended, its cost and its row in the log."""

    content: str
    finish: str | None
    prompt_tokens: int
    completion_tokens: int
    cache_hit: bool
    row: int = 0


# Whether a reply may answer its request (None) or why not: it failed validation, was refused...
Accept = Callable[[str, str | None], str | None]


class ModelClient:
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
        self._client = client
        self._cancelled = threading.Event()
        # Backoff waits end early on cancel (tests pass their own sleep to record the waits).
        self._sleep = sleep or self._cancellable_sleep
        # The embedded server, started on first use (or given: a test's stand-in that can die).
        self._server: EmbeddedServer | None = server
        self._mode = settings.mode
        if self._mode is StructuredMode.AUTO:
            if settings.embedded:
                self._mode = StructuredMode.JSON_OBJECT
            elif not settings.base_url:
                self._mode = StructuredMode.JSON_SCHEMA
        self._gate = threading.Semaphore(settings.max_concurrency)
        self._mode_lock = threading.Lock()
        self._budget_lock = threading.Lock()
        self._reserved = 0
        self._check_lock = threading.Lock()
        self._checked = not settings.preflight or settings.embedded
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
        return self._estimate(messages, strict_json_schema(response_model))

    def _estimate(self, messages: list[Message], schema: dict[str, Any]) -> int:
        text = "\n".join(m["content"] for m in messages)
        # Only prompt mode sends the schema as text; grammar modes cost a little for the format.
        schema_tokens = tokens.count(json.dumps(schema))
        extra = schema_tokens if self._mode is StructuredMode.PROMPT else schema_tokens // 10
        return tokens.count(text) + extra + 4 * len(messages)

    def rate(self) -> costs.Rate | None:
        """The price of this model at this endpoint (see `costs.rate`)."""
        return costs.rate(self.settings.endpoint_id, self.settings.model)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for these tokens, or None when the price is not known."""
        found = self.rate()
        return None if found is None else found.usd(prompt_tokens, completion_tokens)

    def _reserve(self, estimate: int) -> None:
        budget = self.settings.token_budget
        if budget is None:
            return
        with self._budget_lock:
            spent = self.usage.prompt_tokens + self.usage.completion_tokens
            if spent + self._reserved + estimate > budget:
                raise BudgetExceededError(
                    f"Token budget of {budget:,} reached ({spent:,} spent; the next call needs ~{estimate:,}).",
                    hint="Raise it with --token-budget, or fill fewer sections with --sections.",
                    prompt_tokens=self.usage.prompt_tokens,
                    completion_tokens=self.usage.completion_tokens,
                )
            self._reserved += estimate

    def _release(self, estimate: int) -> None:
        if self.settings.token_budget is not None:
            with self._budget_lock:
                self._reserved -= estimate

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
            spent = _Spent(attempt, spent_prompt, spent_completion)
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

    def _request(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        name: str,
        max_tokens: int,
        mode: StructuredMode | None = None,
    ) -> dict[str, Any]:
        mode = mode or self._mode
        mode = mode if mode is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens,
        }
        if self.settings.seed is not None:
            request["seed"] = self.settings.seed
        if mode is StructuredMode.JSON_SCHEMA:
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": re.sub(r"\W", "_", name)[:64],
                    "schema": strip_bounds(schema),
                    "strict": True,
                },
            }
        elif mode is StructuredMode.JSON_OBJECT:
            request["response_format"] = {"type": "json_object", "schema": schema}
        else:
            note = {"role": "system", "content": SCHEMA_IN_PROMPT.format(schema=json.dumps(schema))}
            request["messages"] = [note, *messages]
        return request

    def _call(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        name: str,
        max_tokens: int,
        purpose: str | None,
        accept: Accept,
    ) -> _Reply:
        """One request: from the cache when a valid answer is logged, else sent (once per request
        hash across every run sharing the call log)."""
        while True:
            self._check_cancelled()
            mode = self._mode
            request = self._request(messages, schema, name, max_tokens, mode)
            key = request_hash({"endpoint": self.settings.endpoint_id, **request})
            cached = self._from_cache(key, request, purpose, accept)
            if cached is None and mode is StructuredMode.AUTO and not self._checked:
                cached = self._from_cache_in_any_mode(
                    messages, schema, name, max_tokens, purpose, accept
                )
            if cached is not None:
                return cached
            self._ensure_checked()
            if self._mode is not mode:
                continue  # the preflight (or another call) settled another mode: rebuild
            estimate = self._estimate(messages, schema) + max_tokens // 4
            self._reserve(estimate)
            try:
                with self._claim(key):
                    # Another run may have paid for this request while this one waited.
                    cached = self._from_cache(key, request, purpose, accept)
                    if cached is not None:
                        return cached
                    reply = self._send(request, key, purpose, max_tokens, mode)
                    rejected = accept(reply.content, reply.finish)
                    if rejected is not None and reply.row:
                        self.log.mark_invalid(reply.row, rejected)
            except _ModeRejected:
                continue  # the mode fell back; build the request again
            finally:
                self._release(estimate)
            return reply

    def _from_cache(
        self, key: str, request: dict[str, Any], purpose: str | None, accept: Accept
    ) -> _Reply | None:
        if not self.settings.use_cache:
            return None
        cached = self.log.cached(key)
        # Rows logged before invalid replies were marked are checked again here.
        if cached is None or accept(cached["content"], cached["finish_reason"]) is not None:
            return None
        self.log.record(
            endpoint=self.settings.endpoint_id,
            model=self.settings.model,
            key=key,
            request=request,
            response=cached["content"],
            finish_reason=cached["finish_reason"],
            cache_hit=True,
            purpose=purpose,
        )
        self.usage.add(prompt=0, completion=0, seconds=0, cache_hit=True)
        return _Reply(cached["content"], cached["finish_reason"], 0, 0, True)

    def _from_cache_in_any_mode(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        name: str,
        max_tokens: int,
        purpose: str | None,
        accept: Accept,
    ) -> _Reply | None:
        """AUTO mode before the preflight: an answer logged in a fallback mode shows this endpoint
        takes that mode, so a cached re-run needs neither a preflight nor a call."""
        for mode in (StructuredMode.JSON_OBJECT, StructuredMode.PROMPT):
            request = self._request(messages, schema, name, max_tokens, mode)
            key = request_hash({"endpoint": self.settings.endpoint_id, **request})
            cached = self._from_cache(key, request, purpose, accept)
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
    ) -> _Reply:
        attempts = timeouts = 0
        while True:
            self._check_cancelled()
            attempts += 1
            started = time.perf_counter()
            try:
                with self._gate:
                    self._check_cancelled()
                    sent = dict(request, model=self.model_name())
                    response = self.client().chat.completions.create(**sent)
            except openai.APIStatusError as exc:
                if self._mode_rejected(exc, mode):
                    raise _ModeRejected from exc
                answered = _Answered(exc.status_code, short(exc), retry_after(exc))
                if exc.status_code in (401, 403):
                    self._fail(request, key, purpose, exc)
                    raise ModelNotConfiguredError(
                        f"The endpoint refused the credentials ({exc.status_code}).",
                        hint="Check OPENAI_API_KEY (or AZURE_OPENAI_API_KEY) for this endpoint.",
                        **answered.kwargs(),
                    ) from exc
                if exc.status_code == 404:
                    self._fail(request, key, purpose, exc)
                    raise ModelNotConfiguredError(
                        f"Model {self.settings.model!r} was not found at {self.settings.endpoint_id}.",
                        hint="Set DOCAGENT_MODEL (or --model) to a model the endpoint serves.",
                        **answered.kwargs(),
                    ) from exc
                retry = exc.status_code == 429 or exc.status_code >= 500
                if not retry or attempts > self.settings.max_retries:
                    self._fail(request, key, purpose, exc)
                    raise ModelUnavailableError(
                        f"The endpoint answered HTTP {exc.status_code} {'after retries' if retry else ''}: {short(exc)}",
                        attempts=attempts,
                        **answered.kwargs(),
                    ) from exc
                if answered.retry_after is not None and answered.retry_after > MAX_WAIT:
                    # Waiting hours for one call is no retry: say so now, with the wait asked.
                    self._fail(request, key, purpose, exc)
                    raise ModelUnavailableError(
                        f"The endpoint answered HTTP {exc.status_code} and asked to wait "
                        f"{answered.retry_after:.0f} s before retrying.",
                        hint="Try again later, or use another endpoint.",
                        attempts=attempts,
                        **answered.kwargs(),
                    ) from exc
                self._sleep(self._backoff(attempts, exc))
                continue
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if self._server is not None and not self._server.alive():
                    self._server.restart()
                    self._client = None
                timed_out = isinstance(exc, openai.APITimeoutError)
                timeouts += timed_out
                # A request that timed out once is tried once more, not max_retries times: a hung
                # server would otherwise cost (max_retries + 1) x timeout per call.
                if attempts > self.settings.max_retries or timeouts > 1:
                    self._fail(request, key, purpose, exc)
                    if timed_out:
                        raise ModelUnavailableError(
                            f"The endpoint {self.settings.endpoint_id} timed out: no answer "
                            f"within {self.settings.timeout:g} s ({attempts} attempts).",
                            hint="Raise --timeout (or DOCAGENT_TIMEOUT) for a slow server.",
                            attempts=attempts,
                        ) from exc
                    raise ModelUnavailableError(
                        f"The endpoint {self.settings.endpoint_id} could not be reached after {attempts} attempts.",
                        hint="Check OPENAI_BASE_URL and that the server is running.",
                        attempts=attempts,
                    ) from exc
                self._sleep(self._backoff(attempts, None))
                continue
            seconds = time.perf_counter() - started
            self._check_cancelled()
            return self._received(request, key, purpose, max_tokens, response, seconds)

    def _received(
        self,
        request: dict[str, Any],
        key: str,
        purpose: str | None,
        max_tokens: int,
        response: Any,
        seconds: float,
    ) -> _Reply:
        """Log and account for a response; an empty or oversized one is a typed error."""
        usage = response.usage
        if not response.choices:
            self._fail(request, key, purpose, None, "empty reply: no choices")
            raise ModelBadReplyError(
                "The endpoint answered with no choices (an empty reply).",
                hint="Check that the endpoint serves chat completions for this model.",
            )
        choice = response.choices[0]
        message = choice.message
        content = message.content or ""
        finish = choice.finish_reason
        refusal = getattr(message, "refusal", None)
        if refusal:
            content, finish = refusal, "refusal"
        limit = max(MIN_REPLY_LIMIT, max_tokens * CHARS_PER_TOKEN_LIMIT)
        if len(content) > limit:
            self._fail(request, key, purpose, None, f"reply too large: {len(content):,} characters")
            raise ModelBadReplyError(
                f"The endpoint sent a reply of {len(content):,} characters for at most "
                f"{max_tokens:,} tokens; it was discarded.",
                hint="The server does not honour max_tokens; check its configuration.",
            )
        p_tok = usage.prompt_tokens if usage else tokens.count(json.dumps(request["messages"]))
        c_tok = usage.completion_tokens if usage else tokens.count(content)
        row = self.log.record(
            endpoint=self.settings.endpoint_id,
            model=self.settings.model,
            key=key,
            request=request,
            response=content,
            finish_reason=finish,
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            latency_ms=seconds * 1000,
            purpose=purpose,
            error=None if finish in ("stop", "tool_calls", None) else f"finish_reason={finish}",
        )
        self.usage.add(prompt=p_tok, completion=c_tok, seconds=seconds, cache_hit=False)
        return _Reply(content, finish, p_tok, c_tok, False, row)

    def _fail(
        self,
        request: dict[str, Any],
        key: str,
        purpose: str | None,
        exc: Exception | None,
        error: str = "",
    ) -> None:
        with self.usage._lock:
            self.usage.failures += 1
        self.log.record(
            endpoint=self.settings.endpoint_id,
            model=self.settings.model,
            key=key,
            request=request,
            response=None,
            error=error or f"{type(exc).__name__}: {short(exc or Exception())}",
            purpose=purpose,
        )

    # --- the preflight check ---

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

    def preflight(self) -> None:
        """One tiny structured call that checks the endpoint answers, knows the model, accepts the
        structured-output mode (AUTO falls back here, once for the run) and returns a usable reply.

        Raises EndpointCheckError with the cause within seconds for a dead endpoint (one retry
        after a refused connection), or within the timeout for a hung one."""
        where = self.settings.endpoint_id
        messages = [{"role": "user", "content": prompts.render("preflight")}]
        schema = strict_json_schema(_Check, bounds=True)
        attempts = 0
        while True:
            self._check_cancelled()
            attempts += 1
            mode = self._mode
            request = self._request(messages, schema, "check", PREFLIGHT_TOKENS, mode)
            key = request_hash({"endpoint": where, **request})
            started = time.perf_counter()
            try:
                sent = dict(request, model=self.model_name())
                response = self.client().chat.completions.create(**sent)
            except openai.APIStatusError as exc:
                if self._mode_rejected(exc, mode):
                    continue
                self._fail(request, key, "preflight", exc)
                if exc.status_code in (429, 502, 503, 504) and attempts <= 2:
                    self._sleep(self._backoff(attempts, exc))
                    continue
                raise self._status_check_error(exc) from None
            except openai.APITimeoutError as exc:
                self._fail(request, key, "preflight", exc)
                raise EndpointCheckError(
                    f"{where} did not answer a one-line check within {self.settings.timeout:g} s.",
                    cause="timeout",
                    hint="Check that the server is running and not overloaded, or raise "
                    "--timeout (DOCAGENT_TIMEOUT) for a slow one.",
                ) from None
            except openai.APIConnectionError as exc:
                self._fail(request, key, "preflight", exc)
                if attempts < 2:
                    self._sleep(0.5)  # one more try: a server that is just starting
                    continue
                raise EndpointCheckError(
                    f"{where} could not be reached ({cause(exc)}).",
                    cause="unreachable",
                    hint="Check --base-url / OPENAI_BASE_URL and that the server is running.",
                ) from None
            try:
                reply = self._received(
                    request,
                    key,
                    "preflight",
                    PREFLIGHT_TOKENS,
                    response,
                    time.perf_counter() - started,
                )
            except ModelBadReplyError as exc:
                raise EndpointCheckError(
                    f"{where}: {exc.message}", cause="bad reply", hint=exc.hint
                ) from None
            if self._usable_check(reply):
                return

    def _usable_check(self, reply: _Reply) -> bool:
        """Whether the preflight reply shows structured output works; False to ask again in the
        next mode (AUTO only); raises when it cannot work."""
        where = self.settings.endpoint_id
        if reply.finish == "refusal":
            raise EndpointCheckError(
                f"{where}: the model refused a one-line check ({reply.content[:200]}).",
                cause="refusal",
                hint="Use a model that answers plain requests (--model / DOCAGENT_MODEL).",
            )
        if reply.finish == "length" or self._mode is StructuredMode.PROMPT:
            return True  # cut inside a tiny answer, or JSON only asked for in words: accepted
        if not reply.content.strip():
            raise EndpointCheckError(
                f"{where}: the model sent an empty reply to a one-line check.",
                cause="empty reply",
                hint="Check the model name (--model / DOCAGENT_MODEL) and the server's logs.",
            )
        try:
            parse_json(reply.content)
        except ValueError:
            if self.settings.mode is StructuredMode.AUTO:
                # The server ignored response_format: ask for JSON in the prompt instead.
                self._mode = StructuredMode.PROMPT
                return False
            raise EndpointCheckError(
                f"{where} ignored structured output ({self._mode.value}): it replied with text.",
                cause="structured output ignored",
                hint="Use --structured-output prompt (or auto) for this server.",
            ) from None
        return True

    def _status_check_error(self, exc: openai.APIStatusError) -> EndpointCheckError:
        where = self.settings.endpoint_id
        if exc.status_code in (401, 403):
            return EndpointCheckError(
                f"{where} refused the credentials (HTTP {exc.status_code}).",
                cause="credentials",
                hint="Check OPENAI_API_KEY (or AZURE_OPENAI_API_KEY) for this endpoint.",
            )
        if exc.status_code == 404:
            return EndpointCheckError(
                f"Model {self.settings.model!r} was not found at {where} (HTTP 404).",
                cause="unknown model",
                hint="Set --model (or DOCAGENT_MODEL) to a model the endpoint serves.",
            )
        text = short(exc).lower()
        if "response_format" in text or "json_schema" in text or "json_object" in text:
            return EndpointCheckError(
                f"{where} rejected structured output mode {self._mode.value} "
                f"(HTTP {exc.status_code}).",
                cause="structured output rejected",
                hint="Try --structured-output auto, json_object or prompt.",
            )
        return EndpointCheckError(
            f"{where} answered a one-line check with HTTP {exc.status_code}: {short(exc)[:200]}",
            cause=f"HTTP {exc.status_code}",
            hint="Check the endpoint URL and the server's logs.",
        )

    def _mode_rejected(self, exc: openai.APIStatusError, sent: StructuredMode) -> bool:
        """A backend that does not accept our response_format: fall back one mode (AUTO only)
        from the one the request was `sent` in (another call may have fallen back already)."""
        if self.settings.mode is not StructuredMode.AUTO or exc.status_code not in (400, 422, 500):
            return False
        text = short(exc).lower()
        if (
            "response_format" not in text
            and "json_schema" not in text
            and "json_object" not in text
        ):
            return False
        with self._mode_lock:
            if self._mode is not sent:
                return True  # already fell back: rebuild the request in the current mode
            current = sent if sent is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
            order = [StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT, StructuredMode.PROMPT]
            if current is StructuredMode.PROMPT:
                return False
            self._mode = order[order.index(current) + 1]
            return True

    def _backoff(self, attempt: int, exc: openai.APIStatusError | None) -> float:
        after = retry_after(exc) if exc is not None else None
        if after is not None:
            return min(after, MAX_WAIT)
        return min(30.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


@dataclass
class _Answered:
    """What an endpoint answered with an error: status, the start of its body, Retry-After."""

    status: int
    body: str
    retry_after: float | None

    def kwargs(self) -> dict[str, Any]:
        return {"status": self.status, "body": self.body, "retry_after": self.retry_after}


@dataclass
class _Spent:
    attempts: int
    prompt_tokens: int
    completion_tokens: int

    def kwargs(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class _ModeRejected(Exception):
    """Internal: the structured-output mode changed; rebuild the request."""


REASK = (
    "Your previous reply was not valid for the required JSON schema:\n{error}\n"
    "Reply again with only the corrected JSON object."
)
SCHEMA_IN_PROMPT = (
    "Reply with exactly one JSON object and nothing else. It must match this JSON schema:\n{schema}"
)
