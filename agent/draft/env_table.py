"""The environment-variable table: every variable the code reads or an example env file lists,
whether it is required, its default, where it is read and its example value, each row cited."""

from __future__ import annotations

import re
from collections import Counter

from agent.ingest.facts import Fact
from agent.ingest.index import RepoIndex


def env_rows(
    columns: list[str], facts: list[Fact], index: RepoIndex
) -> tuple[list[dict[str, str]], list[Fact]] | None:
    """One row per environment variable the code or an example env file names (whether it is
    required, its default, where it is read, its example value) in the table's `columns`, and the
    fact each row cites; None when the repository reads none."""
    env = [x for x in facts if x.kind == "env-var"]
    if not env:
        return None
    by_name: dict[str, list[Fact]] = {}
    for fact in env:
        by_name.setdefault(fact.name, []).append(fact)
    rows = []
    cited: list[Fact] = []
    for name, found in sorted(by_name.items()):
        code = [x for x in found if "example env file" not in x.detail]
        example = next((x for x in found if "example env file" in x.detail), None)
        required = any(re.search(r"environ\[|ENV\[|env::var\(", x.detail) for x in code)
        default = ""
        for x in code:
            # Through a helper (agent/ingest/env_wrappers.py) only its `default=` is the default; the
            # other arguments are the helper's (`coercer=int`).
            pattern = (
                r"\bdefault\s*=\s*([^,)]+)"
                if x.detail.startswith("via ")
                else rf"{re.escape(name)}[\"']\s*,\s*([^)]+)\)"
            )
            m = re.search(pattern, x.detail)
            if m:
                default = m.group(1).strip()
                break
        first = (code or found)[0]
        cited.append(first)
        example_value = ""
        if example is not None:
            line = (index.file_lines(example.path) or [""] * example.line)[example.line - 1]
            example_value = line.split("=", 1)[1].strip() if "=" in line else ""
        where = (
            ", ".join(sorted({f"{x.path}:{x.line}" for x in code})[:3])
            or f"{first.path}:{first.line}"
        )
        row = {
            "variable": f"`{name}`",
            "required": "✓" if required else ("✗" if code else "?"),
            "default": f"`{default}`" if default else "—",
            "description": f"Read at {where}",
            "example": f"`{example_value}`" if example_value else "—",
        }
        rows.append(
            {k: row.get(k, "") for k in columns}
            if set(columns) == set(row)
            else {k: v for k, v in zip(columns, row.values(), strict=False)}
        )
    return rows, cited


def reached_from(files: set[str], facts: list[Fact], index: RepoIndex) -> list[Fact]:
    """The reads of variables that files make through a function of the project's they call: Flask's cli.py
    calls `get_debug_flag()`, which reads FLASK_DEBUG in helpers.py. Only a function defined once
    in the repository and named distinctly enough to be that function where it is called."""
    count: Counter[str] = Counter()
    functions: dict[str, list[tuple[str, int, int]]] = {}  # path -> (name, start, end)
    for path, rec in index.records.items():
        for s in rec.model.symbols if rec.model is not None else []:
            if s.kind == "function":
                count[s.name] += 1
                functions.setdefault(path, []).append((s.name, s.start, s.end))
    callers = "\n".join("\n".join(index.file_lines(p) or []) for p in sorted(files))
    reached: list[Fact] = []
    for x in facts:
        if x.kind != "env-var" or x.path in files or "example env file" in x.detail:
            continue
        for name, start, end in functions.get(x.path, []):
            if (
                start <= x.line <= end
                and count[name] == 1
                and len(name) >= _DISTINCT
                and re.search(rf"(?<![\w.]){re.escape(name)}\(", callers)
            ):
                reached.append(x)
                break
    return reached


_DISTINCT = 6  # characters: `get(`, `load(` and `run(` are called on anything
