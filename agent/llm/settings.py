"""Which endpoint and model, and how to talk to it: settings from CLI options > environment >
config file > defaults, each bad value an error that names where it came from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from agent.base.config import number_setting, setting
from agent.base.errors import ModelNotConfiguredError
from agent.llm.local_model import DEFAULT_MODEL

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

# Seconds one request may take. A remote endpoint that has not answered in two minutes is hung or
# overloaded (a draft call asks for at most 3,500 tokens); the embedded 0.5B model on 2 cores needs
# up to ~80 s for the largest call, so it keeps more room. `--timeout` / DOCAGENT_TIMEOUT / config.
REMOTE_TIMEOUT = 120.0
EMBEDDED_TIMEOUT = 600.0


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
    timeout: float = EMBEDDED_TIMEOUT
    max_retries: int = 4
    max_reasks: int = 2
    temperature: float = 0.0
    seed: int | None = 7
    use_cache: bool = True
    token_budget: int | None = None
    # Check the endpoint with one tiny call before the first real one (see ModelClient.preflight).
    # resolve_settings turns it on for every non-embedded endpoint.
    preflight: bool = False

    @property
    def small_context(self) -> bool:
        """A model on this machine (the embedded one, or a local server such as the recordings'):
        an 8k context and ~100 prompt tokens a second, so prompts are kept short."""
        url = self.base_url or ""
        return self.embedded or any(host in url for host in ("127.0.0.1", "localhost", "[::1]"))

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
    timeout: float | None = None,
) -> ModelSettings:
    """Settings from CLI options > environment > config file > defaults; bad values are errors
    that name the option, variable or config key they came from."""
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
    structured = structured_mode(mode)
    budget = number_setting(
        token_budget,
        "--token-budget",
        "DOCAGENT_TOKEN_BUDGET",
        "token_budget",
        None,
        kind=int,
        minimum=1,
    )
    concurrency = number_setting(
        max_concurrency,
        "--max-concurrency",
        "DOCAGENT_MAX_CONCURRENCY",
        "max_concurrency",
        4,
        kind=int,
        minimum=1,
    )
    seconds = number_setting(
        timeout,
        "--timeout",
        "DOCAGENT_TIMEOUT",
        "timeout",
        EMBEDDED_TIMEOUT if embedded else REMOTE_TIMEOUT,
        kind=float,
        minimum=0.1,
    )
    return ModelSettings(
        base_url=base,
        api_key=key or azure_key,
        model=str(chosen),
        mode=structured,
        embedded=embedded,
        azure_endpoint=azure,
        azure_api_version=os.environ.get("OPENAI_API_VERSION", "2024-10-21") if azure else None,
        max_concurrency=1 if embedded else (concurrency or 4),
        use_cache=not no_cache,
        token_budget=budget,
        timeout=seconds or REMOTE_TIMEOUT,
        preflight=not embedded,
    )


def structured_mode(option: str | None) -> StructuredMode:
    """The structured-output mode from --structured-output, DOCAGENT_STRUCTURED_OUTPUT or config."""
    raw = setting(option, "DOCAGENT_STRUCTURED_OUTPUT", "structured_output", "auto")
    try:
        return StructuredMode(str(raw).strip().lower())
    except ValueError:
        source = (
            "--structured-output"
            if option is not None
            else "DOCAGENT_STRUCTURED_OUTPUT"
            if os.environ.get("DOCAGENT_STRUCTURED_OUTPUT")
            else "structured_output in config.toml"
        )
        raise ModelNotConfiguredError(
            f"{source}: unknown structured-output mode {raw!r}.",
            hint=f"Use one of: {', '.join(m.value for m in StructuredMode)}.",
        ) from None
