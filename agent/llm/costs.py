"""What a run costs: dollars from a price table the user can extend, and time on the embedded model.

Prices are USD per 1M tokens. The built-in table holds OpenAI's list prices and applies only to
OpenAI's own API and Azure OpenAI: a server on this machine (the embedded model, Ollama, vLLM on
localhost) costs nothing, and any other endpoint is priced only from `[prices]` in config.toml,
which also overrides the built-in entries:

    [prices]
    "gpt-4o-mini" = { input = 0.15, output = 0.60 }
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.base.config import config_file, file_settings
from agent.base.errors import UserInputError
from agent.llm.calllog import LogTotal
from agent.llm.local_model import EMBEDDED_MODELS


class Price(BaseModel):
    """What one model costs."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(description="USD per 1M input (prompt) tokens.")
    output: float = Field(description="USD per 1M output (completion) tokens.")

    @field_validator("input", "output")
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("a price cannot be negative")
        return value


# OpenAI list prices, USD per 1M tokens (input, output).
OPENAI_PRICES: dict[str, Price] = {
    name: Price(input=i, output=o)
    for name, (i, o) in {
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "o4-mini": (1.10, 4.40),
        "gpt-5": (1.25, 10.00),
        "gpt-5-mini": (0.25, 2.00),
        "gpt-5-nano": (0.05, 0.40),
    }.items()
}

FREE = Price(input=0.0, output=0.0)


@dataclass(frozen=True)
class Rate:
    """The price that applies to one model at one endpoint, and where it comes from."""

    model: str
    price: Price
    source: str  # "local" | "config" | "openai"

    def usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for these tokens."""
        return (
            prompt_tokens * self.price.input + completion_tokens * self.price.output
        ) / 1_000_000

    def describe(self) -> str:
        """Where the price comes from, for humans."""
        return {
            "local": "a server on this machine",
            "config": f"{self.model} at the price in {config_file()}",
            "openai": f"{self.model} at OpenAI's list price",
        }[self.source]


def _host(endpoint: str) -> str:
    return (urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname or "").lower()


def is_local(endpoint: str) -> bool:
    """Whether an endpoint id (`embedded` or a base URL) is a server on this machine."""
    if endpoint == "embedded":
        return True
    host = _host(endpoint)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def is_openai(endpoint: str) -> bool:
    """Whether an endpoint is OpenAI's own API or Azure OpenAI (where list prices apply)."""
    host = _host(endpoint)
    return host == "api.openai.com" or host.endswith(".openai.azure.com")


def configured_prices() -> dict[str, Price]:
    """`[prices]` from config.toml, validated."""
    table: Any = file_settings().get("prices", {})
    where = f"{config_file()}: [prices]"
    if not isinstance(table, dict):
        raise UserInputError(
            f"{where} must be a table of models.",
            hint='Write e.g. [prices] "my-model" = { input = 0.5, output = 1.5 } (USD per 1M tokens).',
        )
    prices: dict[str, Price] = {}
    for model, entry in table.items():
        try:
            prices[str(model)] = Price.model_validate(entry)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
            )
            raise UserInputError(
                f"{where} entry {model!r}: {problem}",
                hint=f'Write "{model}" = {{ input = 0.5, output = 1.5 }} (USD per 1M tokens).',
            ) from exc
    return prices


def rate(endpoint: str, model: str) -> Rate | None:
    """The price of `model` at `endpoint` (an endpoint id), or None when it is not known.

    An entry in config.toml wins everywhere (a proxy on localhost may forward to a paid API); then a
    server on this machine is free; OpenAI's list prices apply only to OpenAI and Azure OpenAI."""
    configured = configured_prices().get(model)
    if configured is not None:
        return Rate(model, configured, "config")
    if is_local(endpoint):
        return Rate(model, FREE, "local")
    if is_openai(endpoint) and model in OPENAI_PRICES:
        return Rate(model, OPENAI_PRICES[model], "openai")
    return None


def describe_cost(
    found: Rate | None,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    *,
    bound: bool = False,
) -> str:
    """What to print after "cost: ": dollars and where the price comes from, or why there are none."""
    if found is None:
        return (
            f"unknown (no price for {model} at this endpoint: add it under [prices] in config.toml)"
        )
    if found.source == "local":
        return f"none ({found.describe()})"
    usd = found.usd(prompt_tokens, completion_tokens)
    return f"{'at most ' if bound else ''}${usd:.4f} ({found.describe()})"


# --- time on the embedded model ------------------------------------------------------------------

# Share of a call's output room an answer uses: measured 0.53 (fixture repository) and 0.45 (this
# repository) on full extract-style drafts with the 0.5B model (README Performance).
TYPICAL_OUTPUT_SHARE = 0.5


@dataclass(frozen=True)
class TimeEstimate:
    """Model time for a planned run, from measured speeds (an estimate, not a promise)."""

    typical_seconds: float
    most_seconds: float
    prompt_speed: float
    output_speed: float


def embedded_time(model: str, prompt_tokens: int, output_room: int) -> TimeEstimate | None:
    """Model time of a plan on an embedded model with measured speeds (None for other models)."""
    spec = EMBEDDED_MODELS.get(model)
    if spec is None or not spec.prompt_speed or not spec.output_speed:
        return None
    reading = prompt_tokens / spec.prompt_speed
    return TimeEstimate(
        typical_seconds=reading + TYPICAL_OUTPUT_SHARE * output_room / spec.output_speed,
        most_seconds=reading + output_room / spec.output_speed,
        prompt_speed=spec.prompt_speed,
        output_speed=spec.output_speed,
    )


# --- what logged calls cost ----------------------------------------------------------------------


@dataclass
class Spend:
    """Sums over logged calls, with their cost where every price is known."""

    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0
    unpriced: list[str] = field(default_factory=list)  # "model at endpoint" with no known price


def spend(totals: list[LogTotal]) -> Spend:
    """What the calls summed per endpoint and model cost (cache hits carry no tokens: free)."""
    out = Spend()
    for t in totals:
        out.calls += t.calls
        out.cache_hits += t.cache_hits
        out.errors += t.errors
        out.prompt_tokens += t.prompt_tokens
        out.completion_tokens += t.completion_tokens
        found = rate(t.endpoint, t.model)
        if found is not None:
            out.usd += found.usd(t.prompt_tokens, t.completion_tokens)
        elif t.prompt_tokens or t.completion_tokens:
            out.unpriced.append(f"{t.model} at {t.endpoint}")
    return out
