"""Benchmark: does `docagent why` retrieve the source that holds the answer?

    python bench/why.py --repos DIR     (DIR/<name> checkouts of the repositories in why_questions.json;
                                          missing ones are cloned there with git)

Prints recall@1 and recall@8 of the evidence ranking `docagent why` uses, and, in the same run, of the
baseline the issue gives for scale: plain BM25 over fixed 40-line chunks of every text file.
Targets: recall@8 >= 0.97, recall@1 >= 0.80. Needs no model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DOCAGENT_HOME", tempfile.mkdtemp(prefix="docagent-bench-"))
    from agent.index import build_index
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
