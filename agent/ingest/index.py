"""Build (or reuse) a repository's evidence index: chunks, facts, history and the BM25 retriever.

The index persists in DOCAGENT_HOME/index/, keyed by each file's size and mtime (then content hash):
re-indexing an unchanged repository reads no file, and a changed file re-chunks only that file.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.base import tokens
from agent.document.markdown import looks_like_template
from agent.document.markers import GENERATION_RE
from agent.ingest import decision_notes, history
from agent.ingest import decisions as decisionlib
from agent.ingest import facts as factlib
from agent.ingest.chunking import Chunk, chunk_file
from agent.ingest.decisions import Decision
from agent.ingest.extraction import Extraction
from agent.ingest.facts import Fact
from agent.ingest.file_kinds import FileKind
from agent.ingest.history import Commit
from agent.ingest.index_cache import FORMAT, cache_dir, load, model_key, save
from agent.ingest.manifests import manifest_facts
from agent.ingest.redact import Redaction, redact
from agent.ingest.repo import DEFAULT_MAX_FILE_SIZE, RepoFile, read_text, scan
from agent.ingest.repomodel.model import FileModel, RepoModel, build_model
from agent.ingest.retrieval import Hit, Intent, Retriever
from agent.ingest.search_index import build_retriever

HISTORY_LIMIT = 2000
MODEL_KINDS = (FileKind.CODE, FileKind.CONFIG, FileKind.OTHER)  # what the repository model reads


@dataclass
class FileRecord:
    """What indexing one file produced; reused while the file's size and mtime are unchanged."""

    size: int
    mtime_ns: int
    digest: str
    lines: int
    skip: str | None
    chunks: list[Chunk]
    facts: list[Fact]
    redactions: list[Redaction]  # kind and line of each secret replaced, never its value
    language: str
    kind: str
    decisions: list[Decision] = field(default_factory=list)  # reasons the file records
    model: FileModel | None = None  # symbols, interfaces, tables, integrations (code files)
    # A document template ([placeholders] on most lines) says what a document should hold, not
    # what this repository does: never evidence, never a decision (decided once, here).
    template: bool = False


@dataclass
class IndexStats:
    """Figures for `docagent index`."""

    files_by_kind: Counter[str] = field(default_factory=Counter)
    lines_by_language: Counter[str] = field(default_factory=Counter)
    files_by_language: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    chunks: int = 0
    tokens: int = 0
    facts: int = 0
    commits: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # by kind: adr, design, commit ...
    redactions: int = 0
    reused_files: int = 0
    read_files: int = 0
    seconds: float = 0.0
    cache_dir: str = ""

    def to_json(self) -> dict[str, object]:
        """The figures as `docagent index --json` prints them."""
        return {
            "files_by_kind": dict(self.files_by_kind),
            "lines_by_language": dict(self.lines_by_language),
            "files_by_language": dict(self.files_by_language),
            "skipped": dict(self.skipped),
            "chunks": self.chunks,
            "tokens": self.tokens,
            "facts": self.facts,
            "commits": self.commits,
            "decisions": dict(self.decisions),
            "redactions": self.redactions,
            "files_read": self.read_files,
            "files_reused": self.reused_files,
            "seconds": round(self.seconds, 3),
            "cache": self.cache_dir,
        }


class RepoIndex:
    """Everything docagent knows about a repository before asking a model."""

    def __init__(
        self,
        root: Path,
        records: dict[str, FileRecord],
        commits: list[Commit],
        retriever: Retriever,
        stats: IndexStats,
        is_git: bool,
    ) -> None:
        self.root = root
        self.records = records
        self.commits = commits
        self.retriever = retriever
        self.stats = stats
        self.is_git = is_git
        self.chunks = retriever.chunks
        self.facts = _all_facts(records, stats)
        self._lines: dict[str, list[str] | None] = {}
        self._decisions: list[Decision] | None = None
        self._model: RepoModel | None = None
        # Where build_index keeps the assembled model, and what it was assembled from.
        self.model_cache: tuple[Path, str] | None = None

    @property
    def model(self) -> RepoModel:
        """The repository model (components, ranking, interfaces, data model), built on first use
        and kept with the index (assembling it took 11.5 s for 2.1M lines of site-packages)."""
        if self._model is None:
            path, key = self.model_cache or (None, "")
            stored = load(path) if path is not None else None
            if (
                isinstance(stored, dict)
                and key
                and stored.get("key") == key
                and isinstance(stored.get("model"), RepoModel)
            ):
                self._model = stored["model"]
            else:
                self._model = build_model(self)
                if path is not None:
                    save(path, {"key": key, "model": self._model})
        return self._model

    @property
    def decisions(self) -> list[Decision]:
        """Every decision the repository records (files, then commits), most central source first."""
        if self._decisions is None:
            found = [
                d
                for _, rec in sorted(self.records.items())
                if rec.skip is None
                for d in rec.decisions
            ]
            found += decisionlib.from_commits(self.commits)  # newest first
            found.sort(key=lambda d: -d.weight)  # stable: file order, then history order
            self._decisions = found
        return self._decisions

    def search(
        self, query: str, k: int = 8, *, intent: Intent | None = None, kinds: set[str] | None = None
    ) -> list[Hit]:
        """Ranked evidence for a question."""
        return self.retriever.search(query, k, intent=intent, kinds=kinds)

    def paths(self) -> set[str]:
        """Paths of every indexed (readable) file."""
        return {p for p, r in self.records.items() if r.skip is None}

    def is_template(self, path: str) -> bool:
        """Whether the file is a document template (never evidence)."""
        rec = self.records.get(path)
        return rec is not None and rec.template

    def file_lines(self, path: str) -> list[str] | None:
        """The file's current lines, secrets redacted (as the model saw them); None if unknown."""
        # Verification asks for the same few files once per citation: read and redact each once.
        if path not in self._lines:
            rec = self.records.get(path)
            self._lines[path] = (
                read_lines(
                    self.root,
                    RepoFile(path, FileKind(rec.kind), rec.language, rec.size, rec.mtime_ns),
                )
                if rec is not None and rec.skip is None
                else None
            )
        return self._lines[path]

    def redactions(self) -> list[tuple[str, Redaction]]:
        """Every secret replaced in what docagent reads: (path or `commit:SHA`, kind and line)."""
        found = [
            (path, r)
            for path, rec in sorted(self.records.items())
            if rec.skip is None
            for r in rec.redactions
        ]
        found += [(f"commit:{c.short}", r) for c in self.commits for r in c.redactions]
        return found

    def commit(self, ref: str) -> Commit | None:
        """A commit of the indexed history by (abbreviated) sha."""
        ref = ref.removeprefix("commit:")
        return next((c for c in self.commits if c.sha.startswith(ref)), None)


def read_lines(root: Path, file: RepoFile) -> list[str] | None:
    """A file's lines as docagent reads them (and as the model saw them): decoded, secrets
    redacted with line numbers kept; None if it cannot be read as text."""
    text, _ = read_text(root, file)
    return redact(text, file.language).text.split("\n") if text is not None else None


def _all_facts(records: dict[str, FileRecord], stats: IndexStats) -> list[Fact]:
    files: dict[str, list[str]] = {}
    for path, rec in records.items():
        if rec.skip is None and rec.language and rec.kind in ("code", "tests"):
            files.setdefault(rec.language, []).append(path)
    found = [f for rec in records.values() for f in rec.facts]
    found = factlib.env_module_reads(
        found,
        [p for lang in ("js", "ts") for p in files.get(lang, [])],
        lambda path: any(factlib.reads_environment(c.text) for c in records[path].chunks),
    )
    code_lines = Counter({k: v for k, v in stats.lines_by_language.items() if k in files})
    found += factlib.language_facts(code_lines, stats.files_by_language, files)
    return factlib.dedupe(found)


def build_index(
    root: str | Path,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    history_limit: int = HISTORY_LIMIT,
    progress: Callable[[str], None] | None = None,
) -> RepoIndex:
    """Index a repository, reusing whatever the cache still holds."""
    started = time.perf_counter()
    repo = scan(root, max_file_size=max_file_size)
    base = cache_dir(repo.root)
    stored = load(base / "files.pkl")
    old: dict[str, FileRecord] = {}
    if stored and stored.get("format") == FORMAT and stored.get("max_file_size") == max_file_size:
        old = stored["records"]
    stats = IndexStats(
        skipped=Counter(repo.skipped),
        skipped_examples=dict(repo.skipped_examples),
        cache_dir=str(base),
    )
    records: dict[str, FileRecord] = {}
    fresh: list[str] = []
    with Extraction() as extraction:
        for f in repo.files:
            rec = old.get(f.path)
            if rec is not None and rec.size == f.size and rec.mtime_ns == f.mtime_ns:
                records[f.path] = rec
                stats.reused_files += 1
                continue
            if progress:
                progress(f.path)
            records[f.path] = _index_file(repo.root, f, rec, extraction)
            stats.read_files += 1
            if records[f.path] is not rec:
                fresh.append(f.path)
        for path, model in extraction.finish().items():
            records[path].model = model
    new_chunks = [c for p in fresh for c in records[p].chunks if not c.tokens]
    for c, n in zip(new_chunks, tokens.count_many([c.text for c in new_chunks]), strict=True):
        c.tokens = n
    head = history.head(repo.root) if repo.is_git else None
    commits = _commits(repo.root, head, stored, history_limit)
    changed = bool(fresh) or set(records) != set(old) or (stored or {}).get("head") != head
    retriever = None if changed else load(base / "retriever.pkl")
    if retriever is None or not isinstance(retriever, Retriever):
        retriever = build_retriever(base, records, fresh, commits)
    if changed or stored is None:
        save(
            base / "files.pkl",
            {
                "format": FORMAT,
                "max_file_size": max_file_size,
                "records": records,
                "head": head,
                "commits": commits,
            },
        )
        save(base / "retriever.pkl", retriever)
    for path, rec in records.items():
        if rec.skip:
            stats.skipped[rec.skip] += 1
            examples = stats.skipped_examples.setdefault(rec.skip, [])
            if len(examples) < 5:
                examples.append(path)
            continue
        stats.files_by_kind[rec.kind] += 1
        if rec.language:
            stats.lines_by_language[rec.language] += rec.lines
            stats.files_by_language[rec.language] += 1
        stats.redactions += len(rec.redactions)
    stats.chunks = len(retriever.chunks)
    stats.tokens = sum(c.tokens for c in retriever.chunks)
    stats.commits = len(commits)
    index = RepoIndex(repo.root, records, commits, retriever, stats, repo.is_git)
    index.model_cache = (
        base / "model.pkl",
        model_key({p: (r.digest, r.skip) for p, r in records.items()}, head),
    )
    stats.facts = len(index.facts)
    stats.decisions = Counter(d.kind for d in index.decisions)
    stats.seconds = time.perf_counter() - started
    return index


def _index_file(
    root: Path, f: RepoFile, previous: FileRecord | None, extraction: Extraction
) -> FileRecord:
    try:
        raw, skip = read_text(root, f)
    except OSError as exc:
        raw, skip = None, f"unreadable ({exc.strerror})"
    if raw is not None and _written_by_docagent(f.path, raw):
        # A draft must never cite an earlier draft (or its review files) as evidence of itself.
        raw, skip = None, "written by docagent (a draft or its review files)"
    if raw is None:
        return FileRecord(f.size, f.mtime_ns, "", 0, skip, [], [], [], f.language, f.kind.value)
    digest = hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    if previous is not None and previous.digest == digest:  # touched, not changed
        previous.size, previous.mtime_ns = f.size, f.mtime_ns
        return previous
    text, redactions = redact(raw, f.language)
    found: list[Fact] = []
    if f.kind is FileKind.CONFIG:
        found += manifest_facts(f.path, text)
    if f.kind in (FileKind.CODE, FileKind.CONFIG):
        found += factlib.env_var_facts(f.path, text, f.language)
    if f.kind is FileKind.CODE:
        found += factlib.code_entry_facts(f.path, text, f.language)
    if f.kind in MODEL_KINDS:
        extraction.add(f.path, text, f.language)  # the record's model is filled in when done
    recorded: list[Decision] = []
    template = looks_like_template(f.path, text)  # any prose file: notes, but also a .txt in config
    if f.kind is FileKind.NOTES and not template:
        recorded = decision_notes.from_notes(f.path, text, f.language, f.is_adr, template=False)
    elif f.kind in (FileKind.CODE, FileKind.CONFIG):
        recorded = decisionlib.from_comments(f.path, text, f.language)
    return FileRecord(
        f.size,
        f.mtime_ns,
        digest,
        text.count("\n") + 1,
        None,
        chunk_file(f, text),
        found,
        redactions,
        f.language,
        f.kind.value,
        recorded,
        None,
        template,
    )


def _written_by_docagent(path: str, text: str) -> bool:
    if path.endswith((".draft.json", ".review.json")) and '"generation"' in text[:200]:
        return True
    return GENERATION_RE.search(text) is not None


def _commits(
    root: Path, head: str | None, stored: dict[str, Any] | None, limit: int
) -> list[Commit]:
    if head is None:
        return []
    if stored and stored.get("head") == head and stored.get("format") == FORMAT:
        cached: list[Commit] = stored.get("commits", [])
        return cached
    return history.log(root, limit=limit)
