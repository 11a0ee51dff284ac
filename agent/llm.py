"""Talk to any OpenAI-compatible endpoint and get validated Pydantic objects back, or a typed error.

One `ModelClient` per run: it resolves the endpoint (or starts the embedded model), sends structured
requests in the form the backend accepts, re-asks on validation errors, retries transport faults,
answers repeated requests from the SQLite cache, logs every call, and enforces a token budget.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from agent import costs, tokens
from agent.calllog import CallLog, request_hash
from agent.config import setting
from agent.errors import (
    BudgetExceededError,
    ModelContentFilterError,
    ModelNotConfiguredError,
    ModelRefusalError,
    ModelTruncatedError,
    ModelUnavailableError,
    ModelValidationError,
)
from agent.local_model import DEFAULT_MODEL, EmbeddedServer
from agent.schemas import strict_json_schema, strip_bounds

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class StructuredMode(StrEnum):
    """How a backend is asked for JSON that fits a schema."""

    AUTO = "auto"  # detect: embedded -> json_object, OpenAI -> json_schema, others probed
    JSON_SCHEMA = "json_schema"  # OpenAI strict mode, vLLM, Ollama, llama-server, LM Studio
    JSON_OBJECT = "json_object"  # llama-cpp-python: {"type": "json_object", "schema": ...}
    PROMPT = "prompt"  # schema in the prompt, no response_format at all


@dataclass
class ModelSettings:
    """Which endpoint and model, and how to talk to it."""

    base_url: str | None = None
    api_key: str | None = None
    model: str = DEFAULT_MODEL
    mode: StructuredMode = StructuredMode.AUTO
    embedded: bool = True
    azure_endpoint: str | None = None
    azure_api_version: str | None = None
    max_concurrency: int = 4
    timeout: float = 600.0
    max_retries: int = 4
    max_reasks: int = 2
    temperature: float = 0.0
    seed: int | None = 7
    use_cache: bool = True
    token_budget: int | None = None

    @property
    def endpoint_id(self) -> str:
        """What identifies the endpoint in cache keys and logs (never a key)."""
        if self.embedded:
            return "embedded"
        return self.azure_endpoint or self.base_url or "https://api.openai.com/v1"

    def describe(self) -> str:
        """One line for humans."""
        where = "embedded llama.cpp server" if self.embedded else self.endpoint_id
        return f"{self.model} via {where} (structured output: {self.mode.value})"


def resolve_settings(
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
    no_cache: bool = False,
    token_budget: int | None = None,
    max_concurrency: int | None = None,
) -> ModelSettings:
    """Settings from CLI options > environment > config file > defaults."""
    base = (
        base_url
        or os.environ.get("DOCAGENT_BASE_URL")
        or setting(None, "OPENAI_BASE_URL", "base_url", None)
    )
    key = setting(api_key, "OPENAI_API_KEY", "api_key", None)
    azure = os.environ.get("AZURE_OPENAI_ENDPOINT")
    azure_key = os.environ.get("AZURE_OPENAI_API_KEY")
    embedded = not (base or key or azure)
    default_model = DEFAULT_MODEL if embedded else DEFAULT_OPENAI_MODEL
    chosen = setting(model, "DOCAGENT_MODEL", "model", default_model)
    raw_mode = setting(mode, "DOCAGENT_STRUCTURED_OUTPUT", "structured_output", "auto")
    try:
        structured = StructuredMode(raw_mode)
    except ValueError as exc:
        raise ModelNotConfiguredError(
            f"Unknown structured-output mode {raw_mode!r}.",
            hint=f"Use one of: {', '.join(m.value for m in StructuredMode)}.",
        ) from exc
    budget = setting(token_budget, "DOCAGENT_TOKEN_BUDGET", "token_budget", None)
    concurrency = int(setting(max_concurrency, "DOCAGENT_MAX_CONCURRENCY", "max_concurrency", 4))
    return ModelSettings(
        base_url=base,
        api_key=key or azure_key,
        model=str(chosen),
        mode=structured,
        embedded=embedded,
        azure_endpoint=azure,
        azure_api_version=os.environ.get("OPENAI_API_VERSION", "2024-10-21") if azure else None,
        max_concurrency=1 if embedded else max(1, concurrency),
        use_cache=not no_cache,
        token_budget=int(budget) if budget else None,
    )


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


class ModelClient:
    """Structured completions against one endpoint. Use as a context manager to stop the embedded server."""

    def __init__(
        self,
        settings: ModelSettings,
        *,
        log: CallLog | None = None,
        client: openai.OpenAI | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.log = log or CallLog()
        self.usage = Usage()
        self._client = client
        self._sleep = sleep
        self._server: EmbeddedServer | None = None
        self._mode = settings.mode
        if self._mode is StructuredMode.AUTO:
            if settings.embedded:
                self._mode = StructuredMode.JSON_OBJECT
            elif not settings.base_url:
                self._mode = StructuredMode.JSON_SCHEMA
        self._gate = threading.Semaphore(settings.max_concurrency)
        self._budget_lock = threading.Lock()
        self._reserved = 0

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the embedded server if this client started one."""
        if self._server is not None:
            self._server.stop()

    @property
    def mode(self) -> StructuredMode:
        """The structured-output mode in use (AUTO until probed for unknown endpoints)."""
        return self._mode

    def client(self) -> openai.OpenAI:
        """The openai client, starting the embedded server on first use."""
        if self._client is not None:
            return self._client
        s = self.settings
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
                timeout=s.timeout,
            )
        else:
            self._client = openai.OpenAI(
                base_url=s.base_url,
                api_key=s.api_key or "not-needed",
                max_retries=0,
                timeout=s.timeout,
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
        for attempt in range(1, self.settings.max_reasks + 2):
            content, finish, p_tok, c_tok, hit = self._call(
                convo, schema, response_model.__name__, max_tokens, purpose
            )
            spent_prompt += p_tok
            spent_completion += c_tok
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
                last_error = _error_text(exc)
                convo = [
                    *convo,
                    {"role": "assistant", "content": content[:6000]},
                    {"role": "user", "content": REASK.format(error=last_error)},
                ]
                continue
            return Completion(value, attempt, hit and attempt == 1, spent_prompt, spent_completion)
        raise ModelValidationError(
            f"The answer did not fit the schema after {self.settings.max_reasks + 1} attempts: {last_error[:500]}",
            last_error=last_error,
            attempts=self.settings.max_reasks + 1,
            prompt_tokens=spent_prompt,
            completion_tokens=spent_completion,
        )

    def _request(
        self, messages: list[Message], schema: dict[str, Any], name: str, max_tokens: int
    ) -> dict[str, Any]:
        mode = self._mode if self._mode is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
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
    ) -> tuple[str, str | None, int, int, bool]:
        """(content, finish_reason, prompt_tokens, completion_tokens, cache_hit) for one request."""
        while True:
            request = self._request(messages, schema, name, max_tokens)
            key = request_hash({"endpoint": self.settings.endpoint_id, **request})
            if self.settings.use_cache:
                cached = self.log.cached(key)
                if cached is not None:
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
                    return cached["content"], cached["finish_reason"], 0, 0, True
            estimate = self._estimate(messages, schema) + max_tokens // 4
            self._reserve(estimate)
            try:
                result = self._send(request, key, purpose)
            except _ModeRejected:
                continue  # the mode fell back; build the request again
            finally:
                self._release(estimate)
            return result

    def _send(
        self, request: dict[str, Any], key: str, purpose: str | None
    ) -> tuple[str, str | None, int, int, bool]:
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                with self._gate:
                    sent = dict(request, model=self.model_name())
                    response = self.client().chat.completions.create(**sent)
            except openai.APIStatusError as exc:
                if self._mode_rejected(exc):
                    raise _ModeRejected from exc
                if exc.status_code in (401, 403):
                    self._fail(request, key, purpose, exc)
                    raise ModelNotConfiguredError(
                        f"The endpoint refused the credentials ({exc.status_code}).",
                        hint="Check OPENAI_API_KEY (or AZURE_OPENAI_API_KEY) for this endpoint.",
                    ) from exc
                if exc.status_code == 404:
                    self._fail(request, key, purpose, exc)
                    raise ModelNotConfiguredError(
                        f"Model {self.settings.model!r} was not found at {self.settings.endpoint_id}.",
                        hint="Set DOCAGENT_MODEL (or --model) to a model the endpoint serves.",
                    ) from exc
                retry = exc.status_code == 429 or exc.status_code >= 500
                if not retry or attempts > self.settings.max_retries:
                    self._fail(request, key, purpose, exc)
                    raise ModelUnavailableError(
                        f"The endpoint answered HTTP {exc.status_code} {'after retries' if retry else ''}: {_short(exc)}",
                        attempts=attempts,
                    ) from exc
                self._sleep(self._backoff(attempts, exc))
                continue
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                if self._server is not None and not self._server.alive():
                    self._server.restart()
                    self._client = None
                if attempts > self.settings.max_retries:
                    self._fail(request, key, purpose, exc)
                    kind = (
                        "timed out"
                        if isinstance(exc, openai.APITimeoutError)
                        else "could not be reached"
                    )
                    raise ModelUnavailableError(
                        f"The endpoint {self.settings.endpoint_id} {kind} after {attempts} attempts.",
                        hint="Check OPENAI_BASE_URL and that the server is running.",
                        attempts=attempts,
                    ) from exc
                self._sleep(self._backoff(attempts, None))
                continue
            seconds = time.perf_counter() - started
            choice = response.choices[0]
            message = choice.message
            content = message.content or ""
            finish = choice.finish_reason
            refusal = getattr(message, "refusal", None)
            if refusal:
                content, finish = refusal, "refusal"
            usage = response.usage
            p_tok = usage.prompt_tokens if usage else tokens.count(json.dumps(request["messages"]))
            c_tok = usage.completion_tokens if usage else tokens.count(content)
            self.log.record(
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
            return content, finish, p_tok, c_tok, False

    def _fail(self, request: dict[str, Any], key: str, purpose: str | None, exc: Exception) -> None:
        with self.usage._lock:
            self.usage.failures += 1
        self.log.record(
            endpoint=self.settings.endpoint_id,
            model=self.settings.model,
            key=key,
            request=request,
            response=None,
            error=f"{type(exc).__name__}: {_short(exc)}",
            purpose=purpose,
        )

    def _mode_rejected(self, exc: openai.APIStatusError) -> bool:
        """A backend that does not accept our response_format: fall back one mode (AUTO only)."""
        if self.settings.mode is not StructuredMode.AUTO or exc.status_code not in (400, 422, 500):
            return False
        text = _short(exc).lower()
        if (
            "response_format" not in text
            and "json_schema" not in text
            and "json_object" not in text
        ):
            return False
        current = (
            self._mode if self._mode is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
        )
        order = [StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT, StructuredMode.PROMPT]
        if current is StructuredMode.PROMPT:
            return False
        self._mode = order[order.index(current) + 1]
        return True

    def _backoff(self, attempt: int, exc: openai.APIStatusError | None) -> float:
        if exc is not None and exc.response is not None:
            after = exc.response.headers.get("retry-after")
            if after:
                try:
                    return min(float(after), 120.0)
                except ValueError:
                    pass
        return min(30.0, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)


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


def parse_json(text: str) -> Any:
    """Parse a JSON reply leniently: control characters in strings, code fences, leading prose."""
    text = text.strip()
    fence = re.match(r"^```(?:json)?\s*\n(.*?)\n```\s*$", text, re.S)
    if fence:
        text = fence.group(1)
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError:
        start = text.find("{")
        end = text.rfind("}")
        if start >= 0 and end > start:
            return json.loads(text[start : end + 1], strict=False)
        raise


def parse_partial_json(text: str) -> dict[str, Any]:
    """What a JSON object cut off mid-way holds: every complete member, and containers cut inside
    with their complete part (a string or number cut inside is dropped with its key)."""
    start = text.find("{")
    if start < 0:
        return {}
    value, _ = _partial_value(text, start, json.JSONDecoder(strict=False))
    return value if isinstance(value, dict) else {}


_MISSING = object()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n,":
        i += 1
    return i


def _partial_value(text: str, i: int, decoder: json.JSONDecoder) -> tuple[Any, int]:
    """(value, end) for the JSON value at i, or (_MISSING, len(text)) when it was cut inside."""
    i = _skip_ws(text, i)
    if i >= len(text):
        return _MISSING, i
    if text[i] not in "{[":
        try:
            return decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return _MISSING, len(text)
    container: Any = {} if text[i] == "{" else []
    i += 1
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            return container, i
        if text[i] in "}]":
            return container, i + 1
        if isinstance(container, dict):
            try:
                key, i = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                return container, len(text)
            i = _skip_ws(text, i)
            if i >= len(text) or text[i] != ":":
                return container, len(text)
            i += 1
        item, i = _partial_value(text, i, decoder)
        if item is not _MISSING:
            if isinstance(container, dict):
                container[str(key)] = item
            else:
                container.append(item)
        if i >= len(text):
            return container, i


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:8]:
            loc = ".".join(str(p) for p in err["loc"]) or "(root)"
            parts.append(f"- {loc}: {err['msg']}")
        return "\n".join(parts)
    return f"- not valid JSON: {exc}"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 400 else text[:400] + "..."
