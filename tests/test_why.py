"""`docagent why` on the fixture repository, replaying cassettes recorded from the embedded model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent import why, why_evidence
from agent.base.errors import UserInputError
from agent.cli import app
from agent.ingest.index import build_index
from agent.llm.calllog import CallLog
from agent.llm.client import ModelClient
from agent.llm.settings import ModelSettings
from tests.conftest import recorded_client

runner = CliRunner()


def retry_lines(repo: Path) -> str:
    lines = (repo / "src/inventory/importer.py").read_text().split("\n")
    start = next(n for n, line in enumerate(lines, start=1) if "time.sleep(delay" in line)
    return f"src/inventory/importer.py:{start}-{start + 1}"


@pytest.mark.vcr
def test_documented_reason_from_an_adr(model_base_url: str, repo: Path) -> None:
    with recorded_client(model_base_url) as client:
        result = why.answer(
            build_index(repo), "Why does the importer retry failed supplier feeds?", client
        )
    assert result.basis == "documented", result
    # The replayed answer is fixed: the retry ADR, its cited lines stating what it quotes.
    cited = result.citations[0]
    assert cited.path == "docs/adr/0002-retry-supplier-imports.md", cited
    lines = (repo / cited.path).read_text().split("\n")
    said = " ".join(lines[cited.start_line - 1 : cited.end_line]).lower()
    assert cited.quote and cited.quote.split()[0].lower() in said


@pytest.mark.vcr
def test_at_lines_pulls_in_the_commit_behind_them(model_base_url: str, repo: Path) -> None:
    index = build_index(repo)
    at = why_evidence.Location.parse(retry_lines(repo))
    evidence = why_evidence.gather(index, "Why do we sleep between attempts here?", at)
    assert evidence[0].kind == "history"
    assert "Retry supplier feeds with exponential backoff" in evidence[0].text
    with recorded_client(model_base_url) as client:
        result = why.answer(index, "Why do we sleep between attempts here?", client, at)
    # The replayed answer is fixed: documented by the commit behind the lines asked about.
    assert result.basis == "documented"
    assert [c.path for c in result.citations] == [evidence[0].path]
    assert evidence[0].path.startswith("commit:")


@pytest.mark.vcr
def test_undocumented_reason_is_not_presented_as_documented(
    model_base_url: str, repo: Path
) -> None:
    with recorded_client(model_base_url) as client:
        result = why.answer(
            build_index(repo), "Why does the alert worker poll every five minutes?", client
        )
    # Nothing records why the worker polls every five minutes: said so, with the closest evidence.
    assert result.basis == "not_recorded"
    assert "does not record a reason" in result.answer and result.evidence


def test_question_about_something_absent_is_not_answered_with_invention(repo: Path) -> None:
    client = ModelClient(
        ModelSettings(base_url="http://no-model.test/v1", embedded=False, model="m"), log=CallLog()
    )
    result = why.answer(build_index(repo), "Why does the importer publish events to Kafka?", client)
    assert result.basis == "not_recorded" and "`Kafka`" in result.answer
    assert client.usage.calls == 0


def test_settle_never_keeps_an_unverifiable_reason(repo: Path) -> None:
    index = build_index(repo)
    evidence = why_evidence.gather(index, "Why SQLite rather than PostgreSQL?")
    adr = next(
        e
        for e in evidence
        if e.path == "docs/adr/0001-use-sqlite.md" and e.start_line <= 20 <= e.end_line
    )
    assert "20| We rejected PostgreSQL" in adr.numbered()

    def reply(**kw: object) -> why.WhyAnswer:
        base = {
            "evidence": adr.id,
            "lines": "20",
            "answer": "PostgreSQL was rejected: nobody on the team wanted to run it for 100k rows.",
            "recorded": "documented",
            "alternatives": [],
            "confidence": 0.9,
        }
        return why.WhyAnswer.model_validate({**base, **kw})

    unrelated = "Kubernetes operators scale horizontally."
    outside = why.settle(index, "Why SQLite?", reply(lines="90-91", answer=unrelated), evidence)
    assert outside.basis == "not_recorded" and outside.citations == []
    assert (
        why.settle(index, "Why SQLite?", reply(evidence="E99", lines="900"), evidence).basis
        == "not_recorded"
    )
    # Lines outside the cited item, but the item states the reason: corrected to those lines.
    moved = why.settle(index, "Why SQLite?", reply(lines="90-91"), evidence)
    assert moved.citations[0].start_line == 20 and moved.flagged
    assert any("span corrected" in r or "span chosen" in r for r in moved.reasons)
    real = why.settle(index, "Why SQLite?", reply(alternatives=["PostgreSQL", "MongoDB"]), evidence)
    assert (
        real.basis == "documented"
        and real.citations[0].label == "docs/adr/0001-use-sqlite.md:20-20"
    )
    assert real.citations[0].quote.startswith("We rejected PostgreSQL")
    assert real.alternatives == ["PostgreSQL"]  # MongoDB is not on record
    weak = why.settle(
        index, "Why SQLite?", reply(answer="operators scale horizontally on demand."), evidence
    )
    assert weak.flagged and any("appear in the cited evidence" in r for r in weak.reasons)
    # Naming something the cited lines do not mention is not on record (tests/test_injection.py).
    named = why.settle(
        index, "Why SQLite?", reply(answer="Kubernetes operators scale horizontally."), evidence
    )
    assert named.basis == "not_recorded" and named.flagged


def test_evidence_only_and_question_files(repo: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "why",
            "--repo",
            str(repo),
            "--evidence-only",
            "--json",
            "Why does the importer retry failed supplier feeds?",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data[0]["evidence"][0]["path"] == "docs/adr/0002-retry-supplier-imports.md"
    qfile = tmp_path / "q.md"
    qfile.write_text("# Questions\n- Why SQLite?\n- Why retry imports?\n\n")
    assert why.read_questions(qfile) == ["Why SQLite?", "Why retry imports?"]
    listed = runner.invoke(
        app, ["why", "--repo", str(repo), "--evidence-only", "--questions", str(qfile)]
    )
    assert "Why SQLite?" in listed.output and "docs/adr/0001-use-sqlite.md" in listed.output
    bad = runner.invoke(app, ["why", "--repo", str(repo), "--at", "src/x.py:9-2", "Why?"])
    assert bad.exit_code == 2 and "line range is empty" in bad.output
    with pytest.raises(UserInputError):
        why_evidence.Location.parse("no-line-number")


def test_review_reply_is_ready_to_paste() -> None:
    from agent.draft.answers import Citation

    reply = why.review_reply(
        [
            why.WhyResult(
                "Why retry?",
                "Supplier endpoints fail transiently.",
                "documented",
                0.9,
                [Citation(path="docs/adr/0002.md", start_line=9, end_line=10, quote="fail")],
                ["a queue"],
            ),
            why.WhyResult(
                "Why Go?", "The repository does not record a reason for this.", "not_recorded", 0.0
            ),
        ]
    )
    assert "**Q: Why retry?**" in reply
    assert (
        "Documented: Supplier endpoints fail transiently. ([docs/adr/0002.md:9-10](docs/adr/0002.md#L9-L10))"
        in reply
    )
    assert "Rejected alternatives on record: a queue." in reply
    assert "Not recorded: The repository does not record a reason for this." in reply


def test_a_named_setting_ranks_where_its_declaration_documents_it(tmp_path: Path) -> None:
    from agent import declared

    root = tmp_path / "app"
    (root / "server").mkdir(parents=True)
    # The code that reads the setting repeats the question's words; the reason is written where
    # the setting is declared.
    (root / "server/index.ts").write_text(
        "let processCount = env.WEB_CONCURRENCY;\n"
        "if (!env.QUEUE_REDIS_URL) {\n"
        '  log("Restricting process count to 1 without QUEUE_REDIS_URL");\n'
        "  processCount = 1;\n}\n",
        encoding="utf-8",
    )
    (root / "server/env.ts").write_text(
        "export class Env {\n"
        "  /**\n"
        "   * The redis url for scaling the queue service horizontally. If not set\n"
        "   * then the queue service must run as a single process.\n"
        "   */\n"
        "  @IsOptional()\n"
        "  public QUEUE_REDIS_URL = environment.QUEUE_REDIS_URL;\n\n"
        "  // the port\n"
        "  public PORT = environment.PORT;\n}\n",
        encoding="utf-8",
    )
    for n in range(6):  # other code, so that the question's words are not in every file
        (root / f"server/route{n}.ts").write_text(
            f"export function route{n}(req: Request) {{\n  return render(req, {n});\n}}\n",
            encoding="utf-8",
        )
    index = build_index(root)
    question = (
        "Why is the process count restricted to one when the queue service runs without "
        "QUEUE_REDIS_URL?"
    )
    assert why_evidence.ranked_hits(index, question)[0].chunk.path == "server/env.ts"
    lines = (root / "server/env.ts").read_text(encoding="utf-8").split("\n")
    assert declared.documented_at(lines, 1, 10, "QUEUE_REDIS_URL")  # past its decorator
    assert not declared.documented_at(lines, 1, 10, "PORT")  # "the port" documents nothing
    assert declared.code_names(["Docker", "WAL", "`QUEUE_REDIS_URL`", "GitBackend", "web_app"]) == [
        "QUEUE_REDIS_URL",
        "GitBackend",
        "web_app",
    ]
    # Without the boost the code that reads the setting leads.
    unboosted = declared.DECLARED_BOOST
    try:
        declared.DECLARED_BOOST = 1.0
        assert why_evidence.ranked_hits(index, question)[0].chunk.path == "server/index.ts"
    finally:
        declared.DECLARED_BOOST = unboosted


def test_a_reason_that_says_the_question_in_one_breath_wins_a_tie(tmp_path: Path) -> None:
    import subprocess

    from agent.draft.recorded import closeness
    from agent.ingest.retrieval import tokenize

    assert (
        closeness(
            tokenize("Services are lazily imported so that ..."), {"servic", "lazili", "import"}
        )
        == 1.0
    )
    root = tmp_path / "app"
    (root / "server/services").mkdir(parents=True)
    (root / "server/services/index.ts").write_text(
        "/**\n * Services are lazily imported so that only the services being run are loaded\n"
        " * into memory, because a worker does not need the web service.\n */\n"
        "const services = { web: () => import('./web') };\n",
        encoding="utf-8",
    )
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "HOME": str(tmp_path),
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        [
            "commit",
            "-q",
            "-m",
            "Reduce memory\n\nEach service process used 300MB because of heavy dependencies:\n\n"
            "- Load locales through dynamic imports rather than via the locale index\n"
            "- Load the tracing SDK on demand so that the worker stays small\n"
            "- Require the storage client lazily",
        ],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    index = build_index(root)
    question = "Why are services imported lazily?"
    first = why_evidence.ranked_hits(index, question)[0].chunk
    assert first.path == "server/services/index.ts"
    result = why.answer_from_records(index, question)
    assert result is not None and result.answer.startswith("Services are lazily imported")
