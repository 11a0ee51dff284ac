"""Benchmark: cold and warm indexing of a large real code tree, and bm25s against rank_bm25.

    python bench/index.py [TREE]        (default: this interpreter's site-packages)

Prints figures; asserts nothing. Each phase runs in a fresh subprocess so peak memory is its own.
Targets (2-core machine): ~1M lines cold <= 20 s, warm <= 2 s, peak memory <= 2 GB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

PHASE = """
import json, resource, sys, time
from agent.ingest.index import build_index
t = time.perf_counter()
idx = build_index(sys.argv[1])
seconds = time.perf_counter() - t
s = idx.stats
print(json.dumps({"seconds": seconds, "files": sum(s.files_by_kind.values()),
    "lines": sum(s.lines_by_language.values()), "chunks": s.chunks, "tokens": s.tokens,
    "read": s.read_files, "reused": s.reused_files,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

# The same cold index with the repository model's extraction switched off: what the model adds is
# the difference (it runs in a second process beside indexing on a large tree, so re-timing it
# alone would overstate it).
assert "from agent.ingest.index import build_index" in PHASE  # what NO_MODEL replaces
NO_MODEL = PHASE.replace(
    "from agent.ingest.index import build_index",
    """import agent.ingest.index as ix
from agent.ingest.index import build_index
class NoExtraction:
    def __enter__(self): return self
    def __exit__(self, *exc): pass
    def add(self, path, text, language): pass
    def finish(self): return {}
ix.Extraction = NoExtraction""",
)

MODEL = """
import json, resource, sys, time
from collections import Counter
from agent.ingest.index import build_index
from agent.ingest.repomodel.model import extract_file
idx = build_index(sys.argv[1])
t = time.perf_counter()
model = idx.model
assemble = time.perf_counter() - t
t = time.perf_counter()
parsed = 0
for path, rec in idx.records.items():
    if rec.skip is None and rec.model is not None:
        extract_file(path, "\\n".join(idx.file_lines(path) or []), rec.language)
        parsed += 1
extract = time.perf_counter() - t
print(json.dumps({"assemble_s": assemble, "extract_s": extract, "parsed_files": parsed,
    "parsed_lines": sum(rec.lines for rec in idx.records.values() if rec.model is not None),
    "symbols": model.symbol_count, "interfaces": len(model.interfaces),
    "tables": len(model.tables), "components": len(model.components),
    "skipped": dict(model.skipped),
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COMPARE = """
import json, sys, time, random
from agent.ingest.index import build_index
from agent.ingest.retrieval import tokenize, Retriever
idx = build_index(sys.argv[1])
chunks = [c for c in idx.chunks if c.kind != "history"]
docs = [tokenize(f"{c.path} {c.header_path} {c.text}") for c in chunks]
queries = ["retry with exponential backoff", "parse configuration file", "http request timeout",
           "database connection pool", "why is the cache invalidated", "json schema validation",
           "thread safety lock", "read environment variable", "command line arguments parser",
           "unicode decode error handling"]
out = {}
t = time.perf_counter(); r = Retriever(chunks, docs); out["bm25s_index_s"] = time.perf_counter() - t
t = time.perf_counter()
top_a = [[h.chunk.hash for h in r.search(q, 10)] for q in queries]
out["bm25s_query_ms"] = (time.perf_counter() - t) / len(queries) * 1000
try:
    from rank_bm25 import BM25Okapi
    t = time.perf_counter(); rb = BM25Okapi(docs); out["rank_bm25_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    top_b = []
    for q in queries:
        scores = rb.get_scores(tokenize(q))
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:10]
        top_b.append([chunks[i].hash for i in best])
    out["rank_bm25_query_ms"] = (time.perf_counter() - t) / len(queries) * 1000
except ImportError:
    out["rank_bm25"] = "not installed (pip install rank-bm25 to compare)"
print(json.dumps(out))
"""


def run(code: str, tree: str, home: str) -> dict[str, object]:
    env = {**os.environ, "DOCAGENT_HOME": home}
    proc = subprocess.run(
        [sys.executable, "-c", code, tree], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    result: dict[str, object] = json.loads(proc.stdout.strip().split("\n")[-1])
    return result


def main() -> None:
    tree = sys.argv[1] if len(sys.argv) > 1 else sysconfig.get_paths()["purelib"]
    # Every file read once first, so neither cold run pays the disk (the page cache is warm).
    for folder, _, names in os.walk(tree):
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    handle.read()
            except OSError:
                pass
    with tempfile.TemporaryDirectory() as home:
        bare = run(NO_MODEL, tree, home)
    with tempfile.TemporaryDirectory() as home:
        cold = run(PHASE, tree, home)
        warm = run(PHASE, tree, home)
        shape = run(MODEL, tree, home)
        # The assembled model is kept with the index: a second use loads it.
        reused = run(MODEL, tree, home)
        compare = run(COMPARE, tree, home)
    lines = float(cold["lines"])  # type: ignore[arg-type]
    per_m = 1_000_000 / lines
    print(f"tree: {tree}")
    print(
        f"files {cold['files']:,}  lines {int(lines):,}  chunks {cold['chunks']:,}  tokens {cold['tokens']:,}"
    )
    for name, r in (("cold", cold), ("warm", warm)):
        s = float(r["seconds"])  # type: ignore[arg-type]
        print(
            f"{name}: {s:6.2f} s  ({lines / s:,.0f} lines/s, {float(r['files']) / s:,.0f} files/s; "  # type: ignore[arg-type]
            f"{s * per_m:.2f} s per 1M lines)  read {r['read']} reused {r['reused']}  peak {r['peak_mb']:.0f} MB"
            f" (largest child process: {r['worker_peak_mb']:.0f} MB, the extraction worker or git)"
        )
    print(f"warm/cold ratio: {float(warm['seconds']) / float(cold['seconds']):.3f}")  # type: ignore[arg-type]
    # The repository model: per-file extraction is part of the cold index (what it adds is the cold
    # index against one without it; its own cost is re-timed alone, in one process); assembly
    # (ranking, components, stack facts) runs on first use of the model, warm or cold.
    extract, assemble = float(shape["extract_s"]), float(shape["assemble_s"])  # type: ignore[arg-type]
    cold_s, bare_s = float(cold["seconds"]), float(bare["seconds"])  # type: ignore[arg-type]
    print(
        f"repository model: cold index {cold_s:.2f} s with it, {bare_s:.2f} s without "
        f"({cold_s / bare_s - 1:+.0%} added); extraction alone in one process {extract:.2f} s "
        f"({extract * 1_000_000 / max(float(shape['parsed_lines']), 1):.2f} s per "  # type: ignore[arg-type]
        f"1M parsed lines), assembly {assemble:.2f} s on first use, warm index + assembled model "
        f"{float(warm['seconds']) + float(reused['assemble_s']):.2f} s once kept; "  # type: ignore[arg-type]
        f"{shape['parsed_files']:,} files parsed, "
        f"{shape['symbols']:,} definitions, {shape['interfaces']:,} interfaces, {shape['tables']} tables, "
        f"skipped {shape['skipped']}; peak {float(shape['peak_mb']):.0f} MB"  # type: ignore[arg-type]
    )
    for key, value in compare.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    time.sleep(0)


if __name__ == "__main__":
    main()
