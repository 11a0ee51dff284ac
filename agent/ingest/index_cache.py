"""Where an index is kept and when it may be reused: one folder per repository, pickles written atomically, and a format that changes whenever the code that extracts a file's record changes."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from agent.base.config import home
from agent.ingest.repomodel.symbols import GRAMMAR_PACKAGES

_SHAPE = 6  # bump when what is stored changes shape


def _extraction_digest() -> str:
    # What a file record holds is decided by these modules: a docagent whose fact rules, chunking
    # or redaction changed must not reuse records an older version made (found when new fact rules
    # left a benchmark's cached stack answers unchanged).
    agent_dir = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()
    modules = (
        "ingest/facts.py",
        "ingest/manifests.py",
        "ingest/infra_facts.py",
        "ingest/env_wrappers.py",
        "ingest/packages.py",
        "ingest/chunking.py",
        "ingest/redact.py",
        "ingest/secret_rules.py",
        "ingest/repo.py",
        "ingest/file_kinds.py",
        "ingest/history.py",
        "ingest/decisions.py",
        "ingest/decision_notes.py",
        "document/markdown.py",
        "ingest/injection.py",
        "document/markers.py",
        "ingest/repomodel/symbols.py",
        "ingest/repomodel/syntax.py",
        "ingest/repomodel/interfaces.py",
        "ingest/repomodel/datamodel.py",
        "ingest/repomodel/datamodel_go_rust.py",
        "ingest/repomodel/messaging.py",
        "ingest/repomodel/integrations.py",
        "ingest/repomodel/model.py",
        "ingest/index.py",
    )
    for name in modules:
        digest.update((agent_dir / name).read_bytes())
    # A new grammar or SQL parser reads files differently: cached models must not survive it.
    for package in (*GRAMMAR_PACKAGES, "tree-sitter", "sqlglot", "markdown-it-py"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(package.encode())
    return digest.hexdigest()[:12]


FORMAT = f"{_SHAPE}-{_extraction_digest()}"


def cache_dir(root: Path) -> Path:
    """Where the index of a repository is kept."""
    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return home() / "index" / f"{root.resolve().name}-{key}"


def load(path: Path) -> Any:
    # The cache is docagent's own files under DOCAGENT_HOME; a damaged file just means a rebuild.
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def save(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own per write: two drafts in one process (threads, the MCP server)
    # may save the same file at once, and a name by process id had them rename each other's.
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(handle, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _assembly_digest() -> str:
    # The assembled repository model (components, ranking, stack facts) is made by the code of the
    # whole ingest layer from the file records: any change to it must rebuild the cached model.
    digest = hashlib.sha1(FORMAT.encode())
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


MODEL_FORMAT = _assembly_digest()


def model_key(records: dict[str, tuple[str, str | None]], head: str | None) -> str:
    """What the assembled model of an index depends on: every file's digest (and why it was
    skipped), the commit checked out, and the code that assembles it."""
    digest = hashlib.sha1(f"{MODEL_FORMAT}:{head}".encode())
    for path, (file_digest, skip) in sorted(records.items()):
        digest.update(f"{path}\0{file_digest}\0{skip}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
