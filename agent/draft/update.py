"""`docagent draft --update`: re-draft only what moved since the last draft, keep every other byte.

A call is asked again when one of its fields is stale (`docagent check`: its cited lines changed or
went away), was never drafted (new in the template, or its call failed), or when the call's prompt
is no longer the one the last draft sent (its section gained, lost or changed evidence; drafts older
than prompt digests fall back to "its evidence lies in a file changed since the draft's commit").
`--since COMMIT` also re-asks every call whose evidence lies in a file changed since that commit.
Every other call keeps its previous answer, with moved citations given their new lines, so an
unchanged repository costs no model call and changes no byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.base.errors import UserInputError
from agent.draft.answers import FieldResult
from agent.draft.check import CheckReport, check_document, load_record, safe_ref
from agent.draft.outputs import companion_paths
from agent.ingest.history import git


def prompt_digest(messages: list[dict[str, str]]) -> str:
    """What identifies a call's prompt across runs and machines."""
    return hashlib.sha1(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class UpdatePlan:
    """Which calls are asked again (and why), and the previous answers the others keep."""

    redo: dict[int, str] = field(default_factory=dict)  # index in the plan -> reason
    kept: dict[str, FieldResult] = field(default_factory=dict)
    human: dict[str, FieldResult] = field(default_factory=dict)  # reviewed/edited: record kept
    previous_commit: str | None = None


def load_previous(output: Path) -> dict[str, Any]:
    """The last draft's record; --update needs one."""
    record = companion_paths(output)["draft_json"]
    if not output.is_file() or not record.is_file():
        raise UserInputError(
            f"--update: {output} has no earlier draft to update (no {record.name} beside it)",
            hint="Draft it once without --update.",
        )
    return load_record(output)[1]


def resolve_since(repo: Path, since: str) -> str:
    """The commit --since names, or a one-line error."""
    found = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}")
    if not found or not found.strip():
        raise UserInputError(
            f"--since {since}: not a commit of {repo}", hint="Give a commit id, tag or branch."
        )
    return found.strip()


def changed_files(repo: Path, since: str | None) -> set[str] | None:
    """Files changed (committed or not) since a commit id; None when that cannot be told."""
    since = safe_ref(since)
    out = git(repo, "diff", "--name-only", since, "--") if since else None
    return None if out is None else {line for line in out.split("\n") if line}


def plan_update(
    output: Path,
    repo: Path,
    calls: list[tuple[list[str], list[str], str]],
    since: str | None = None,
) -> UpdatePlan:
    """Decide per call (its field ids, evidence spans, prompt digest) whether to ask it again."""
    data = load_previous(output)
    report: CheckReport = check_document(output, repo)
    stale = {f.id for f in report.fields if f.state == "stale"}
    moved = {
        (c.citation.path, c.citation.start_line, c.citation.end_line): c.moved_to
        for f in report.fields
        for c in f.citations
        if c.state == "moved" and c.moved_to
    }
    previous = {str(r.get("id")): r for r in data["fields"] if isinstance(r, dict)}
    asked = {
        tuple(sorted(p.get("field_ids") or [])): p
        for p in data.get("plan") or []
        if isinstance(p, dict)
    }
    base = safe_ref(data.get("commit"))
    touched_since = changed_files(repo, resolve_since(repo, since)) if since else None
    touched_draft = changed_files(repo, base)
    out = UpdatePlan(previous_commit=base)
    # A value a human reviewed or edited keeps its text whatever a call returns; its record must
    # keep the old answer too, or the next `check` would call the stale value fresh.
    for f in report.fields:
        if f.owner != "docagent" and f.id in previous:
            out.human[f.id] = FieldResult.model_validate(previous[f.id])
    for n, (field_ids, spans, digest) in enumerate(calls):
        files = {
            s.rsplit(":", 1)[0] if ":" in s and not s.startswith("commit:") else s for s in spans
        }
        before = asked.get(tuple(sorted(field_ids)))
        missing = [f for f in field_ids if _never_drafted(previous.get(f))]
        reason = ""
        if missing:
            reason = f"never drafted: {', '.join(missing[:3])}"
        elif stale & set(field_ids):
            reason = f"stale evidence: {', '.join(sorted(stale & set(field_ids))[:3])}"
        elif before is None:
            reason = "a new call (the template or the plan changed)"
        elif before.get("prompt_digest"):
            if before["prompt_digest"] != digest:
                reason = "its evidence changed"
        elif touched_draft is None or files & touched_draft:
            reason = "its evidence lies in files changed since the draft"
        if not reason and touched_since is not None and files & touched_since:
            reason = f"its evidence lies in files changed since {since}"
        if reason:
            out.redo[n] = reason
            continue
        for fid in field_ids:
            kept = FieldResult.model_validate(previous[fid])
            _apply_moved(kept, moved)
            out.kept[fid] = kept
    return out


def _never_drafted(result: dict[str, Any] | None) -> bool:
    if result is None:
        return True
    return result.get("source") == "error" or str(result.get("status")) == "not_drafted"


def _apply_moved(result: FieldResult, moved: dict[tuple[str, int, int], tuple[int, int]]) -> None:
    for c in result.citations:
        span = moved.get((c.path, c.start_line, c.end_line))
        if span:
            c.start_line, c.end_line = span
    for item in result.items:
        for raw in item.get("citations") or []:
            span = moved.get((raw.get("path"), raw.get("start_line"), raw.get("end_line")))
            if span:
                raw["start_line"], raw["end_line"] = span
