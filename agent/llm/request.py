"""The chat request docagent sends: the structured-output mode's response_format (or the schema in
the prompt), what a request costs before it is sent, and the words of a re-ask."""

from __future__ import annotations

import json
import re
from typing import Any

import openai

from agent.base import tokens
from agent.llm.http_errors import short
from agent.llm.json_schema import strip_bounds
from agent.llm.settings import ModelSettings, StructuredMode

Message = dict[str, str]

# The order AUTO falls back in when a backend refuses a response_format.
FALLBACK = (StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT, StructuredMode.PROMPT)


def build_request(
    settings: ModelSettings,
    messages: list[Message],
    schema: dict[str, Any],
    name: str,
    max_tokens: int,
    mode: StructuredMode,
) -> dict[str, Any]:
    """The chat request for `messages` in a structured-output mode (AUTO sends json_schema)."""
    mode = mode if mode is not StructuredMode.AUTO else StructuredMode.JSON_SCHEMA
    request: dict[str, Any] = {
        "model": settings.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": max_tokens,
    }
    if settings.seed is not None:
        request["seed"] = settings.seed
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


def estimate_tokens(messages: list[Message], schema: dict[str, Any], mode: StructuredMode) -> int:
    """Prompt tokens a request will cost, counted before sending."""
    text = "\n".join(m["content"] for m in messages)
    # Only prompt mode sends the schema as text; grammar modes cost a little for the format.
    schema_tokens = tokens.count(json.dumps(schema))
    extra = schema_tokens if mode is StructuredMode.PROMPT else schema_tokens // 10
    return tokens.count(text) + extra + 4 * len(messages)


def format_refused(exc: openai.APIStatusError) -> bool:
    """Whether an error answer is about the response_format (the backend does not take the mode)."""
    text = short(exc).lower()
    return "response_format" in text or "json_schema" in text or "json_object" in text


REASK = (
    "Your previous reply was not valid for the required JSON schema:\n{error}\n"
    "Reply again with only the corrected JSON object."
)
SCHEMA_IN_PROMPT = (
    "Reply with exactly one JSON object and nothing else. It must match this JSON schema:\n{schema}"
)
