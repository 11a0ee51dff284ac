"""Facts read without a model, each with the file and line it came from.

They fill stack fields (language, framework, database, CI, containers, environment variables,
entry points) with high confidence; the model only phrases them, if at all.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from agent.ingest.env_wrappers import wrapped_env_reads


class Fact(BaseModel):
    """One fact with its evidence location."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(
        description="language, dependency, framework, runtime, ci, container, env-var, entry-point, ..."
    )
    name: str
    value: str = ""
    path: str
    line: int
    detail: str = ""

    @property
    def citation(self) -> str:
        """`path:line` of the evidence."""
        return f"{self.path}:{self.line}"


# A fact's detail when the structure implies it rather than a file states it (the draft flags it).
INFERRED = "inferred"


def inferred(kind: str, name: str, path: str, line: int) -> Fact:
    """A fact the structure implies (the draft flags it for a human), cited at what shows it."""
    return Fact(kind=kind, name=name, path=path, line=max(line, 1), detail=INFERRED)


def line_of(text: str, needle: str, default: int = 1) -> int:
    """The 1-based line where `needle` first occurs in `text` (`default` when it does not)."""
    idx = text.find(needle)
    return text.count("\n", 0, idx) + 1 if idx >= 0 else default


_ENV_PATTERNS = [
    re.compile(r"os\.environ\.get\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"os\.environ\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]"),
    re.compile(r"os\.getenv\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"environ\.get\(\s*[\"']([A-Z_][A-Z0-9_]*)[\"']"),
    re.compile(r"process\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"process\.env\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]"),
    re.compile(r"import\.meta\.env\.([A-Za-z_][A-Za-z0-9_]*)"),
    re.compile(r"os\.(?:Getenv|LookupEnv)\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(r"(?:std::)?env::var(?:_os)?\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(r"System\.getenv\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\""),
    re.compile(
        r"ENV\[\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']\s*\]|ENV\.fetch\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)"
    ),
    re.compile(r"getenv\(\s*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
    re.compile(r"Field\([^)]*\benv=[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']"),
]
_ENV_QUICK = re.compile(
    r"environ|getenv|Getenv|LookupEnv|process\.env|meta\.env|env::var|ENV[\[.]|env="
)


# A JavaScript module of the project's own that hands out the environment (`import environment
# from "./utils/environment"`, `import env from "@server/env"`): its capitalised members are the
# variables (outline reads every setting as `environment.SECRET_KEY`). Such a read says which module
# it went through (VIA + the import); the index keeps it only if that module reads the environment
# (`env_module_reads`): a constants module named env.ts holds no variables.
_ENV_MODULE = re.compile(
    r"""^\s*import\s+(\w+)\s+from\s+["']([^"']*/(?:env|environment))["']""", re.MULTILINE
)
VIA = "through "


def env_var_facts(path: str, text: str, language: str = "") -> list[Fact]:
    """Environment variables the code reads, at the line that reads them (also through a helper
    of the file's own: agent/ingest/env_wrappers.py, or an environment module it imports)."""
    modules = dict(_ENV_MODULE.findall(text)) if language in ("js", "ts") else {}
    if not modules and not _ENV_QUICK.search(text):
        return []
    lines = text.split("\n")
    facts: list[Fact] = [
        Fact(kind="env-var", name=name, path=path, line=n, detail=detail)
        for name, n, detail in wrapped_env_reads(lines, language)
    ]
    member = (
        re.compile(r"(?<![\w.])(" + "|".join(modules) + r")\.([A-Z][A-Z0-9_]{2,})\b")
        if modules
        else None
    )
    for n, line in enumerate(lines, start=1):
        if member is not None:
            facts += [
                Fact(
                    kind="env-var",
                    name=m.group(2),
                    value=VIA + modules[m.group(1)],
                    path=path,
                    line=n,
                    detail=line.strip()[:120],
                )
                for m in member.finditer(line)
            ]
        if not _ENV_QUICK.search(line):
            continue
        for pattern in _ENV_PATTERNS:
            for m in pattern.finditer(line):
                name = next(g for g in m.groups() if g)
                facts.append(
                    Fact(kind="env-var", name=name, path=path, line=n, detail=line.strip()[:120])
                )
    return facts


def reads_environment(text: str) -> bool:
    """Whether code reads the process environment (by any of the patterns above)."""
    return _ENV_QUICK.search(text) is not None


def env_module_reads(
    facts: list[Fact], modules: Iterable[str], reads_env: Callable[[str], bool]
) -> list[Fact]:
    """The facts without the reads through an environment module that does not read the
    environment. `modules` are the repository's JavaScript/TypeScript files; `reads_env` says
    whether one reads it. An import resolves by its relative path, or for an alias (`@server/env`,
    `~/env`) to the files whose path ends like it; a module that itself reads through another
    (outline's env.ts through utils/environment.ts) counts when that one does."""
    via: dict[str, set[str]] = {}
    for f in facts:
        if f.kind == "env-var" and f.value.startswith(VIA):
            via.setdefault(f.path, set()).add(f.value.removeprefix(VIA))
    if not via:
        return facts
    stems: dict[str, str] = {}
    for path in modules:
        stem = PurePosixPath(path).with_suffix("").as_posix()
        stems[stem] = path
        if stem.endswith("/index"):
            stems.setdefault(stem.removesuffix("/index"), path)
    # Outline's 150 files import the same "@server/env": each import is resolved, and each module
    # read, once.
    reads = cache(reads_env)
    verdicts: dict[tuple[str, str], bool] = {}

    def ok(path: str, spec: str) -> bool:
        key = (posixpath.dirname(path) if spec.startswith(".") else "", spec)
        if key not in verdicts:
            verdicts[key] = False  # an import cycle reads nothing
            verdicts[key] = any(
                reads(target) or any(ok(target, s) for s in via.get(target, ()))
                for target in _resolve(path, spec, stems)
            )
        return verdicts[key]

    return [
        f
        for f in facts
        if not (f.kind == "env-var" and f.value.startswith(VIA))
        or ok(f.path, f.value.removeprefix(VIA))
    ]


def _resolve(importer: str, spec: str, stems: dict[str, str]) -> list[str]:
    if spec.startswith("."):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
        return [stems[target]] if target in stems else []
    first, _, rest = spec.partition("/")
    # An alias names a directory (`@server/env` -> server/env) or stands for one (`~/env`).
    for suffix in (f"{first.lstrip('@~#')}/{rest}".lstrip("/"), rest):
        found = [p for s, p in stems.items() if s == suffix or s.endswith("/" + suffix)]
        if found:
            return found
    return []


def code_entry_facts(path: str, text: str, language: str) -> list[Fact]:
    """Program entry points visible in code (`if __name__ == "__main__"`, Go main packages)."""
    facts: list[Fact] = []
    if language == "python" and "__main__" in text:
        m = re.search(r"^if __name__ == [\"']__main__[\"']", text, re.M)
        if m:
            n = text.count("\n", 0, m.start()) + 1
            facts.append(Fact(kind="entry-point", name=path, value="__main__", path=path, line=n))
    if language == "go" and re.search(r"^package main\b", text, re.M) and "func main()" in text:
        facts.append(
            Fact(
                kind="entry-point",
                name=path,
                value="main",
                path=path,
                line=line_of(text, "func main()"),
            )
        )
    return facts


def language_facts(
    lines_by_language: Counter[str], files_by_language: Counter[str], files: dict[str, list[str]]
) -> list[Fact]:
    """One fact per language: lines and files, and the top-level directory holding most of them,
    cited at a file there. Which language a file is written in is read from its name, so the fact
    is an inference (the draft states a declared version instead where a manifest has one)."""
    facts = []
    for language, lines in lines_by_language.most_common():
        if language in {
            "markdown",
            "rst",
            "asciidoc",
            "text",
            "json",
            "yaml",
            "toml",
            "ini",
            "xml",
            "",
        } or not files.get(language):
            continue
        paths = sorted(files[language])
        n_files = files_by_language[language]
        tops = Counter(p.split("/", 1)[0] + "/" if "/" in p else "" for p in paths)
        top, n = tops.most_common(1)[0]
        where = f", {'mostly' if 2 * n > len(paths) else 'most'} in `{top}`" if top else ""
        sample = next(p for p in paths if p.startswith(top)) if top else paths[0]
        facts.append(
            Fact(
                kind="language",
                name=language,
                value=f"{lines} lines in {n_files} file{'s' if n_files != 1 else ''}{where}",
                path=sample,
                line=1,
                detail=INFERRED,
            )
        )
    return facts


def dedupe(facts: Iterable[Fact]) -> list[Fact]:
    """Facts without repeats (same kind, name and place)."""
    seen: set[tuple[str, str, str, int]] = set()
    out = []
    for f in facts:
        key = (f.kind, f.name, f.path, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
