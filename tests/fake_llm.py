"""Helpers for tests of the model client: a fake transport (scripted HTTP replies, recorded
sleeps), a structured-output model and the prompt that asks for it. Shared by the client, failure,
redaction and keep-edits tests."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.llm.client import ModelClient
from agent.llm.settings import ModelSettings, StructuredMode

# A prompt only these tests send (the client's behaviour does not depend on what is asked).
SNIPPET_PROMPT = string.Template(
    (Path(__file__).parent / "prompts" / "classify_snippet.md").read_text(encoding="utf-8")
)

try:
    import httpx2 as httpx  # openai 3.x
except ImportError:  # pragma: no cover - openai 2.x
    import httpx  # type: ignore[no-redef]


class Snippet(BaseModel):
    """What a code excerpt is."""

    model_config = ConfigDict(extra="forbid")
    language: str = Field(description="The programming language of the excerpt.")
    purpose: str = Field(description="One sentence: what the code is for.")
    keywords: list[str] = Field(description="At most 5 short technical keywords.")


class LowercaseSnippet(Snippet):
    """Same, but the language must be written in lower case (most models capitalise it first)."""

    @field_validator("language")
    @classmethod
    def lower_case(cls, value: str) -> str:
        if value != value.lower() or not value.isascii():
            raise ValueError(
                f"language must be written in lower case ASCII, e.g. {value.lower()!r}"
            )
        return value


CODE = '''def fetch_feed(url):
    """Fetch one feed, retrying transient failures with exponential backoff."""
    delay = 1.0
    for attempt in range(5):
        try:
            return httpx.get(url, timeout=30).text
        except httpx.HTTPError:
            time.sleep(delay)
            delay *= 2
'''


def snippet_messages() -> list[dict[str, str]]:
    return [
        {
            "role": "user",
            "content": SNIPPET_PROMPT.substitute(path="src/importer.py", code=CODE),
        }
    ]


def completion(content: str, finish: str = "stop", refusal: str | None = None) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


GOOD = json.dumps(
    {"language": "python", "purpose": "Fetches a feed with retries.", "keywords": ["retry"]}
)


def fake(
    handler: Callable[[httpx.Request], httpx.Response], **overrides: Any
) -> tuple[ModelClient, list[float]]:
    sleeps: list[float] = []
    options: dict[str, Any] = {
        "mode": StructuredMode.JSON_SCHEMA,
        "max_retries": 3,
        "base_url": "http://fake.test/v1",  # settings only: the transport below answers
        **overrides,
    }
    settings = ModelSettings(embedded=False, model="m", **options)
    client = openai.OpenAI(
        base_url="http://fake.test/v1",
        api_key="k",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    return ModelClient(settings, client=client, sleep=sleeps.append), sleeps


def sequence(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen
