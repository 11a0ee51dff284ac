"""The preflight: one tiny structured call before the first paid one, which checks that the
endpoint answers, knows the model, takes the structured-output mode (AUTO falls back here, once per
run) and returns a usable reply, so a wrong setting fails in seconds with its cause."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import openai
from pydantic import BaseModel, ConfigDict, Field

from agent.base.errors import EndpointCheckError, ModelBadReplyError
from agent.llm import prompts, transport
from agent.llm.calllog import request_hash
from agent.llm.http_errors import cause, short
from agent.llm.json_repair import parse_json
from agent.llm.json_schema import strict_json_schema
from agent.llm.ledger import Ledger
from agent.llm.request import build_request, format_refused
from agent.llm.settings import ModelSettings, StructuredMode
from agent.llm.usage import Reply


class _Check(BaseModel):
    """The preflight's answer: the smallest structured object a model can give."""

    model_config = ConfigDict(extra="forbid")
    ok: bool = Field(description="Always true.")


# Enough for `{"ok": true}` in any tokenizer, with room for a model that adds whitespace.
PREFLIGHT_TOKENS = 24


class Preflight:
    """The preflight half of `ModelClient` (a mixin: it drives the client's own send path)."""

    settings: ModelSettings
    _mode: StructuredMode
    _sleep: Callable[[float], None]
    ledger: Ledger

    if TYPE_CHECKING:

        def _check_cancelled(self) -> None: ...
        def model_name(self) -> str: ...
        def client(self) -> openai.OpenAI: ...
        def _mode_rejected(self, exc: openai.APIStatusError, sent: StructuredMode) -> bool: ...

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
            request = build_request(
                self.settings, messages, schema, "check", PREFLIGHT_TOKENS, mode
            )
            key = request_hash({"endpoint": where, **request})
            started = time.perf_counter()
            try:
                sent = dict(request, model=self.model_name())
                response = self.client().chat.completions.create(**sent)
            except openai.APIStatusError as exc:
                if self._mode_rejected(exc, mode):
                    continue
                self.ledger.failed(request, key, "preflight", exc)
                if exc.status_code in (429, 502, 503, 504) and attempts <= 2:
                    self._sleep(transport.backoff(attempts, exc))
                    continue
                raise self._status_check_error(exc) from None
            except openai.APITimeoutError as exc:
                self.ledger.failed(request, key, "preflight", exc)
                raise EndpointCheckError(
                    f"{where} did not answer a one-line check within {self.settings.timeout:g} s.",
                    cause="timeout",
                    hint="Check that the server is running and not overloaded, or raise "
                    "--timeout (DOCAGENT_TIMEOUT) for a slow one.",
                ) from None
            except openai.APIConnectionError as exc:
                self.ledger.failed(request, key, "preflight", exc)
                if attempts < 2:
                    self._sleep(0.5)  # one more try: a server that is just starting
                    continue
                raise EndpointCheckError(
                    f"{where} could not be reached ({cause(exc)}).",
                    cause="unreachable",
                    hint="Check --base-url / OPENAI_BASE_URL and that the server is running.",
                ) from None
            try:
                reply = self.ledger.received(
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

    def _usable_check(self, reply: Reply) -> bool:
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
        if format_refused(exc):
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
