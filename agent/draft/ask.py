"""Ask the model for one call unit and verify what it answered: a cut-off answer keeps the fields it completed and asks again only for the rest; a failed call is reported field by field, never as not found."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from agent.base.errors import (
    BudgetExceededError,
    ModelCancelledError,
    ModelError,
    ModelNotConfiguredError,
    ModelTruncatedError,
)
from agent.document.templates import Group
from agent.draft.answers import (
    FieldResult,
)
from agent.draft.citations import Verifier
from agent.draft.evidence import Evidence
from agent.draft.messages import (
    build_messages,
    max_output_tokens,
    unit_model,
)
from agent.draft.plan import Unit
from agent.draft.results import (
    failed_results,
)
from agent.draft.verify import field_result, flag_duplicates, group_result
from agent.llm.client import ModelClient
from agent.llm.json_repair import partial_members


@dataclass
class Drafting:
    """What every call of one draft shares, and how its calls went."""

    client: ModelClient
    verifier: Verifier
    sections_of: dict[str, str]
    repo_name: str
    extract: bool
    brief: str = ""
    calls: int = 0
    failed: int = 0
    first_failure: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, results: dict[str, FieldResult]) -> None:
        """Account for one unit's call: it failed when the call raised and none of its fields was
        drafted (an answer cut off at the token limit is an answer, reported field by field)."""
        with self._lock:
            self.calls += 1
            if results and all(
                r.source == "error" and r.reasons and r.reasons[0].startswith(CALL_FAILED)
                for r in results.values()
            ):
                self.failed += 1
                first = next(iter(results.values()))
                self.first_failure = self.first_failure or first.reasons[0]


CALL_FAILED = "model call failed"


def ask(
    ctx: Drafting,
    unit: Unit,
    evidence: list[Evidence],
    messages: list[dict[str, str]] | None = None,
) -> dict[str, FieldResult]:
    model = unit_model(unit, ctx.extract)
    messages = messages or build_messages(unit, evidence, ctx.repo_name, ctx.extract, ctx.brief)
    cut: set[str] = set()
    try:
        completion = ctx.client.complete(
            messages,
            model,
            max_tokens=max_output_tokens(unit, ctx.extract),
            purpose=f"draft: {unit.title}",
        )
        answers = {key: getattr(completion.value, key) for key in unit.keys}
    except ModelTruncatedError as exc:
        # Keep every field the answer completed before the cut; ask again only for the rest.
        answers, cut = salvage(model, exc.partial)
        rest = [key for key in unit.keys if key not in answers]
        if rest and answers:
            out = ask(ctx, sub_unit(unit, rest), evidence)
        else:
            # Truncation is not absence: these are "not drafted, cut off", never "not found".
            limit = max_output_tokens(unit, ctx.extract)
            reason = (
                f"cut off: the answer reached the token limit ({limit:,} tokens) before this "
                "was complete"
            )
            failed = failed_results(unit, ctx.sections_of, reason)
            out = {mid: r for mid, r in failed.items() if mid in {unit.keys[k] for k in rest}}
        return {**_verified(ctx, unit, answers, cut, evidence), **out}
    except ModelError as exc:
        if isinstance(exc, (ModelNotConfiguredError, BudgetExceededError, ModelCancelledError)):
            raise
        return failed_results(unit, ctx.sections_of, f"{CALL_FAILED}: {exc.message}")
    return _verified(ctx, unit, answers, cut, evidence)


def _verified(
    ctx: Drafting,
    unit: Unit,
    answers: dict[str, Any],
    cut: set[str],
    evidence: list[Evidence],
) -> dict[str, FieldResult]:
    """Check each answer of a unit against the repository."""
    by_id = {e.id: e for e in evidence}
    members = unit.members()
    results: dict[str, FieldResult] = {}
    for key, mid in unit.keys.items():
        if key not in answers:
            continue
        answer = answers[key]
        member = members[mid]
        section = ctx.sections_of.get(mid, unit.title)
        if isinstance(member, Group):
            results[mid] = group_result(member, answer, by_id, ctx.verifier, section)
        else:
            results[mid] = field_result(member, answer, by_id, ctx.verifier, section)
        result = results[mid]
        if result.status != "answered":
            continue
        if key in cut:
            result.flagged = True
            result.reasons.append(
                "the answer was cut off at the token limit; only its complete part was kept"
            )
        too_long = getattr(answer, "cut_parts", [])
        if too_long:
            result.flagged = True
            result.reasons.append(
                "the model's text was longer than docagent keeps and was cut ("
                + ", ".join(too_long[:5])
                + ")"
            )
        nested = member.members()[1] if isinstance(member, Group) else []
        if nested:
            # Groups inside a group item are not asked for: their template text stays in each
            # item, marked, for a human to fill.
            result.flagged = True
            result.reasons.append(
                "not drafted inside each item: "
                + ", ".join(g.label for g in nested)
                + " (a group within a group); fill it by hand"
            )
    flag_duplicates(list(results.values()))
    return results


# What a cut-off envelope is given for the parts after the cut: low confidence, so it is flagged.
_CUT_DEFAULTS = {"status": "answered", "confidence": 0.3}


def salvage(model: type[BaseModel], partial: str) -> tuple[dict[str, Any], set[str]]:
    """The answers a cut-off reply completed: {key: answer}, and the keys that had to be repaired
    (the cut came inside them: a list lost its last element, or status/confidence were missing)."""
    data, open_keys = partial_members(partial)
    answers: dict[str, Any] = {}
    cut: set[str] = set()
    for key, info in model.model_fields.items():
        raw = data.get(key)
        kind = info.annotation
        if (
            not isinstance(raw, dict)
            or not isinstance(kind, type)
            or not issubclass(kind, BaseModel)
        ):
            continue
        filled = {**_CUT_DEFAULTS, **raw} if "evidence" in raw else raw
        # Without the element being written at the cut, if a list lost it.
        trimmed = {k: v[:-1] if isinstance(v, list) and v else v for k, v in filled.items()}
        for attempt in (raw, filled, trimmed):
            try:
                answer = kind.model_validate(attempt)
            except ValidationError:
                continue
            # A list still open at the cut may have lost items the model would have written.
            was_cut = attempt is not raw or (key in open_keys and _holds_list(answer))
            if was_cut and not _has_content(answer):
                break  # nothing of it was complete: asked again, or reported as cut off
            answers[key] = answer
            if was_cut:
                cut.add(key)
            break
    return answers, cut


def _holds_list(answer: BaseModel) -> bool:
    return any(isinstance(getattr(answer, k, None), list) for k in ("items", "rows", "value"))


def _has_content(answer: BaseModel) -> bool:
    for k in ("items", "rows", "value"):
        if hasattr(answer, k):
            return bool(getattr(answer, k))
    return True  # an extract-style answer: its citation is its content


def sub_unit(unit: Unit, keys: list[str]) -> Unit:
    """The same unit asking only for some of its keys."""
    ids = {unit.keys[k] for k in keys}
    return Unit(
        title=unit.title,
        sections=unit.sections,
        fields=[f for f in unit.fields if f.id in ids],
        groups=[g for g in unit.groups if g.id in ids],
        keys={k: unit.keys[k] for k in keys},
        guidance=unit.guidance,
    )
