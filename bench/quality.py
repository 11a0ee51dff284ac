"""Benchmark: how good are docagent's drafts, on real repositories with maintainer-written
architecture docs (truth files in bench/truth/, format in bench/truth/README.md).

    python bench/quality.py --repos-dir DIR                 # dev set (held-out repos left out)
    python bench/quality.py --repos-dir DIR --quick         # 3 repos, as they are, overview only
    python bench/quality.py --repos-dir DIR --held-out      # also the 2 held-out repos (end of a change)
    python bench/quality.py --repos-dir DIR --plan-only     # evidence sufficiency only, no model
    python bench/quality.py --repos-dir DIR --score-only    # re-score the drafts already made
    python bench/quality.py --repos-dir DIR --check-truth   # check the truth files mechanically
    python bench/quality.py ... --model qwen2.5-coder-1.5b  # or --base-url URL --model NAME

Each repository is drafted twice from a private copy at its pinned commit: **as it is** (its notes
are evidence; rationale recall is measured here) and **stripped** (its architecture description
removed, so stack and module recall show what docagent infers from code). Agent-instruction files
are removed from both. Drafts, the index cache and the response cache live under --out, so a
re-score or a re-run after a scoring change costs no model time.

`REPOS_DIR/<name>` must be a git clone holding the pinned commit; the script says how to get the
missing ones. It never runs in the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_score import (
    Draft,
    RepoFiles,
    score_citations,
    score_component,
    score_coverage,
    score_existence,
    score_modules,
    score_rationale,
    score_stack,
    score_static,
    score_sufficiency,
)
from bench.quality_truth import AGENT_FILES, RepoTruth, all_truths, check_truth

QUICK = ("flask", "datasette", "zoekt")
VARIANTS = ("asis", "stripped")
OVERVIEW = "architecture-overview"
COMPONENT = "architecture-component"
# Fixed identity and dates: the stripped copy's commit (and so the index and response cache keys)
# is the same on every run.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **_GIT_ENV},
    )


def source_ok(truth: RepoTruth, repos_dir: Path) -> str | None:
    """None when the clone holds the pinned commit, else how to get it."""
    src = repos_dir / truth.name
    if (src / ".git").exists() or (src / "HEAD").exists():
        if _git("-C", str(src), "cat-file", "-e", f"{truth.commit}^{{commit}}").returncode == 0:
            return None
        return f"{src} lacks commit {truth.commit[:12]}: git -C {src} fetch origin {truth.commit}"
    return (
        f"missing {src}: git clone https://github.com/{truth.repo} {src} "
        f"&& git -C {src} checkout {truth.commit}"
    )


def work_copy(truth: RepoTruth, repos_dir: Path, out: Path, variant: str) -> Path:
    """A private clone at the pinned commit, with agent files (and, stripped, the architecture
    description) removed in one commit."""
    dest = out / "work" / f"{truth.name}-{variant}"
    marker = dest / ".git" / "docagent-bench"
    remove = [*AGENT_FILES, *truth.agent_files]
    if variant == "stripped":
        remove += truth.architecture_docs
    # The copy is reused only while the commit and the removed files are the same.
    stamp = json.dumps([truth.commit, sorted(remove)])
    if marker.exists() and marker.read_text() == stamp:
        return dest
    if dest.exists():
        subprocess.run(["rm", "-rf", str(dest)], check=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = repos_dir / truth.name
    proc = _git("clone", "-q", "--no-checkout", str(src), str(dest))
    sparse = src / ".git" / "info" / "sparse-checkout"
    if proc.returncode == 0 and sparse.exists():
        # A clone made sparse (e.g. to leave out a blob its mirror lacks) is copied as it is.
        _git("-C", str(dest), "config", "core.sparseCheckout", "true")
        (dest / ".git" / "info").mkdir(exist_ok=True)
        (dest / ".git" / "info" / "sparse-checkout").write_text(sparse.read_text())
    if proc.returncode == 0:
        proc = _git("-C", str(dest), "checkout", "-q", truth.commit)
    if proc.returncode:
        raise SystemExit(f"cannot check out {truth.repo} at {truth.commit}: {proc.stderr.strip()}")
    _git("-C", str(dest), "rm", "-r", "-q", "--ignore-unmatch", "--", *remove)
    _git("-C", str(dest), "commit", "-q", "-m", f"bench: remove {variant} files")
    marker.write_text(stamp)
    return dest


def placeholders(template_name: str) -> tuple[dict[str, str], str]:
    """Each field's placeholder text (what the template asks, e.g. "Docker, Kubernetes, etc."),
    and the template's text."""
    from agent.document.templates import load_template

    template = load_template(template_name)
    words: dict[str, str] = {}
    for sec in template.sections():
        members = list(sec.fields)
        for g in sec.groups:
            members += g.members()[0]
        for f in members:
            rows = " ".join(" ".join(r) for r in f.example_rows)
            words[f.id] = f.description or rows
    return words, Path(template.path).read_text(encoding="utf-8")


def draft_paths(out: Path, name: str, variant: str, template: str) -> tuple[Path, Path]:
    """Where a run's Markdown and .draft.json live."""
    md = out / "drafts" / f"{name}-{variant}-{template}.md"
    return md, md.with_suffix(".draft.json")


def run_one(
    truth: RepoTruth,
    repo: Path,
    md: Path,
    template: str,
    client: Any,
    plan_only: bool,
    sections: list[str] | None = None,
) -> dict[str, Any]:
    """Draft (or plan) one repository; returns the .draft.json content."""
    from agent.draft.run import DraftOptions, run_draft

    topic = truth.component.topic if template == COMPONENT and truth.component else ""
    options = DraftOptions(
        template=template,
        output=md,
        force=True,
        topic=topic,
        dry_run=plan_only,
        sections=sections,
    )
    md.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def progress(event: Any) -> None:
        if event.kind == "done":
            print(f"    {event.done}/{event.total} {event.title[:70]}", flush=True)

    before = dataclasses.replace(client.usage) if client is not None else None
    outcome = run_draft(repo, options, client, progress=None if plan_only else progress)
    if plan_only:
        return {
            "fields": [r.model_dump(mode="json") for r in outcome.results.values()],
            "plan": [p.__dict__ for p in outcome.plan],
            "summary": {"seconds": time.perf_counter() - started},
        }
    data: dict[str, Any] = json.loads(md.with_suffix(".draft.json").read_text(encoding="utf-8"))
    if before is not None:
        # One client serves every draft of a run: its usage is cumulative, the summary per draft.
        after = client.usage
        data["summary"].update(
            model_calls=after.calls - before.calls,
            cache_hits=after.cache_hits - before.cache_hits,
            prompt_tokens=after.prompt_tokens - before.prompt_tokens,
            completion_tokens=after.completion_tokens - before.completion_tokens,
            model_seconds=round(after.model_seconds - before.model_seconds, 2),
        )
        md.with_suffix(".draft.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return data


def score(
    truth: RepoTruth, variant: str, template: str, data: dict[str, Any], markdown: str, repo: Path
) -> dict[str, Any]:
    """Every figure for one draft."""
    words, template_text = placeholders(template)
    draft = Draft.from_json(data, markdown, words)
    files = RepoFiles(repo)
    row: dict[str, Any] = {"repo": truth.name, "variant": variant, "template": template}
    if template == COMPONENT:
        assert truth.component is not None
        row["component"] = score_component(truth.component, draft)
    else:
        row["stack"] = score_stack(truth, draft)
        row["modules"] = score_modules(truth, draft)
        # Scored with no model too (plan only): reasons are quoted from recorded decisions.
        if variant == "asis":
            row["rationale"] = score_rationale(truth, draft)
        row["sufficiency"] = score_sufficiency(truth, draft, files)
    # A plan's own answers (facts, the repository model, recorded decisions) carry citations too.
    row["citations"] = score_citations(draft, files)
    if markdown:
        row["existence"] = score_existence(draft, files, template_text)
        row["coverage"] = score_coverage(draft)
    else:
        row["coverage"] = score_static(draft)
    return row


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _mean(rows: list[dict[str, Any]], *path: str) -> float | None:
    values = []
    for row in rows:
        v: Any = row
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            values.append(float(v))
    return sum(values) / len(values) if values else None


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per draft, then the means."""
    head = (
        f"{'repo':<11}{'variant':<9}{'stack':>6}{'false':>6}{'mods':>6}{'why':>6}{'cites':>6}"
        f"{'exist':>6}{'suff':>6}{'ans':>5}{'flag':>5}{'nf':>5}{'err':>5}{'calls':>6}{'min':>6}"
    )
    print(head)
    overview = [r for r in rows if r["template"] == OVERVIEW]
    for r in overview:
        cov = r.get("coverage", {})
        print(
            f"{r['repo']:<11}{r['variant']:<9}{_pct(r['stack']['accuracy']):>6}"
            f"{r['stack']['false_claims']:>6}{_pct(r['modules']['recall']):>6}"
            f"{_pct(r.get('rationale', {}).get('recall')):>6}"
            f"{_pct(r.get('citations', {}).get('validity')):>6}"
            f"{_pct(r.get('existence', {}).get('ratio')):>6}{_pct(r['sufficiency']['share']):>6}"
            f"{cov.get('answered', '—'):>5}{cov.get('flagged', '—'):>5}{cov.get('not_found', '—'):>5}"
            f"{cov.get('not_drafted', '—'):>5}{cov.get('calls', '—'):>6}{cov.get('minutes', '—'):>6}"
        )
    if overview:
        print(
            f"{'mean':<20}{_pct(_mean(overview, 'stack', 'accuracy')):>6}"
            f"{_mean(overview, 'stack', 'false_claims') or 0:>6.1f}"
            f"{_pct(_mean(overview, 'modules', 'recall')):>6}"
            f"{_pct(_mean(overview, 'rationale', 'recall')):>6}"
            f"{_pct(_mean(overview, 'citations', 'validity')):>6}"
            f"{_pct(_mean(overview, 'existence', 'ratio')):>6}"
            f"{_pct(_mean(overview, 'sufficiency', 'share')):>6}"
        )
    for r in rows:
        if r["template"] == COMPONENT:
            c = r["component"]
            print(
                f"component {r['repo']:<11} env recall {_pct(c['env_recall'])} precision "
                f"{_pct(c['env_precision'])} ({c['env_drafted']} rows); code locations recall "
                f"{_pct(c['locations_recall'])} precision {_pct(c['locations_precision'])}"
            )


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The overall figures (means over drafts) for the JSON report."""
    overview = [r for r in rows if r["template"] == OVERVIEW]
    return {
        "stack_accuracy": _mean(overview, "stack", "accuracy"),
        "false_claims_per_draft": _mean(overview, "stack", "false_claims"),
        "module_recall": _mean(overview, "modules", "recall"),
        "module_recall_stripped": _mean(
            [r for r in overview if r["variant"] == "stripped"], "modules", "recall"
        ),
        "rationale_recall": _mean(overview, "rationale", "recall"),
        "citation_validity": _mean(overview, "citations", "validity"),
        "citation_validity_inferred": _mean(overview, "citations", "inferred_validity"),
        "citation_validity_all_quoting_rule": _mean(overview, "citations", "validity_all"),
        "existence_ratio": _mean(overview, "existence", "ratio"),
        "evidence_sufficiency": _mean(overview, "sufficiency", "share"),
        "answered": _mean(overview, "coverage", "answered"),
        "flagged": _mean(overview, "coverage", "flagged"),
        "minutes_per_draft": _mean(overview, "coverage", "minutes"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos-dir", type=Path, required=True)
    parser.add_argument("--repos", help="comma-separated names (default: all but held-out)")
    parser.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK)}, as they are")
    parser.add_argument("--held-out", action="store_true", help="include the held-out repos")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--component", action="store_true", help="also the component template")
    parser.add_argument(
        "--sections", action="append", help="draft only these sections (a slice; repeatable)"
    )
    parser.add_argument("--plan-only", action="store_true", help="no model: sufficiency only")
    parser.add_argument("--score-only", action="store_true", help="re-score existing drafts")
    parser.add_argument("--check-truth", action="store_true")
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--out", type=Path, help="default: REPOS_DIR/.quality/<model>")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    truths = all_truths()
    if args.repos:
        wanted = set(args.repos.split(","))
        unknown = wanted - {t.name for t in truths}
        if unknown:
            raise SystemExit(f"--repos: no truth file for {sorted(unknown)} in bench/truth/")
        truths = [t for t in truths if t.name in wanted]
    elif args.quick:
        truths = [t for t in truths if t.name in QUICK]
    elif not args.held_out and not args.check_truth:
        truths = [t for t in truths if not t.held_out]
    variants = ["asis"] if args.quick else args.variants.split(",")

    ready = []
    for t in truths:
        problem = source_ok(t, args.repos_dir)
        if problem:
            print(f"skipped {t.name}: {problem}", file=sys.stderr)
        else:
            ready.append(t)
    if args.check_truth:
        bad = 0
        for t in ready:
            problems = check_truth(t, args.repos_dir / t.name)
            bad += len(problems)
            print(f"{t.name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
            for p in problems:
                print(f"  {p}")
        raise SystemExit(1 if bad or len(ready) < len(truths) else 0)

    slug = re.sub(r"[^\w.-]+", "_", args.model or "embedded-default")
    if args.sections:
        slug += "-sections-" + re.sub(r"[^\w.-]+", "_", "+".join(args.sections))
    out: Path = args.out or args.repos_dir / ".quality" / slug
    out.mkdir(parents=True, exist_ok=True)
    os.environ["DOCAGENT_HOME"] = str(out / "home")
    client = None
    if not (args.plan_only or args.score_only):
        from agent.llm.client import ModelClient
        from agent.llm.settings import resolve_settings

        client = ModelClient(resolve_settings(base_url=args.base_url, model=args.model))
        print(f"model: {client.settings.describe()}")
    rows = []
    try:
        for t in ready:
            templates = [OVERVIEW] + ([COMPONENT] if args.component and t.component else [])
            for variant in variants:
                repo = work_copy(t, args.repos_dir, out, variant)
                for template in templates:
                    if template == COMPONENT and variant != "asis":
                        continue
                    md, dj = draft_paths(out, t.name, variant, template)
                    if args.score_only:
                        if not dj.exists():
                            print(f"no draft for {t.name} {variant} {template}", file=sys.stderr)
                            continue
                        data = json.loads(dj.read_text(encoding="utf-8"))
                    else:
                        print(f"{t.name} ({variant}, {template})", flush=True)
                        data = run_one(t, repo, md, template, client, args.plan_only, args.sections)
                    markdown = "" if args.plan_only else md.read_text(encoding="utf-8")
                    rows.append(score(t, variant, template, data, markdown, repo))
    finally:
        if client is not None:
            client.close()
    print()
    print_table(rows)
    report = {"model": slug, "overall": summarize(rows), "drafts": rows}
    print(json.dumps(report["overall"], indent=2))
    target = args.json or out / ("plan.json" if args.plan_only else "quality.json")
    target.write_text(json.dumps(report, indent=2))
    print(f"figures: {target}")


if __name__ == "__main__":
    main()
