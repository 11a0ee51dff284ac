"""The books of one client: answers served from the call log, responses logged and accounted for
(an empty or oversized one is a typed error, never an answer), failures counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agent.base import tokens
from agent.base.errors import ModelBadReplyError
from agent.llm.calllog import CallLog
from agent.llm.http_errors import short
from agent.llm.settings import ModelSettings
from agent.llm.usage import Reply, Usage

# A reply is text the model generated within max_tokens: even at 32 characters a token, anything
# larger is not an answer (a broken proxy, a server that ignores max_tokens) and is not kept.
CHARS_PER_TOKEN_LIMIT = 32
MIN_REPLY_LIMIT = 65_536

# Whether a reply may answer its request (None) or why not: it failed validation, was refused...
Accept = Callable[[str, str | None], str | None]


class Ledger:
    """The call log and usage totals of one endpoint's client."""

    def __init__(self, settings: ModelSettings, log: CallLog, usage: Usage) -> None:
        self.settings = settings
        self.log = log
        self.usage = usage

    def cached(
        self, key: str, request: dict[str, Any], purpose: str | None, accept: Accept
    ) -> Reply | None:
        """The logged answer to this request, when there is one `accept` takes (logged as a hit)."""
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
        return Reply(cached["content"], cached["finish_reason"], 0, 0, True)

    def received(
        self,
        request: dict[str, Any],
        key: str,
        purpose: str | None,
        max_tokens: int,
        response: Any,
        seconds: float,
    ) -> Reply:
        """Log and account for a response; an empty or oversized one is a typed error."""
        usage = response.usage
        if not response.choices:
            self.failed(request, key, purpose, None, "empty reply: no choices")
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
            self.failed(
                request, key, purpose, None, f"reply too large: {len(content):,} characters"
            )
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
        return Reply(content, finish, p_tok, c_tok, False, row)

    def failed(
        self,
        request: dict[str, Any],
        key: str,
        purpose: str | None,
        exc: Exception | None,
        error: str = "",
    ) -> None:
        """Log a request that got no usable answer, and count it."""
        self.usage.failed()
        self.log.record(
            endpoint=self.settings.endpoint_id,
            model=self.settings.model,
            key=key,
            request=request,
            response=None,
            error=error or f"{type(exc).__name__}: {short(exc or Exception())}",
            purpose=purpose,
        )
