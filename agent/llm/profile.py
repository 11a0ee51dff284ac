"""What depends on the model and its endpoint, decided in one place: how much evidence and brief a
prompt carries and whether the model writes its values or points at lines. Drafting and `why` ask
the profile; they never look at model names or URLs themselves.

The structured-output mode a client starts in and whether it checks the endpoint first are decided
here too (`first_mode`, `needs_preflight`); the client settles the mode at run time from there (it
falls back when an endpoint rejects one). Concurrency comes from the settings (one call at a time
on a local server), and prices from agent/llm/costs.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.base.errors import UserInputError
from agent.llm.local_model import EMBEDDED_MODELS
from agent.llm.settings import ModelSettings, StructuredMode

STYLES = ("write", "extract")
# Measured on the 0.5B model: with more evidence it answers from the first item only, and every
# 100 prompt tokens cost ~1 s on 2 cores.
EMBEDDED_EVIDENCE_TOKENS = 1200
# A full overview draft stays under 150k input tokens: measured on datasette (114k lines), 4,100
# gives 139k; 4,500 gave 152k once evidence lines carried their numbers.
REMOTE_EVIDENCE_TOKENS = 4100
# The brief sits in the prompt's constant prefix (after the instructions, before the section),
# which a server with prefix caching keeps between calls. EMBEDDED_BRIEF_TOKENS is the size tried
# on the 0.5B (see ModelProfile.brief_tokens).
EMBEDDED_BRIEF_TOKENS = 350
REMOTE_BRIEF_TOKENS = 700


@dataclass(frozen=True)
class ModelProfile:
    """The model-dependent choices of one run."""

    small_context: bool  # a model on this machine: 8k context, ~100 prompt tokens a second
    style: str  # write | extract
    evidence_tokens: int  # per draft call
    # The repository brief in draft and `why` prompts (0: none): for models that can use it, not a
    # small local one. Measured on the 0.5B (quick set, one run): with the brief it answered 19
    # fields instead of 32 and citation validity fell 96.7% -> 95.0%, stack, modules and rationale
    # unchanged; in `why` prompts every placement tried turned one of two recorded answers from
    # "documented" with the right citation into "not recorded" or into the brief's own words.
    brief_tokens: int

    @classmethod
    def of(
        cls,
        settings: ModelSettings | None,
        style: str | None = None,
        evidence_tokens: int | None = None,
    ) -> ModelProfile:
        """The profile for these settings (None: a plan, sized for the embedded default), with
        the user's --style and --evidence-tokens where given."""
        small = settings is None or settings.small_context
        return cls(
            small_context=small,
            style=resolve_style(style, settings.model if settings else None),
            evidence_tokens=evidence_tokens
            or (EMBEDDED_EVIDENCE_TOKENS if small else REMOTE_EVIDENCE_TOKENS),
            brief_tokens=0 if small else REMOTE_BRIEF_TOKENS,
        )


def resolve_style(style: str | None, model: str | None) -> str:
    """`write` (the model writes each value) or `extract` (it points at the lines that answer and
    the value is those lines): extract for models too small to write (see local_model)."""
    if style:
        if style not in STYLES:
            raise UserInputError(
                f"Unknown draft style {style!r}.", hint="Use --style write or --style extract."
            )
        return style
    spec = EMBEDDED_MODELS.get(model or "")
    return "extract" if spec is not None and spec.extractive else "write"


def first_mode(settings: ModelSettings) -> StructuredMode:
    """The structured-output mode to start in: as configured; for AUTO, json_object on the embedded
    llama.cpp server (its grammar takes the schema), json_schema on OpenAI itself, and AUTO (found
    by the preflight) on any other endpoint."""
    if settings.mode is not StructuredMode.AUTO:
        return settings.mode
    if settings.embedded:
        return StructuredMode.JSON_OBJECT
    return StructuredMode.JSON_SCHEMA if not settings.base_url else StructuredMode.AUTO


def needs_preflight(settings: ModelSettings) -> bool:
    """Whether the client checks the endpoint with one tiny call before the first paid one (the
    embedded server is docagent's own: it is checked when it starts)."""
    return settings.preflight and not settings.embedded
