"""Which files and definitions are central: a reference graph between files, ranked with PageRank.

A file points to another when it uses a name the other defines (or imports it). Names defined in
many places (`get`, `Error`) carry little: an edge's weight is the square root of the uses divided
by the number of files defining the name, as in aider's repository map. A definition's score is the
rank its users pass to it. Power iteration with numpy: the graph has one node per code file.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
DAMPING = 0.85
# A name defined in more files than this is a convention (`New`, `Config`), not a reference.
MAX_DEFINERS = 6
# Names every codebase (and its standard library) uses: a use of them says little about which
# definition is meant.
_GENERIC = frozenset(
    [
        "Error",
        "Result",
        "Config",
        "Options",
        "Settings",
        "Context",
        "State",
        "Client",
        "Server",
        "Handler",
        "Type",
        "Value",
        "Data",
        "Item",
        "Node",
        "Args",
        "Builder",
        "Default",
        "Display",
        "Debug",
        "String",
        "Request",
        "Response",
        "Model",
        "Base",
        "Test",
        "main",
        "init",
        "test",
        "setup",
        "run",
    ]
)
_DISTINCT = re.compile(r"^(?=.{8,})(?:[a-z0-9]+_[a-z0-9_]+|[A-Z]?[a-z0-9]+(?:[A-Z][a-z0-9]*)+)$")


def _name_weight(name: str) -> float:
    # As in aider's repository map: long compound names are specific, generic ones are noise.
    if name in _GENERIC:
        return 0.1
    return 3.0 if _DISTINCT.match(name) else 1.0


@dataclass
class Ranking:
    """PageRank of files and scores of the definitions others use."""

    files: dict[str, float] = field(default_factory=dict)
    symbols: dict[tuple[str, str], float] = field(default_factory=dict)  # (path, name) -> score
    users: dict[tuple[str, str], int] = field(
        default_factory=dict
    )  # (path, name) -> files using it


def rank(
    texts: dict[str, str],
    defined: dict[str, set[str]],
    imports: dict[str, dict[str, int]],
) -> Ranking:
    """Rank files by the names they use from each other, and their definitions by that use.

    `texts`: code file -> text; `defined`: file -> the exported names it defines; `imports`:
    file -> imported files (or directories) -> line."""
    paths = sorted(texts)
    index = {p: i for i, p in enumerate(paths)}
    definers: dict[str, list[str]] = defaultdict(list)
    for path, names in defined.items():
        if path in index:
            for name in names:
                definers[name].append(path)
    definers = {n: ps for n, ps in definers.items() if len(ps) <= MAX_DEFINERS}
    edges: dict[tuple[int, int], float] = defaultdict(float)
    uses: dict[int, list[tuple[str, str, float]]] = defaultdict(list)
    by_dir: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        by_dir[p.rsplit("/", 1)[0] if "/" in p else ""].append(p)
    for src in paths:
        counts = Counter(m for m in _IDENT.findall(texts[src]) if m in definers)
        s = index[src]
        for name, count in counts.items():
            targets = [t for t in definers[name] if t != src]
            if not targets:
                continue
            weight = _name_weight(name) * math.sqrt(count) / len(definers[name])
            for dst in targets:
                edges[(s, index[dst])] += weight
                uses[s].append((dst, name, weight))
        for target in imports.get(src, {}):
            # An import of a directory (a Go package, a Python package) reaches its files.
            for dst in _files_of(target, index, by_dir):
                if dst != src:
                    edges[(s, index[dst])] += 0.5
    ranks = _pagerank(len(paths), edges)
    out = Ranking(files={p: float(ranks[i]) for p, i in index.items()})
    out_weight: dict[int, float] = defaultdict(float)
    for (s, _), w in edges.items():
        out_weight[s] += w
    for s, used in uses.items():
        for dst, name, weight in used:
            key = (dst, name)
            out.symbols[key] = out.symbols.get(key, 0.0) + ranks[s] * weight / out_weight[s]
    return out


def _files_of(target: str, index: dict[str, int], by_dir: dict[str, list[str]]) -> list[str]:
    if target in index:
        return [target]
    return by_dir.get(target.rstrip("/"), [])[:20]


def _pagerank(n: int, edges: dict[tuple[int, int], float], rounds: int = 60) -> np.ndarray:
    if n == 0:
        return np.zeros(0)
    src = np.fromiter((s for s, _ in edges), dtype=np.int64, count=len(edges))
    dst = np.fromiter((d for _, d in edges), dtype=np.int64, count=len(edges))
    weight = np.fromiter(edges.values(), dtype=np.float64, count=len(edges))
    out_sum = np.zeros(n)
    np.add.at(out_sum, src, weight)
    share = weight / np.where(out_sum[src] > 0, out_sum[src], 1.0)
    dangling = out_sum == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(rounds):
        nxt = np.zeros(n)
        np.add.at(nxt, dst, rank[src] * share)
        nxt = DAMPING * (nxt + rank[dangling].sum() / n) + (1 - DAMPING) / n
        if np.abs(nxt - rank).sum() < 1e-9:
            rank = nxt
            break
        rank = nxt
    return rank
