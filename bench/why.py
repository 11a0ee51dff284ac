"""Benchmark: does `docagent why` retrieve the source that holds the answer, and answer it?

    python bench/why.py --repos DIR     (DIR/<name> checkouts of the repositories in why_questions.json;
                                          missing ones are cloned there with git)
    python bench/why.py --truth --repos-dir DIR [--held-out] [--model NAME | --no-model | --no-records]

The first form prints recall@1 and recall@8 of the evidence ranking `docagent why` uses, and, in the
same run, of the baseline the issue gives for scale: plain BM25 over fixed 40-line chunks of every
text file. Targets: recall@8 >= 0.97, recall@1 >= 0.80. Needs no model.

`--truth` asks the quality benchmark's rationale questions (bench/truth/*.json: 6 per repository,
each with the file and lines that answer it and the keywords a right answer holds) on the pinned
checkouts: retrieval recall@1/@8 of that file, and **answer accuracy**: the answer is documented and
holds every keyword group, and its cited lines state them too (a "documented" answer whose cited
lines do not is counted as a false documented answer). With `--no-model` only answers quoted from
decision records count; the rest are "not answered". Held-out repositories only with --held-out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import bm25s

HERE = Path(__file__).resolve().parent


def baseline_rank(root: Path, question: str, k: int) -> list[str]:
    """Plain BM25 (bm25s default tokenizer) over fixed 40-line chunks of every tracked text file."""
    files = subprocess.run(
        ["git", "-C", str(root), "ls-files"], capture_output=True, text=True
    ).stdout.split("\n")
    docs, paths = [], []
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines = text.split("\n")
        for n in range(0, len(lines), 40):
            docs.append("\n".join(lines[n : n + 40]))
            paths.append(rel)
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(docs, show_progress=False), show_progress=False)
    ids, _ = retriever.retrieve(
        bm25s.tokenize([question], show_progress=False), k=k, show_progress=False
    )
    return [paths[i] for i in ids[0]]


def cited_text(index: object, c: object) -> str:
    """What a citation's lines say today (a commit: its message)."""
    from agent.draft.answers import Citation
    from agent.ingest.index import RepoIndex

    assert isinstance(index, RepoIndex) and isinstance(c, Citation)
    if not c.start_line:
        commit = index.commit(c.path)
        return commit.message if commit else ""
    lines = index.file_lines(c.path) or []
    return " ".join(lines[c.start_line - 1 : c.end_line])


def truth_run(args: argparse.Namespace) -> None:
    """Retrieval and answer accuracy on the quality benchmark's documented reasons."""
    sys.path.insert(0, str(HERE.parent))
    from agent import why, why_evidence
    from agent.ingest.index import build_index
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings
    from bench.quality import source_ok, work_copy
    from bench.quality_score import all_groups
    from bench.quality_truth import all_truths, parse_at

    if args.no_records:
        from agent.draft import recorded

        recorded.MIN_COVERAGE = float("inf")
    truths = [t for t in all_truths() if args.held_out or not t.held_out]
    if args.only:
        truths = [t for t in truths if t.name in args.only.split(",")]
    out = args.repos_dir / ".why"
    client = None if args.no_model else ModelClient(resolve_settings(model=args.model))
    totals = Counter[str]()
    for t in truths:
        problem = source_ok(t, args.repos_dir)
        if problem:
            print(f"skip {t.name}: {problem}", file=sys.stderr)
            continue
        index = build_index(work_copy(t, args.repos_dir, out, "asis"))
        for r in t.rationale:
            path = parse_at(r.at)[0]
            ranked = [e.path for e in why_evidence.gather(index, r.why, budget=10**9, k=8)]
            totals["questions"] += 1
            totals["recall@1"] += path in ranked[:1]
            totals["recall@8"] += path in ranked[:8]
            if client is None:
                result = why.answer_from_records(index, r.why)
            else:
                result = why.answer(index, r.why, client)
            verdict = "not answered"
            if result is not None and result.basis == "documented":
                cited = " ".join(cited_text(index, c) for c in result.citations)
                said = all_groups(result.answer, r.keywords)
                if said and all_groups(cited, r.keywords):
                    verdict = "right"
                elif said:
                    verdict = "false documented"
                else:
                    verdict = "wrong"
                totals["from records"] += result.from_record
            totals[verdict] += 1
            source = "record" if result is not None and result.from_record else "model"
            print(
                f"  {t.name:10} {verdict:16} {source:6} {result.confidence if result else 0:.2f} "
                f"{r.why[:70]}",
                flush=True,
            )
            if args.verbose and result is not None and verdict != "right":
                where = ", ".join(c.label for c in result.citations)
                print(f"      -> {where}: {result.answer[:200]}", flush=True)
    n = totals["questions"] or 1
    print(
        f"{totals['questions']} questions on {len(truths)} repositories; "
        f"retrieval recall@1 {totals['recall@1'] / n:.2f} recall@8 {totals['recall@8'] / n:.2f}; "
        f"answers right {totals['right'] / n:.0%}, wrong {totals['wrong']}, "
        f"false documented {totals['false documented']}, not answered {totals['not answered']}; "
        f"{totals['from records']} answered from decision records"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=Path)
    parser.add_argument("--truth", action="store_true", help="the quality benchmark's reasons")
    parser.add_argument("--repos-dir", type=Path, help="clones for --truth (as bench/quality.py)")
    parser.add_argument("--held-out", action="store_true")
    parser.add_argument("--only", help="comma-separated repository names (--truth)")
    parser.add_argument("--model", help="model for --truth answers (default: the embedded one)")
    parser.add_argument("--no-model", action="store_true", help="--truth: records only")
    parser.add_argument(
        "--no-records", action="store_true", help="--truth: the model answers all (the old way)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="--truth: show wrong answers")
    args = parser.parse_args()
    os.environ.setdefault("DOCAGENT_HOME", tempfile.mkdtemp(prefix="docagent-bench-"))
    if args.truth:
        if args.repos_dir is None:
            parser.error("--truth needs --repos-dir")
        truth_run(args)
        return
    if args.repos is None:
        parser.error("--repos is required")
    from agent.ingest.index import build_index
    from agent.why import gather

    spec = json.loads((HERE / "why_questions.json").read_text())
    args.repos.mkdir(parents=True, exist_ok=True)
    for name, url in spec["repos"].items():
        if not (args.repos / name).exists():
            subprocess.run(["git", "clone", "-q", url, str(args.repos / name)], check=True)
    indexes = {name: build_index(args.repos / name) for name in spec["repos"]}
    ours = {1: 0, 8: 0}
    base = {1: 0, 8: 0}
    misses = []
    for item in spec["questions"]:
        root = args.repos / item["repo"]
        ranked = [e.path for e in gather(indexes[item["repo"]], item["q"], budget=10**9, k=8)]
        bl = baseline_rank(root, item["q"], 8)
        for k in (1, 8):
            ours[k] += any(p in item["expect"] for p in ranked[:k])
            base[k] += any(p in item["expect"] for p in bl[:k])
        if not any(p in item["expect"] for p in ranked[:1]):
            misses.append((item["q"], ranked[:3]))
    n = len(spec["questions"])
    print(f"{n} questions on {len(spec['repos'])} repositories")
    print(f"docagent why retrieval: recall@1 {ours[1] / n:.2f}  recall@8 {ours[8] / n:.2f}")
    print(
        f"baseline (BM25, 40-line chunks): recall@1 {base[1] / n:.2f}  recall@8 {base[8] / n:.2f}"
    )
    for q, top in misses:
        print(f"  miss@1: {q}  ->  {top}", file=sys.stderr)


if __name__ == "__main__":
    main()
