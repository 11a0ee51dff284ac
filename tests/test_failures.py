"""Failures are loud, fast and not cached (issue 14), against a misbehaving OpenAI-compatible server
on 127.0.0.1 (tests/fake_server.py): nothing bad is replayed from the cache, a dead endpoint fails
in seconds, Ctrl-C stops at once, bad input is one line and exit 2, truncation is not absence, and
two runs never pay twice for one request."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.base.errors import (
    AllCallsFailedError,
    CallLogError,
    EndpointCheckError,
    ModelBadReplyError,
    ModelCancelledError,
    ModelRefusalError,
    ModelUnavailableError,
    ModelValidationError,
    UserInputError,
)
from agent.cli import app
from agent.document.templates import load_template
from agent.draft.answers import MAX_VALUE_CHARS, TextAnswer
from agent.draft.ask import salvage
from agent.draft.messages import unit_model
from agent.draft.plan import plan_units
from agent.draft.run import DraftOptions, run_draft
from agent.ingest.index import build_index
from agent.llm import calllog
from agent.llm.calllog import CallLog, request_hash
from agent.llm.client import ModelClient
from agent.llm.request import build_request
from agent.llm.settings import ModelSettings, StructuredMode, resolve_settings
from tests.fake_llm import GOOD, Snippet, snippet_messages
from tests.fake_server import (
    FakeServer,
    Reply,
    chat,
    dead_url,
    error,
    fits,
    is_preflight,
    minimal,
    schema_of,
)

runner = CliRunner()
local = pytest.mark.allow_hosts(["127.0.0.1"])
Start = Callable[..., FakeServer]

TEMPLATE = """# [Product Name]

## Storage

- **Database**: [Which database stores the data]
- **Why This Database**: [The reason for it]

## Importer

- **Importer Schedule**: [How often supplier feeds are imported]

## Alerts

- **Alert Channel**: [How low-stock alerts are sent by the worker]
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture repository, built once for this module: its tests only read it."""
    from tests import fixture_repo

    return fixture_repo.build(tmp_path_factory.mktemp("failures") / "inventory")


def client_for(
    url: str, sleep: Callable[[float], None] | None = None, **overrides: Any
) -> ModelClient:
    """A client as the CLI builds one for a remote endpoint (preflight on), without backoff waits
    (or with the given `sleep`)."""
    options: dict[str, Any] = {
        "base_url": url,
        "embedded": False,
        "model": "fake-model",
        "mode": StructuredMode.JSON_SCHEMA,
        "max_retries": 2,
        "timeout": 5.0,
        "preflight": True,
        **overrides,
    }
    return ModelClient(ModelSettings(**options), log=CallLog(), sleep=sleep or (lambda s: None))


def draft_args(repo: Path, tmp_path: Path, url: str, *extra: str) -> list[str]:
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    return [
        "draft",
        str(repo),
        "-t",
        str(template),
        "-o",
        str(tmp_path / "out" / "DOC.md"),
        "--base-url",
        url,
        "--model",
        "fake-model",
        *extra,
    ]


def one_line_error(output: str) -> str:
    """The CLI's whole output for a handled error: exactly one line, no traceback."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("Model:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert lines[0].startswith("Error: ")
    return lines[0]


def answer_for(content: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], Reply]:
    """A model that answers every draft request with the minimal answer, overridden by `content`."""

    def behaviour(body: dict[str, Any]) -> Reply:
        schema = schema_of(body)
        if schema is None or is_preflight(body):
            return fits(body)
        value = minimal(schema)
        for key in value:
            if content and key in content:
                value[key] = content[key]
        return chat(json.dumps(value))

    return behaviour


# --- invalid replies are never served from the cache ---------------------------------------------


BAD_REPLIES = {
    "invalid JSON": chat("this is not JSON"),
    "schema violation": chat(json.dumps({"language": "python"})),
    "refusal": chat(None, refusal="I cannot help with that."),
    "empty reply": chat(""),
}


@local
@pytest.mark.parametrize("kind", list(BAD_REPLIES))
def test_a_bad_reply_is_asked_again_on_the_next_run_not_replayed(
    kind: str, fake_server: Start
) -> None:
    server = fake_server(lambda body: BAD_REPLIES[kind] if not is_preflight(body) else fits(body))
    expected = ModelRefusalError if kind == "refusal" else ModelValidationError
    with pytest.raises(expected):
        client_for(server.url).complete(snippet_messages(), Snippet)
    first = len(server.calls)
    assert first >= 1
    # The next run (same call log) pays again: the bad reply is never an answer.
    with pytest.raises(expected):
        client_for(server.url).complete(snippet_messages(), Snippet)
    assert len(server.calls) == 2 * first
    logged = CallLog().recent(50)
    assert not any(c.cache_hit for c in logged)
    assert all(c.error for c in logged if c.purpose != "preflight")


@local
def test_a_valid_reply_is_still_cached_and_an_old_unmarked_bad_row_is_not_served(
    fake_server: Start,
) -> None:
    server = fake_server(lambda body: chat(GOOD) if not is_preflight(body) else fits(body))
    client_for(server.url).complete(snippet_messages(), Snippet)
    again = client_for(server.url).complete(snippet_messages(), Snippet)
    assert again.cache_hit and len(server.calls) == 1
    # A row an older docagent logged for an invalid reply (no error recorded) is checked on read.
    log = CallLog()
    client = client_for(server.url, use_cache=True)
    request = build_request(
        client.settings, snippet_messages(), _schema(Snippet), "Other", 256, client.mode
    )

    key = request_hash({"endpoint": client.settings.endpoint_id, **request})
    log.record(
        endpoint=client.settings.endpoint_id,
        model="fake-model",
        key=key,
        request=request,
        response="{",
    )
    assert log.cached(key) is not None
    result = client.complete(snippet_messages(), _renamed(Snippet, "Other"), max_tokens=256)
    assert not result.cache_hit and len(server.calls) == 2
    # The request itself was sent again, not a re-ask built on the replayed bad reply.
    assert server.calls[-1]["messages"] == request["messages"]


def _schema(model: Any) -> dict[str, Any]:
    from agent.llm.json_schema import strict_json_schema

    return strict_json_schema(model, bounds=True)


def _renamed(model: Any, name: str) -> Any:
    return type(name, (model,), {"__doc__": model.__doc__})


# --- the preflight call --------------------------------------------------------------------------


@local
def test_a_dead_endpoint_fails_in_seconds_with_the_cause(repo: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = runner.invoke(app, draft_args(repo, tmp_path, dead_url()))
    assert time.monotonic() - started < 8
    assert result.exit_code == 2, result.output
    line = one_line_error(result.output)
    assert "could not be reached" in line and "refused" in line.lower()
    assert "--base-url" in line
    assert not (tmp_path / "out").exists()
    with pytest.raises(EndpointCheckError) as info:
        client_for(dead_url()).complete(snippet_messages(), Snippet)
    assert info.value.cause == "unreachable"


@local
def test_a_hung_endpoint_fails_within_the_timeout(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    server = fake_server(lambda body: Reply(delay=8, body={}))
    started = time.monotonic()
    result = runner.invoke(app, draft_args(repo, tmp_path, server.url, "--timeout", "0.5"))
    assert time.monotonic() - started < 5
    assert result.exit_code == 2, result.output
    assert "did not answer a one-line check within 0.5 s" in one_line_error(result.output)
    assert len(server.requests) == 1


PREFLIGHT_FAILURES = {
    "unknown model": (error(404, "model 'fake-model' not found"), "was not found"),
    "bad credentials": (error(401, "invalid api key"), "credentials"),
    "structured output rejected": (
        error(400, "response_format json_schema is not supported"),
        "rejected structured output mode json_schema",
    ),
    "empty choices": (chat("{}", choices=False), "no choices"),
    "20 MB value": (chat(json.dumps({"ok": "x" * 20_000_000})), "characters for at most 24 tokens"),
    "refusal": (chat(None, refusal="No."), "refused"),
}


@local
@pytest.mark.parametrize("kind", list(PREFLIGHT_FAILURES))
def test_preflight_names_what_is_wrong_before_any_draft_call(
    kind: str, repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    reply, words = PREFLIGHT_FAILURES[kind]
    server = fake_server(lambda body: reply)
    args = draft_args(repo, tmp_path, server.url, "--structured-output", "json_schema")
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert words in one_line_error(result.output)
    assert server.calls == [] and len(server.requests) == 1
    assert not (tmp_path / "out").exists()


@local
def test_preflight_finds_the_structured_output_mode_once_and_is_skipped_when_cached(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    def behaviour(body: dict[str, Any]) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            return error(400, "response_format.type: Input should be 'text' or 'json_object'")
        return answer_for()(body)

    server = fake_server(behaviour)
    result = runner.invoke(app, draft_args(repo, tmp_path, server.url))
    assert result.exit_code == 0, result.output
    checks = [r for r in server.requests if is_preflight(r)]
    # One rejected json_schema check, one json_object check; every draft call in json_object.
    assert [c["response_format"]["type"] for c in checks] == ["json_schema", "json_object"]
    assert server.calls and all(c["response_format"]["type"] == "json_object" for c in server.calls)
    sent = len(server.requests)
    again = runner.invoke(app, draft_args(repo, tmp_path, server.url))
    assert again.exit_code == 0, again.output
    # The re-run is answered from the cache: no preflight, no call (cassette replays rely on it).
    assert len(server.requests) == sent


# --- a run whose every call failed ---------------------------------------------------------------


@local
def test_a_draft_whose_every_call_failed_exits_non_zero_and_writes_nothing(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    server = fake_server(
        lambda body: fits(body) if is_preflight(body) else chat(None, refusal="No.")
    )
    out = tmp_path / "out" / "DOC.md"
    result = runner.invoke(app, draft_args(repo, tmp_path, server.url))
    assert result.exit_code == 1, result.output
    line = one_line_error(result.output)
    assert "Every model call failed (3 of 3)" in line and "refused" in line
    assert not out.exists() and not (tmp_path / "out" / "DOC.review.md").exists()


@local
def test_why_whose_every_call_failed_exits_non_zero(repo: Path, fake_server: Start) -> None:
    server = fake_server(lambda body: fits(body) if is_preflight(body) else error(400, "bad"))
    result = runner.invoke(
        app,
        ["why", "Why does the importer retry?", "--repo", str(repo), "--base-url", server.url],
    )
    assert result.exit_code == 1, result.output
    assert "Every model call failed (1 of 1)" in one_line_error(result.output)


def test_all_failed_is_a_typed_error_with_its_cause(repo: Path, tmp_path: Path) -> None:
    from tests.fake_llm import fake, sequence

    handler, _ = sequence(*[_http(500)] * 50)
    client, _ = fake(handler, max_retries=0)
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    with pytest.raises(AllCallsFailedError) as info:
        run_draft(repo, DraftOptions(template=str(template), output=tmp_path / "d.md"), client)
    assert info.value.calls == 3 and "HTTP 500" in info.value.cause
    assert not (tmp_path / "d.md").exists()


def _http(status: int) -> Any:
    from tests.fake_llm import httpx

    return httpx.Response(status, json={"error": {"message": "boom"}})


# --- timeouts ------------------------------------------------------------------------------------


def test_timeout_comes_from_option_environment_or_config_with_sane_defaults(
    monkeypatch: pytest.MonkeyPatch, docagent_home: Path
) -> None:
    assert resolve_settings().timeout == 600  # the embedded model on 2 cores
    monkeypatch.setenv("OPENAI_BASE_URL", "http://remote.test/v1")
    assert resolve_settings().timeout == 120
    (docagent_home / "config.toml").write_text("timeout = 45\n")
    assert resolve_settings().timeout == 45
    monkeypatch.setenv("DOCAGENT_TIMEOUT", "30")
    assert resolve_settings().timeout == 30
    assert resolve_settings(timeout=7.5).timeout == 7.5
    client = ModelClient(resolve_settings(timeout=7.5))
    timeout = client.client().timeout
    assert timeout.read == 7.5 and timeout.connect == 7.5  # type: ignore[union-attr]
    for bad in ("soon", "-1", "0", "inf"):
        monkeypatch.setenv("DOCAGENT_TIMEOUT", bad)
        with pytest.raises(UserInputError, match="DOCAGENT_TIMEOUT"):
            resolve_settings()


@local
def test_a_hung_call_costs_two_timeouts_not_five(fake_server: Start) -> None:
    server = fake_server(lambda body: fits(body) if is_preflight(body) else Reply(delay=8))
    client = client_for(server.url, timeout=0.4, max_retries=4)
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"timed out: no answer within 0\.4 s"):
        client.complete(snippet_messages(), Snippet)
    assert time.monotonic() - started < 3
    assert len(server.calls) == 2


# --- Ctrl-C --------------------------------------------------------------------------------------


@local
def test_cancel_stops_queued_calls_and_waits(fake_server: Start) -> None:
    server = fake_server(lambda body: fits(body) if is_preflight(body) else error(503, "busy"))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        # The first backoff wait is where Ctrl-C lands.
        slept.append(seconds)
        client.cancel()

    client = client_for(server.url, sleep=sleep, max_retries=4)
    with pytest.raises(ModelCancelledError):
        client.complete(snippet_messages(), Snippet)
    assert len(server.calls) == 1 and len(slept) == 1
    with pytest.raises(ModelCancelledError):
        client.complete(snippet_messages(), Snippet, purpose="later")
    assert len(server.calls) == 1


CTRL_C_TEMPLATE = "# [Product Name]\n\n" + "".join(
    f"## Part {n}\n\n- **Importer Detail {n}**: [What the importer does with feeds, step {n}]\n\n"
    for n in range(1, 9)
)


@local
def test_ctrl_c_stops_at_once_exits_130_and_writes_nothing(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    arrived = threading.Event()

    def behaviour(body: dict[str, Any]) -> Reply:
        if is_preflight(body):
            return fits(body)
        arrived.set()
        return Reply(delay=6, body=fits(body).body)  # a slow model: calls stay in flight

    server = fake_server(behaviour)
    template = tmp_path / "t.md"
    template.write_text(CTRL_C_TEMPLATE)
    out = tmp_path / "out" / "DOC.md"
    env = {
        **os.environ,
        "OPENAI_BASE_URL": server.url,
        "DOCAGENT_MODEL": "fake-model",
        "DOCAGENT_MAX_CONCURRENCY": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "draft", str(repo), "-t", str(template), "-o", str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert arrived.wait(20), "no draft call arrived"
        time.sleep(0.2)
        sent = len(server.calls)
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert time.monotonic() - interrupted < 3
    assert "Traceback" not in stderr and "Interrupted" in stderr
    time.sleep(0.3)
    assert len(server.calls) == sent <= 2  # the 8 planned calls: only those in flight were sent
    assert not out.parent.exists() or not list(out.parent.iterdir())  # not even a temporary file


# --- bad input: one line, exit 2, no traceback ---------------------------------------------------


@local
def test_empty_choices_and_a_20_mb_value_after_the_preflight_are_typed_errors(
    fake_server: Start,
) -> None:
    replies = iter([chat("{}", choices=False), chat(json.dumps({"language": "x" * 20_000_000}))])
    server = fake_server(lambda body: fits(body) if is_preflight(body) else next(replies))
    client = client_for(server.url)
    with pytest.raises(ModelBadReplyError, match="no choices"):
        client.complete(snippet_messages(), Snippet)
    with pytest.raises(ModelBadReplyError, match="20,000,016 characters"):
        client.complete(snippet_messages(), Snippet, purpose="again")
    logged = CallLog().recent(5)
    assert [c.error for c in logged[:2]] == [
        "reply too large: 20,000,016 characters",
        "empty reply: no choices",
    ]
    assert CallLog().get(logged[0].id)["response"] is None  # type: ignore[index]


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


@local
def test_a_locked_call_log_fails_before_any_model_call(
    repo: Path,
    tmp_path: Path,
    docagent_home: Path,
    fake_server: Start,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CallLog().close()
    monkeypatch.setattr(calllog, "BUSY_TIMEOUT", 0.2)
    holder = _hold_write_lock(docagent_home / "calls.db")
    try:
        server = fake_server()
        result = runner.invoke(app, draft_args(repo, tmp_path, server.url))
        assert result.exit_code == 2, result.output
        line = one_line_error(result.output)
        assert "calls.db: the call log is locked by another process" in line
        assert "DOCAGENT_HOME" in line and server.requests == []
        assert runner.invoke(app, ["log", "-n", "3"]).exit_code == 2
    finally:
        holder.rollback()
        holder.close()
    assert runner.invoke(app, ["log", "-n", "3"]).exit_code == 0


def test_a_corrupt_call_log_is_one_line_and_exit_2(docagent_home: Path) -> None:
    (docagent_home / "calls.db").write_bytes(b"this is not a database\n" * 200)
    result = runner.invoke(app, ["log"])
    assert result.exit_code == 2
    line = one_line_error(result.output)
    assert "calls.db: the call log cannot be read" in line and "move it aside" in line
    with pytest.raises(CallLogError):
        CallLog()


@local
def test_output_problems_are_found_before_the_first_model_call(
    repo: Path, tmp_path: Path, fake_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fake_server()
    folder = tmp_path / "adir"
    folder.mkdir()
    base = draft_args(repo, tmp_path, server.url)
    at = base.index("-o") + 1

    def run(output: str) -> str:
        args = [*base[:at], output, *base[at + 1 :]]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        return one_line_error(result.output)

    assert "is a directory" in run(str(folder))
    (tmp_path / "afile").write_text("x")
    assert "is a file, not a folder" in run(str(tmp_path / "afile" / "sub" / "DOC.md"))
    (folder / "DOC.review.md").mkdir()
    assert "DOC.review.md is a directory" in run(str(folder / "DOC.md"))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    # Root ignores permission bits, so the refused write is simulated where the check makes it.
    monkeypatch.setattr("agent.draft.outputs.tempfile.mkstemp", refuse)
    line = run(str(tmp_path / "ro" / "DOC.md"))
    assert f"cannot write in {tmp_path} (Permission denied)" in line
    assert server.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused(repo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        args = draft_args(repo, tmp_path, "http://127.0.0.1:9/v1")
        args[args.index("-o") + 1] = str(folder / "DOC.md")
        result = runner.invoke(app, args)
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2 and "cannot write in" in one_line_error(result.output)


@local
def test_a_file_name_that_is_not_utf8_is_skipped_not_a_crash(
    tmp_path: Path, fake_server: Start
) -> None:
    from tests import fixture_repo

    repo = fixture_repo.build(tmp_path / "own")
    name = os.fsencode(repo / "docs") + b"/caf\xe9-notes.md"
    Path(os.fsdecode(name)).write_text("# Notes\n\nThe importer retries feeds with backoff.\n")
    server = fake_server(answer_for())
    result = runner.invoke(app, draft_args(repo, tmp_path, server.url))
    assert result.exit_code == 0, result.output
    assert all("caf" not in json.dumps(r) for r in server.requests)
    shown = runner.invoke(app, ["index", str(repo), "--json"])
    skipped = json.loads(shown.output)["skipped"]
    assert skipped["file name is not valid UTF-8 (rename the file to include it)"] == 1
    bad_output = os.fsdecode(os.fsencode(tmp_path) + b"/\xff.md")
    args = draft_args(repo, tmp_path, server.url)
    args[args.index("-o") + 1] = bad_output
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "not valid UTF-8" in one_line_error(result.output)


def test_a_thousand_nested_directories_are_walked_without_a_traceback(tmp_path: Path) -> None:
    root = tmp_path / "deep"
    root.mkdir()
    (root / "README.md").write_text("# Deep\n\nA repository with a very deep tree.\n")
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(1000):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open("x.py", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
        os.write(leaf, b"x = 1\n")
        os.close(leaf)
    finally:
        os.close(fd)
    try:
        result = runner.invoke(app, ["index", str(root), "--json"])
    finally:
        _remove_deep(root)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["skipped"] == {"nested deeper than 64 directories": 1}
    assert data["files_by_kind"] == {"notes": 1}


def _remove_deep(top: Path) -> None:
    """Remove a very deep tree one level at a time (shutil.rmtree, and so pytest's own clean-up of
    old temporary folders, recurses and would fail on it)."""
    pending, moved = [top], 0
    while pending:
        folder = pending.pop()
        for entry in list(os.scandir(folder)):
            if entry.is_dir(follow_symlinks=False):
                target = top.parent / f"flat-{moved}"
                moved += 1
                os.rename(entry.path, target)
                pending.append(target)
            else:
                os.unlink(entry.path)
        os.rmdir(folder)


BAD_OPTIONS = {
    "--at beyond the file": (
        ["why", "Why?", "--evidence-only", "--at", "src/inventory/importer.py:900-905"],
        "the file has",
    ),
    "-k 0": (["search", "{repo}", "feeds", "-k", "0"], "-k 0: must be at least 1"),
    "negative -k": (["search", "{repo}", "feeds", "-k", "-3"], "-k -3: must be at least 1"),
    "negative --max-file-size": (
        ["index", "{repo}", "--max-file-size", "-1"],
        "--max-file-size -1: must be at least 1",
    ),
    "negative -n": (["log", "-n", "-5"], "-n -5: list at least one call"),
    "negative --token-budget": (
        ["draft", "{repo}", "--dry-run", "--token-budget", "-5"],
        "--token-budget: -5 is out of range",
    ),
    "zero --token-budget": (
        ["draft", "{repo}", "--token-budget", "0", "--base-url", "http://127.0.0.1:9/v1"],
        "--token-budget: 0 is out of range",
    ),
    "negative --evidence-tokens": (
        ["draft", "{repo}", "--dry-run", "--evidence-tokens", "-100"],
        "--evidence-tokens -100: must be at least 1",
    ),
    "negative --timeout": (
        ["why", "Why?", "--repo", "{repo}", "--timeout", "-1"],
        "--timeout: -1.0 is out of range",
    ),
    "unknown --sections": (
        ["draft", "{repo}", "--dry-run", "--sections", "no-such-chapter"],
        "--sections 'no-such-chapter' matches no section of architecture-overview",
    ),
    "invalid --structured-output": (
        ["draft", "{repo}", "--dry-run", "--structured-output", "xml"],
        "--structured-output: unknown structured-output mode 'xml'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_options_are_one_line_and_exit_2(case: str, repo: Path) -> None:
    args, words = BAD_OPTIONS[case]
    if case.startswith("--at"):
        args = [*args, "--repo", str(repo)]
    result = runner.invoke(app, [a.replace("{repo}", str(repo)) for a in args])
    assert result.exit_code == 2, result.output
    assert words in one_line_error(result.output)


def test_bad_settings_from_the_environment_or_config_name_their_source(
    repo: Path, monkeypatch: pytest.MonkeyPatch, docagent_home: Path
) -> None:
    monkeypatch.setenv("DOCAGENT_STRUCTURED_OUTPUT", "xml")
    result = runner.invoke(app, ["why", "Why?", "--repo", str(repo)])
    assert result.exit_code == 2
    assert "DOCAGENT_STRUCTURED_OUTPUT: unknown structured-output mode" in one_line_error(
        result.output
    )
    monkeypatch.delenv("DOCAGENT_STRUCTURED_OUTPUT")
    monkeypatch.setenv("DOCAGENT_TOKEN_BUDGET", "lots")
    with pytest.raises(UserInputError, match="DOCAGENT_TOKEN_BUDGET: 'lots' is not a whole number"):
        resolve_settings()
    monkeypatch.delenv("DOCAGENT_TOKEN_BUDGET")
    (docagent_home / "config.toml").write_text("max_concurrency = -2\n")
    with pytest.raises(UserInputError, match=r"max_concurrency in .*config\.toml"):
        resolve_settings(base_url="http://x.test/v1")


# --- output values are bounded in every structured-output mode -----------------------------------


@local
@pytest.mark.parametrize(
    "mode", [StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT, StructuredMode.PROMPT]
)
def test_values_are_bounded_after_validation_in_every_mode(
    mode: StructuredMode, fake_server: Start
) -> None:
    long = {
        "evidence": "E1" * 500,
        "lines": "1",
        "value": "word " * 10_000,
        "status": "answered",
        "confidence": 0.9,
    }
    server = fake_server(lambda body: fits(body) if is_preflight(body) else chat(json.dumps(long)))
    result = client_for(server.url, mode=mode).complete(snippet_messages(), TextAnswer)
    value = result.value
    assert len(value.value) == MAX_VALUE_CHARS and value.value.endswith("…")  # type: ignore[attr-defined]
    assert len(value.evidence) <= 40  # type: ignore[attr-defined]
    assert value.cut_parts == ["evidence", "value"]  # type: ignore[attr-defined]


@local
def test_a_cut_value_is_flagged_in_the_draft(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    too_long = {
        "evidence": "E1",
        "lines": "none",
        "value": "SQLite " * 2000,
        "status": "answered",
        "confidence": 0.9,
    }
    server = fake_server(answer_for({"database": too_long}))
    result = runner.invoke(app, draft_args(repo, tmp_path, server.url))
    assert result.exit_code == 0, result.output
    draft = json.loads((tmp_path / "out" / "DOC.draft.json").read_text())
    field = next(f for f in draft["fields"] if f["label"] == "Database")
    assert len(field["value"]) <= MAX_VALUE_CHARS and field["flagged"]
    assert any("longer than docagent keeps and was cut (value)" in r for r in field["reasons"])


# --- truncation is never absence; the summary counts each field once ------------------------------

GROUP_TEMPLATE = """# [Product Name]

## Components

- **Summary**: [What the main components of the system are]

### Component 1: [Component name]

- **Purpose**: [What the component does]
- **Technology**: [What the component is built with]

### Component 2: [Component name]

- **Purpose**: [What the component does]
- **Technology**: [What the component is built with]
"""


def test_a_group_cut_off_before_its_first_item_is_not_reported_as_not_found(
    repo: Path, tmp_path: Path
) -> None:
    from tests.fake_llm import completion, fake, httpx, sequence

    template = tmp_path / "g.md"
    template.write_text(GROUP_TEMPLATE)
    unit = next(u for u in plan_units(load_template(str(template)), set()) if u.groups)
    keys = list(unit.keys)
    summary = {"evidence": "E1", "lines": "1", "value": "An importer and an API."}
    summary |= {"status": "answered", "confidence": 0.8}
    text_key, group_key = keys[0], keys[1]
    cut = json.dumps({text_key: summary})[:-1] + f', "{group_key}": {{"items": [{{"evidence": "E'
    # Salvage keeps the complete text field; the group was cut inside its first item: not complete.
    answers, was_cut = salvage(unit_model(unit), cut)
    assert set(answers) == {text_key} and was_cut == set()
    handler, seen = sequence(
        httpx.Response(200, json=completion(cut, "length")),
        httpx.Response(200, json=completion('{"' + group_key + '": {"items": [', "length")),
    )
    client, _ = fake(handler)
    outcome = run_draft(
        repo, DraftOptions(template=str(template), output=tmp_path / "g-out.md"), client
    )
    assert len(seen) == 2  # the group was asked again on its own, and cut off again
    group = next(r for r in outcome.results.values() if r.kind == "group")
    assert group.source == "error" and group.flagged
    assert group.reasons[0].startswith("cut off: the answer reached the token limit")
    assert "_Not drafted: cut off" in outcome.markdown
    assert outcome.summary["not_found"] == 0 and outcome.summary["errors"] == 1
    review = (tmp_path / "g-out.review.md").read_text()
    assert "## Not found in the repository" not in review


def test_a_group_cut_after_complete_items_keeps_them_flagged_cut_off(
    repo: Path, tmp_path: Path
) -> None:
    template = tmp_path / "g.md"
    template.write_text(GROUP_TEMPLATE)
    unit = next(u for u in plan_units(load_template(str(template)), set()) if u.groups)
    group_key = list(unit.keys)[1]
    item = {"evidence": "E1", "lines": "1", "component_name": "Importer", "purpose": "Imports."}
    item |= {"technology": "Python", "status": "answered", "confidence": 0.8}
    # The list was still open at the cut (between items): more items may have been lost.
    cut = json.dumps({group_key: {"items": [item]}})[:-3] + ", "
    answers, was_cut = salvage(unit_model(unit), cut)
    assert len(answers[group_key].items) == 1 and was_cut == {group_key}


def test_the_summary_counts_each_field_once(repo: Path, tmp_path: Path) -> None:
    from agent.draft.answers import FieldResult
    from agent.draft.report import summarize

    def result(fid: str, **kw: Any) -> FieldResult:
        return FieldResult(id=fid, label=fid, section="s", kind="text", **kw)

    results = {
        "a": result("a", status="answered", value="x"),
        "b": result("b", status="answered", value="x", flagged=True, reasons=["weak"]),
        "c": result("c", status="answered", value="x", source="facts"),
        "d": result("d", status="not_found"),
        "e": result("e", status="not_found", source="error", flagged=True, reasons=["failed"]),
        "f": result("f", status="not_applicable"),
        "g": result("g", status="answered", value="x"),  # kept from a human edit below
    }
    s = summarize(results, {"g": object()}, None, 1.0, 3)
    assert (s["answered"], s["flagged"], s["from_facts"]) == (3, 1, 1)
    assert (s["not_found"], s["errors"], s["not_applicable"], s["kept_human"]) == (1, 1, 1, 1)
    parts = ("answered", "not_found", "errors", "not_applicable", "kept_human")
    assert sum(s[k] for k in parts) == s["fields"] == len(results)


# --- nested groups in a user template -------------------------------------------------------------

NESTED_TEMPLATE = """# [Product Name]

## Services

### Service 1: [Service name]

- **Purpose**: [What the service does]
- **Endpoint 1**: [Path and method of an HTTP endpoint]
- **Endpoint 2**: [Path and method of an HTTP endpoint]

### Service 2: [Service name]

- **Purpose**: [What the service does]
- **Endpoint 1**: [Path and method of an HTTP endpoint]
- **Endpoint 2**: [Path and method of an HTTP endpoint]
"""


@local
def test_a_nested_group_is_left_visibly_unfilled_and_flagged(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    template = tmp_path / "nested.md"
    template.write_text(NESTED_TEMPLATE)
    unit = next(u for u in plan_units(load_template(str(template)), set()) if u.groups)
    group_key = next(iter(unit.keys))
    service = {"evidence": "E1", "lines": "1", "service_name": "Inventory API"}
    service |= {"purpose": "Serves stock queries over HTTP.", "status": "answered"}
    service |= {"confidence": 0.9}
    server = fake_server(answer_for({group_key: {"items": [service]}}))
    output = tmp_path / "out" / "NESTED.md"
    args = draft_args(repo, tmp_path, server.url)
    args[args.index("-t") + 1] = str(template)
    args[args.index("-o") + 1] = str(output)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "Inventory API" in text
    # The nested endpoints keep their template text, marked for a human, never silently raw.
    assert "[Path and method of an HTTP endpoint]" in text
    assert "not drafted (a group within a group item); fill it by hand" in text
    summary = json.loads((tmp_path / "out" / "NESTED.draft.json").read_text())["summary"]
    assert summary["flagged"] >= 1
    assert "of which 1 flagged for review" in result.output


# --- two concurrent drafts of one repository ------------------------------------------------------


@local
def test_two_concurrent_drafts_do_not_pay_twice_for_one_call(
    repo: Path, tmp_path: Path, fake_server: Start
) -> None:
    def slow(body: dict[str, Any]) -> Reply:
        reply = answer_for()(body)
        reply.delay = 0.2
        return reply

    server = fake_server(slow)
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    outcomes: list[Any] = []
    # Built once: two index builds in one process would race on the index cache's temporary files
    # (two processes do not: their names carry the pid).
    index = build_index(repo)

    def draft(name: str) -> None:
        client = client_for(server.url, max_concurrency=3)  # its own connection to calls.db
        options = DraftOptions(template=str(template), output=tmp_path / name / "DOC.md")
        outcomes.append(run_draft(repo, options, client, index=index))

    threads = [threading.Thread(target=draft, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(outcomes) == 2
    assert len(server.calls) == 3  # three sections, each paid for once
    hits = sum(o.summary["cache_hits"] for o in outcomes)
    assert hits == 3
