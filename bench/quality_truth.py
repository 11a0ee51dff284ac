"""Truth files of the quality benchmark: their schema, and the mechanical check that every cited
`path:line` exists at the pinned commit and states one of the entry's keywords.

The format is described in bench/truth/README.md.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TRUTH_DIR = Path(__file__).resolve().parent / "truth"

STACK_KEYS = (
    "language",
    "framework",
    "orm",
    "api_framework",
    "validation",
    "frontend",
    "database",
    "migrations",
    "storage",
    "caching",
    "containers",
    "cloud",
    "ci_cd",
    "test_framework",
    "code_quality",
    "documentation",
    "architecture_style",
    "deployment_model",
    "communication_patterns",
)

# Agent-instruction files are removed from both variants: they are written for a coding assistant,
# often restate the architecture, and a user's repository may or may not have them.
AGENT_FILES = (
    "CLAUDE.md",
    "AGENTS.md",
    "AGENT.md",
    "GEMINI.md",
    ".cursorrules",
    ".cursor",
    ".windsurfrules",
    ".clinerules",
    ".github/copilot-instructions.md",
    ".github/instructions",
)

_AT_RE = re.compile(r"^(?P<path>[^:]+):(?P<start>\d+)(?:-(?P<end>\d+))?$")


def parse_at(at: str) -> tuple[str, int, int]:
    """`path:line` or `path:start-end` as (path, start, end)."""
    m = _AT_RE.match(at.strip())
    if not m:
        raise ValueError(f"not path:line or path:start-end: {at!r}")
    start = int(m["start"])
    end = int(m["end"] or start)
    if start < 1 or end < start:
        raise ValueError(f"bad line range: {at!r}")
    return m["path"], start, end


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Cited(_Strict):
    at: str = Field(description="path:line or path:start-end at the pinned commit.")

    @field_validator("at")
    @classmethod
    def _valid_at(cls, value: str) -> str:
        parse_at(value)
        return value


class StackEntry(_Cited):
    """One stack field's truth."""

    value: str
    keywords: list[str] = Field(min_length=1, description="Alternatives; any one is correct.")


class Component(_Cited):
    """A main component the maintainers' docs name."""

    name: str
    keywords: list[str] = Field(min_length=1, description="Alternative names.")
    paths: list[str] = Field(min_length=1)


class Rationale(_Cited):
    """A reason the docs state."""

    why: str
    keywords: list[str] = Field(
        min_length=1, description="Groups that must all appear together; 'a|b' = alternatives."
    )
    field: str | None = Field(default=None, description="Template field id suffix it answers.")


class EnvVar(_Cited):
    """An environment variable the code reads."""

    name: str
    required: bool
    default: str | None = None

    @field_validator("default", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # A default written in code as a number or boolean is compared as text.
        return value if value is None or isinstance(value, str) else str(value)


class CodeLocation(_Strict):
    """A real code location of a component's main part."""

    path: str
    what: str = ""
    at: str | None = None


class ComponentTruth(_Strict):
    """Truth for the component template."""

    topic: str
    env_vars: list[EnvVar] = Field(default_factory=list)
    code_locations: list[CodeLocation] = Field(min_length=1)


class RepoTruth(_Strict):
    """One benchmark repository."""

    repo: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    shape: str
    held_out: bool = False
    architecture_docs: list[str] = Field(min_length=1)
    agent_files: list[str] = Field(default_factory=list)
    stack: dict[str, StackEntry | None]
    components: list[Component] = Field(min_length=5, max_length=12)
    rationale: list[Rationale] = Field(min_length=4, max_length=6)
    component: ComponentTruth | None = None

    @field_validator("stack")
    @classmethod
    def _all_keys(cls, value: dict[str, StackEntry | None]) -> dict[str, StackEntry | None]:
        missing = [k for k in STACK_KEYS if k not in value]
        extra = [k for k in value if k not in STACK_KEYS]
        if missing or extra:
            raise ValueError(f"stack keys: missing {missing}, unknown {extra}")
        return value

    @property
    def name(self) -> str:
        """The directory name of its clone: the part after the slash."""
        return self.repo.split("/", 1)[1]


def load_truth(path: Path) -> RepoTruth:
    """Read and validate one truth file (ValueError naming the file on a problem)."""
    try:
        return RepoTruth.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"{path.name}: {exc}") from exc


def all_truths() -> list[RepoTruth]:
    """Every truth file in bench/truth/, sorted by name."""
    return [load_truth(p) for p in sorted(TRUTH_DIR.glob("*.json"))]


def git_show(repo_dir: Path, commit: str, path: str) -> str | None:
    """A file's text at a commit, or None when it is not there."""
    proc = subprocess.run(
        ["git", "-C", str(repo_dir), "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def keyword_alternatives(keywords: list[str]) -> list[str]:
    """Every alternative of every keyword group."""
    return [alt.strip() for k in keywords for alt in k.split("|") if alt.strip()]


def check_truth(truth: RepoTruth, repo_dir: Path) -> list[str]:
    """Problems with a truth file against its repository clone (empty when it is sound)."""
    problems: list[str] = []
    files: dict[str, str | None] = {}

    def text(path: str) -> str | None:
        if path not in files:
            files[path] = git_show(repo_dir, truth.commit, path)
        return files[path]

    def exists(path: str) -> bool:
        proc = subprocess.run(
            ["git", "-C", str(repo_dir), "cat-file", "-e", f"{truth.commit}:{path.rstrip('/')}"],
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def cited(where: str, at: str, keywords: list[str] | None) -> None:
        path, start, end = parse_at(at)
        body = text(path)
        if body is None:
            problems.append(f"{where}: {path} does not exist at {truth.commit[:12]}")
            return
        lines = body.split("\n")
        if end > len(lines):
            problems.append(f"{where}: {at} is past the end of {path} ({len(lines)} lines)")
            return
        span = "\n".join(lines[start - 1 : end]).lower()
        if keywords is not None and not any(
            alt.lower() in span for alt in keyword_alternatives(keywords)
        ):
            problems.append(f"{where}: {at} contains none of {keywords}")

    commit_ok = subprocess.run(
        ["git", "-C", str(repo_dir), "cat-file", "-e", f"{truth.commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if commit_ok.returncode != 0:
        return [f"commit {truth.commit} is not in {repo_dir}"]
    for doc in truth.architecture_docs:
        if not exists(doc):
            problems.append(f"architecture_docs: {doc} does not exist")
    for key, entry in truth.stack.items():
        if entry is not None:
            cited(f"stack.{key}", entry.at, entry.keywords)
    for c in truth.components:
        cited(f"components[{c.name}]", c.at, c.keywords)
        problems += [
            f"components[{c.name}]: path {p} does not exist" for p in c.paths if not exists(p)
        ]
    for r in truth.rationale:
        cited(f"rationale[{r.why}]", r.at, r.keywords)
    if truth.component:
        for v in truth.component.env_vars:
            cited(f"component.env_vars[{v.name}]", v.at, [v.name])
        for loc in truth.component.code_locations:
            if not exists(loc.path):
                problems.append(f"component.code_locations: {loc.path} does not exist")
            if loc.at:
                cited(f"component.code_locations[{loc.path}]", loc.at, None)
    return problems
