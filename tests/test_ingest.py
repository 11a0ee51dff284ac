"""Repository ingestion, chunking, facts, history and retrieval on fixture repositories."""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.base import tokens
from agent.base.errors import RepositoryError
from agent.cli import app
from agent.ingest import history
from agent.ingest.chunking import Chunk
from agent.ingest.file_kinds import FileKind, classify
from agent.ingest.index import build_index
from agent.ingest.index_cache import cache_dir
from agent.ingest.redact import redact
from agent.ingest.repo import read_text, scan
from agent.ingest.retrieval import Hit, Intent, detect_intent, pack, tokenize
from tests import fixture_repo

runner = CliRunner()


def test_walk_honours_ignores_and_skips_awkward_files(repo: Path) -> None:
    (repo / ".git" / "info" / "exclude").write_text("docs/private.md\n")
    (repo / "docs" / "private.md").write_text("# private\n")
    (repo / "tests" / "cassettes").mkdir(parents=True)
    (repo / "tests" / "cassettes" / "call.yaml").write_text("interactions: []\n")
    (repo / "tests" / "test_cli.approved.txt").write_text("usage: inventory\n")
    s = scan(repo)
    paths = {f.path for f in s.files}
    assert s.is_git
    assert "src/inventory/importer.py" in paths and "cmd/alerts/main.go" in paths
    for absent in (
        "node_modules/left-pad/index.js",
        "package-lock.json",
        "web/app.min.js",
        "build/output.py",
        ".env",
        "deploy/tls.key",
        "loop-a",
        "escape-link",
        "data/huge.sql",
        "docs/private.md",
        "storage-link.py",
        "tests/cassettes/call.yaml",
        "tests/test_cli.approved.txt",
    ):
        assert absent not in paths, absent
    assert s.skipped["recorded test data (cassettes, snapshots)"] == 2
    assert s.skipped["symlink escapes repository"] == 1
    assert s.skipped["symlink loop or dangling symlink"] == 2
    assert s.skipped["secret file (never read)"] == 2
    assert s.skipped["over size limit (1,000,000 bytes)"] == 1
    # Binary and non-UTF-8 files are detected by content when read, not by extension.
    idx = build_index(repo)
    assert idx.stats.skipped["binary"] == 1
    assert idx.stats.skipped["not UTF-8 text"] == 1
    assert "assets/logo.dat" in idx.stats.skipped_examples["binary"]


def test_walk_without_git_uses_gitignore_files(tmp_path: Path) -> None:
    root = fixture_repo.build(tmp_path / "plain", git=False)
    (root / "src" / ".gitignore").write_text("generated_*.py\n")
    (root / "src" / "generated_models.py").write_text("x = 1\n")
    s = scan(root)
    paths = {f.path for f in s.files}
    assert not s.is_git
    assert "build/output.py" not in paths  # root .gitignore
    assert "src/generated_models.py" not in paths  # nested .gitignore
    assert "src/inventory/storage.py" in paths
    assert build_index(root).commits == []


def test_a_directory_git_ignores_is_read_when_pointed_at(repo: Path) -> None:
    # build/ is in the fixture's .gitignore: inside the work tree, git lists none of it.
    assert "build/output.py" not in {f.path for f in scan(repo).files}
    inside = scan(repo / "build")
    assert [f.path for f in inside.files] == ["output.py"] and not inside.is_git


def test_size_limit_is_configurable(repo: Path) -> None:
    paths = {f.path for f in scan(repo, max_file_size=2_000_000).files}
    assert "data/huge.sql" in paths


def test_classification() -> None:
    assert classify("docs/adr/0001-use-sqlite.md") == (FileKind.NOTES, "markdown", True)
    assert classify("doc/architecture/decisions/0003-x.md")[2]
    assert classify("README.md")[0] is FileKind.NOTES
    assert classify("pyproject.toml")[0] is FileKind.CONFIG
    assert classify("requirements-dev.txt")[0] is FileKind.CONFIG
    assert classify("Dockerfile")[:2] == (FileKind.CONFIG, "dockerfile")
    assert classify(".github/workflows/ci.yml")[0] is FileKind.CONFIG
    assert classify("tests/test_api.py")[0] is FileKind.TESTS
    assert classify("web/button.test.tsx")[0] is FileKind.TESTS
    assert classify("src/app.ts") == (FileKind.CODE, "ts", False)
    assert classify("cmd/alerts/main.go") == (FileKind.CODE, "go", False)


def test_chunk_spans_are_exact_and_complete(repo: Path) -> None:
    idx = build_index(repo)
    assert idx.chunks
    by_path: dict[str, list[Chunk]] = {}
    for c in idx.chunks:
        if c.kind == "history":
            continue
        lines = idx.file_lines(c.path)
        assert lines is not None
        assert "\n".join(lines[c.start_line - 1 : c.end_line]) == c.text, c.citation
        assert c.tokens == tokens.count(c.text)
        assert c.hash
        by_path.setdefault(c.path, []).append(c)
    # Every non-blank line of every file is in some chunk.
    for path, chunks in by_path.items():
        covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
        lines = idx.file_lines(path) or []
        missing = [n for n, line in enumerate(lines, start=1) if line.strip() and n not in covered]
        assert not missing, (path, missing)


def test_big_file_is_split_with_exact_spans(tmp_path: Path) -> None:
    root = tmp_path / "big"
    fixture_repo.write_files(
        root,
        {
            "src/big.py": "".join(
                f"def function_{n}(value):\n    '''Doc {n}.'''\n    return value * {n}\n\n\n"
                for n in range(400)
            )
        },
    )
    idx = build_index(root)
    chunks = [c for c in idx.chunks if c.path == "src/big.py"]
    assert len(chunks) > 10
    text = (root / "src/big.py").read_text().split("\n")
    for c in chunks:
        assert "\n".join(text[c.start_line - 1 : c.end_line]) == c.text
        assert c.text.lstrip().startswith("def function_"), "python splitter cuts at definitions"


def test_notes_keep_their_header_path(repo: Path) -> None:
    idx = build_index(repo)
    arch = [c for c in idx.chunks if c.path == "docs/architecture.md"]
    assert arch and all(c.header_path.startswith("Architecture") for c in arch)
    adr = [c for c in idx.chunks if c.path == "docs/adr/0002-retry-supplier-imports.md"]
    assert all(c.is_adr and c.kind == "notes" for c in adr)


def test_planted_secrets_never_survive(repo: Path) -> None:
    idx = build_index(repo)
    everything = "\n".join(c.text for c in idx.chunks) + json.dumps(
        [f.model_dump() for f in idx.facts]
    )
    for secret in fixture_repo.PLANTED_SECRETS:
        assert secret not in everything, secret
    for c in idx.chunks:
        if c.path != "src/inventory/importer.py":
            continue
        assert "[REDACTED:aws-access-key-id]" in c.text or "AWS_ACCESS_KEY_ID" not in c.text
    cert = next(c for c in idx.chunks if c.path == "src/inventory/legacy_cert.py")
    assert cert.text.count("[REDACTED:private-key]") == 2  # line count kept
    assert idx.stats.redactions >= 6
    # The on-disk cache holds redacted text only.
    blob = b"".join(p.read_bytes() for p in cache_dir(repo).iterdir())
    for secret in fixture_repo.PLANTED_SECRETS:
        assert secret.encode() not in blob


def test_redaction_keeps_ordinary_code() -> None:
    code = 'max_tokens = 1000000\npassword = os.environ["DB_PASSWORD"]\ntoken = get_token()\nkey = "a"\n'
    assert redact(code, "python") == (code, [])
    leaked, found = redact('DATABASE_URL = "postgres://app:pa55word-x@db:5432/app"\n')
    assert len(found) == 1 and "pa55word-x" not in leaked


def test_history_has_messages_files_and_blame(repo: Path) -> None:
    commits = history.log(repo)
    assert [c.subject for c in commits][:2] == [
        "Package as one container with docker compose and add CI",
        "Retry supplier feeds with exponential backoff",
    ]
    retry = commits[1]
    assert "502/503" in retry.body
    assert "src/inventory/importer.py" in retry.files
    lines = (repo / "src/inventory/importer.py").read_text().split("\n")
    start = next(n for n, line in enumerate(lines, start=1) if "delay *= 2" in line)
    blamed = history.blame_commits(repo, "src/inventory/importer.py", start, start)
    assert blamed[0].subject == "Retry supplier feeds with exponential backoff"
    logged = history.line_log(repo, "src/inventory/importer.py", start, start)
    assert logged[0].sha == retry.sha


def test_facts_come_with_their_lines(repo: Path) -> None:
    idx = build_index(repo)
    found = {(f.kind, f.name): f for f in idx.facts}
    fastapi = found[("web-framework", "FastAPI")]
    assert (fastapi.path, fastapi.line) == ("pyproject.toml", 6)
    assert ("orm", "SQLAlchemy") in found
    assert ("web-framework", "Express") in found and ("testing", "Jest") in found
    assert found[("runtime", "Python")].value == ">=3.11"
    assert ("ci", "GitHub Actions") in found
    assert ("container", "Docker") in found and ("container", "Docker Compose") in found
    assert found[("entry-point", "inventory-import")].value == "inventory.importer:main"
    env = {f.name: f for f in idx.facts if f.kind == "env-var"}
    assert {
        "SUPPLIER_FEED_URL",
        "IMPORT_MAX_RETRIES",
        "INVENTORY_DB_PATH",
        "INVENTORY_API_URL",
        "PORT",
    } <= set(env)
    lines = (repo / env["IMPORT_MAX_RETRIES"].path).read_text().split("\n")
    assert "IMPORT_MAX_RETRIES" in lines[env["IMPORT_MAX_RETRIES"].line - 1]
    langs = {f.name for f in idx.facts if f.kind == "language"}
    assert {"python", "go", "js"} <= langs


def test_fact_rules_found_on_the_quality_benchmark(tmp_path: Path) -> None:
    from agent.document.templates import load_template
    from agent.draft.static_answers import static_answers

    root = tmp_path / "svc"
    files = {
        # warehouse keeps its dependencies in requirements/*.in
        "requirements/main.in": "pyramid\nsqlalchemy>=2\n",
        "pyproject.toml": '[project]\nname = "svc"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n'
        "\n[tool.ruff]\nline-length = 100\n",
        "Dockerfile": "FROM python:3.11.0-slim-bullseye\n",
        # A devcontainer tag scheme carries no Python version; a demo's image is not the project's.
        ".devcontainer/Dockerfile": "FROM mcr.microsoft.com/devcontainers/python:0-3.10-bullseye\n",
        "demos/proxy/Dockerfile": "FROM python:3.9\n",
        "svc/app.py": "x = 1\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    idx = build_index(root)
    found = {(f.kind, f.name): f for f in idx.facts}
    assert (found[("web-framework", "Pyramid")].path, found[("web-framework", "Pyramid")].line) == (
        "requirements/main.in",
        1,
    )
    assert ("orm", "SQLAlchemy") in found
    assert found[("testing", "pytest")].path == "pyproject.toml"
    assert ("tool-config", "pytest") not in found and ("tool-config", "ruff") in found
    runtimes = {(f.path, f.value) for f in idx.facts if f.kind == "runtime"}
    assert ("Dockerfile", "3.11.0") in runtimes
    assert not any(path == ".devcontainer/Dockerfile" for path, _ in runtimes)
    static = static_answers(load_template("architecture-overview"), idx)
    by_label = {fid.rsplit(".", 1)[-1]: a for fid, a in static.items()}
    assert by_label["testing-framework"].value == "pytest"
    assert "pytest" not in by_label["code-quality"].value
    assert by_label["framework"].value == "Pyramid"
    # The project's own Dockerfile gives the version, not the demo's; the value is what the cited
    # line declares (the line count docagent measured is no line's to cite).
    assert by_label["language"].value == "Python 3.11.0"
    assert [(f.path, f.line) for f in by_label["language"].facts] == [("Dockerfile", 1)]
    assert by_label["language"].reasons == []


def test_a_language_no_manifest_declares_is_stated_as_measured_and_flagged(tmp_path: Path) -> None:
    from agent.document.templates import load_template
    from agent.draft.static_answers import static_answers

    root = tmp_path / "web"
    files = {
        "pyproject.toml": '[project]\nname = "web"\nrequires-python = ">=3.10"\n',
        "web/app.py": "x = 1\n" * 50,
        "web/static/a.js": "let a = 1;\n" * 30,
        "web/static/b.js": "let b = 1;\n" * 10,
        "tools/c.js": "let c = 1;\n",
        "site/package.json": '{\n  "devDependencies": {\n    "typescript": "^5.4.0"\n  }\n}\n',
        "site/x.ts": "const x = 1;\n" * 20,
        "site/y.ts": "const y = 1;\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    static = static_answers(load_template("architecture-overview"), build_index(root))
    backend = static["technology-stack-frameworks.backend-technology-stack.language"]
    assert backend.value == "Python >=3.10" and backend.reasons == []
    assert [(f.path, f.line) for f in backend.facts] == [("pyproject.toml", 3)]
    frontend = static[
        "technology-stack-frameworks.frontend-technology-stack-if-applicable.language"
    ]
    # JavaScript: no manifest names it, so the measure, where most of it is, flagged to confirm;
    # TypeScript: the compiler version its package.json declares, cited there.
    assert frontend.value == (
        "JavaScript (44 lines in 3 files, mostly in `web/`), TypeScript ^5.4.0"
    )
    assert [(f.path, f.line) for f in frontend.facts] == [
        ("web/static/a.js", 1),
        ("site/package.json", 3),
    ]
    assert frontend.reasons == ["inferred from the code's structure: confirm"]


def test_a_changed_extraction_format_reindexes_every_file(repo: Path) -> None:
    build_index(repo)
    # What a docagent with other extraction rules left in the cache.
    stored_at = cache_dir(repo) / "files.pkl"
    stored = pickle.loads(stored_at.read_bytes())
    stored["format"] += "-other-rules"
    stored_at.write_bytes(pickle.dumps(stored))
    again = build_index(repo)
    assert again.stats.reused_files == 0 and again.stats.read_files > 10


def test_index_is_reused_and_only_changed_files_rechunk(repo: Path) -> None:
    first = build_index(repo)
    assert first.stats.read_files > 10 and first.stats.reused_files == 0
    second = build_index(repo)
    assert second.stats.read_files == 0
    assert [c.hash for c in second.chunks] == [c.hash for c in first.chunks]
    target = repo / "src/inventory/storage.py"
    target.write_text(
        target.read_text() + "\n\ndef vacuum() -> None:\n    '''Compact the database.'''\n"
    )
    third = build_index(repo)
    assert third.stats.read_files == 1
    assert any("vacuum" in c.text for c in third.chunks)
    hits = third.search("vacuum compact", 3)
    assert hits[0].chunk.path == "src/inventory/storage.py"
    os.utime(repo / "README.md", (time.time() + 5, time.time() + 5))  # touched, not changed
    assert build_index(repo).stats.read_files == 1


def test_damaged_cache_is_rebuilt(repo: Path) -> None:
    build_index(repo)
    (cache_dir(repo) / "files.pkl").write_bytes(b"not a pickle")
    (cache_dir(repo) / "retriever.pkl").write_bytes(pickle.dumps("wrong type"))
    assert build_index(repo).stats.read_files > 10


def test_empty_repo_and_missing_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    idx = build_index(empty)
    assert idx.chunks == [] and idx.search("anything") == []
    with pytest.raises(RepositoryError, match="no such directory"):
        build_index(tmp_path / "missing")


def test_tokenizer_splits_code_identifiers() -> None:
    assert tokenize("getHTTPResponse_v2") == ["get", "http", "respons", "2"]  # "v" is too short
    assert tokenize("src/inventory/importer.py") == ["src", "inventori", "import", "py"]
    assert tokenize("maxRetries") == ["max", "retri"] == tokenize("max_retries")
    assert tokenize("why is the") == []  # stopwords


def test_ranking_prefers_adrs_and_history_for_why_and_manifests_for_stack(repo: Path) -> None:
    idx = build_index(repo)
    assert detect_intent("Why does the importer retry?") is Intent.WHY
    assert detect_intent("Which web framework and database does it use?") is Intent.STACK
    why = idx.search("why does the importer retry failed feeds", 5)
    assert why[0].chunk.is_adr and "0002" in why[0].chunk.path
    assert any(h.chunk.kind == "history" for h in why)
    stack = idx.search("which dependencies and framework", 3)
    assert stack[0].chunk.kind == "config"
    code_only = idx.search("retry backoff", 3, kinds={"code"})
    assert all(h.chunk.kind == "code" for h in code_only)


def test_pack_fills_budget_with_whole_chunks() -> None:
    def hit(path: str, start: int, end: int, n: int, rank: int) -> Hit:
        return Hit(Chunk(path, start, end, "code", "python", "x", tokens=n), 1.0, rank)

    hits = [
        hit("a.py", 1, 10, 50, 0),
        hit("a.py", 5, 12, 30, 1),
        hit("b.py", 1, 5, 500, 2),
        hit("c.py", 1, 2, 20, 3),
    ]
    chosen = pack(hits, 120)
    assert [h.chunk.path for h in chosen] == ["a.py", "c.py"]  # overlap skipped, too big skipped
    assert sum(h.chunk.tokens + 12 for h in chosen) <= 120


def test_tiktoken_works_offline() -> None:
    assert tokens.count("hello world") == 2
    assert tokens.count_many(["a b", "hello world"]) == [2, 2]
    assert tokens.encoding("o200k_base").encode("hello") == [24912]


def test_cli_index_and_search(repo: Path) -> None:
    result = runner.invoke(app, ["index", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["files_by_kind"]["code"] >= 5 and data["commits"] == 5
    assert data["skipped"]["binary"] == 1
    table = runner.invoke(app, ["index", str(repo)])
    assert "skipped because" in table.output and "symlink escapes repository" in table.output
    found = runner.invoke(
        app, ["search", str(repo), "why retry supplier feeds", "-k", "3", "--json"]
    )
    hits = json.loads(found.output)
    assert hits[0]["citation"].startswith("docs/adr/0002-retry-supplier-imports.md:")
    assert runner.invoke(app, ["search", str(repo / "nope"), "x"]).exit_code == 2
    text = runner.invoke(app, ["search", str(repo), "exponential backoff", "-k", "2"])
    assert "1. docs/adr/0002" in text.output


def test_read_text_detects_binary_by_content(tmp_path: Path) -> None:
    path = tmp_path / "looks.py"
    path.write_bytes(b"\x00\x01\x02binary")
    f = scan(tmp_path).files[0]
    assert read_text(tmp_path, f) == (None, "binary")


def test_env_vars_read_through_a_helper_of_the_file_are_found_at_their_call() -> None:
    from agent.ingest.facts import env_var_facts

    config = (
        "import os\n\n\n"
        "def maybe_set(settings, name, envvar, coercer=None, default=None):\n"
        "    if envvar in os.environ:\n"
        "        settings.setdefault(name, os.environ[envvar])\n\n\n"
        "def configure(settings):\n"
        '    maybe_set(settings, "database.url", "DATABASE_URL")\n'
        '    maybe_set(settings, "token", envvar="WAREHOUSE_TOKEN")\n'
        "    maybe_set(\n"
        '        settings,\n        "redis.url",\n        "REDIS_URL",\n        default="x",\n    )\n'
        '    maybe_set(settings, "level", level_name)  # not a literal name: nothing\n'
        '    print("NOT_AN_ENV")\n'
        '    return os.environ.get("HOME")\n'
    )
    found = sorted({(f.name, f.line) for f in env_var_facts("app/config.py", config, "python")})
    assert found == [
        ("DATABASE_URL", 10),
        ("HOME", 20),
        ("REDIS_URL", 15),
        ("WAREHOUSE_TOKEN", 11),
    ]
    # Typed parameters, keyword-only ones, writes, comments and strings (review findings).
    tricky = (
        "import os\n\n\ndef get(cfg: dict[str, int], name, envvar=''):\n"
        "    return os.environ.get(envvar)\n\n\n"
        "def f(*names, envvar=None):\n    return os.environ[envvar]\n\n\n"
        "def set_env(name, value):\n    os.environ[name] = value\n\n\n"
        "get(c, 'db', 'DATABASE_URL')\n"
        "f('NOT_THIS', envvar='REAL_ONE')\n"
        "set_env('WRITTEN', '1')\n"
        "# get(c, 'x', 'IN_COMMENT')\n"
        "text = \"get(c, 'x', 'IN_STRING')\"\n"
    )
    assert sorted((f.name, f.line) for f in env_var_facts("app/settings.py", tricky, "python")) == [
        ("DATABASE_URL", 16),
        ("REAL_ONE", 17),
    ]
    # JavaScript: `function env(name) { return process.env[name] }`; a function before it that
    # does not read the environment is no helper.
    js = (
        "function label(name) { return name; }\n"
        "function env(name, fallback) {\n  return process.env[name] ?? fallback;\n}\n"
        'export const port = env("PORT", 3000);\nlabel("NOT_ENV");\n'
    )
    assert [(f.name, f.line) for f in env_var_facts("web/env.js", js, "js")] == [("PORT", 5)]


def test_the_assembled_model_is_kept_with_the_index(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.ingest import index as index_module

    first = build_index(repo).model
    assert (cache_dir(repo) / "model.pkl").exists()

    def assemble_again(index: object) -> object:
        raise AssertionError("an unchanged repository's model was assembled again")

    monkeypatch.setattr(index_module, "build_model", assemble_again)
    again = build_index(repo).model
    assert [c.name for c in again.components] == [c.name for c in first.components]
    # A changed file is a new model.
    monkeypatch.undo()
    target = repo / "src/inventory/storage.py"
    target.write_text(target.read_text() + "\n\nclass Vacuum:\n    '''Compacts.'''\n")
    changed = build_index(repo).model
    assert changed.symbol_count == first.symbol_count + 1


def test_the_index_cache_takes_concurrent_writes_in_one_process(tmp_path: Path) -> None:
    import threading

    from agent.ingest.index_cache import load, save

    target = tmp_path / "model.pkl"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(30):
                save(target, {"writer": n, "i": i, "pad": "x" * 50_000})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert load(target)["i"] == 29
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]  # no temporary file left


def test_the_backend_language_is_the_declared_one_and_only_its_own_runtime(tmp_path: Path) -> None:
    from agent.document.templates import load_template
    from agent.draft.static_answers import static_answers

    backend = "technology-stack-frameworks.backend-technology-stack.language"
    root = tmp_path / "shop"
    files = {
        # A Django back end beside a front end twelve times its size: still Python.
        "pyproject.toml": '[project]\nname = "shop"\nrequires-python = ">=3.11"\n',
        "shop/views.py": "x = 1\n" * 20,
        "frontend/package.json": '{"devDependencies": {"typescript": "^5.4.0"}}\n',
        "frontend/src/app.ts": "const a = 1;\n" * 250,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    answer = static_answers(load_template("architecture-overview"), build_index(root))[backend]
    assert answer.value == "Python >=3.11"
    # A Ruby gem with a Rust extension: the edition is Rust's, not Ruby's version.
    gem = tmp_path / "gem"
    files = {
        "lib/gem.rb": "x = 1\n" * 40,
        "ext/fast/Cargo.toml": '[package]\nname = "fast"\nedition = "2021"\n',
        "ext/fast/src/lib.rs": "pub fn f() {}\n",
    }
    for rel, text in files.items():
        (gem / rel).parent.mkdir(parents=True, exist_ok=True)
        (gem / rel).write_text(text)
    answer = static_answers(load_template("architecture-overview"), build_index(gem))[backend]
    assert answer.value.startswith("Ruby (") and "2021" not in answer.value
