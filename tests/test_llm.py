"""The model layer: structured output, re-asks, typed errors, retries, cache, log, budget.

Fault behaviour runs on a fake transport; anything that claims "works with the server" replays a
cassette recorded from the embedded llama.cpp server.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from pathlib import Path

import openai
import pytest

from agent.base.errors import (
    BudgetExceededError,
    ModelContentFilterError,
    ModelNotConfiguredError,
    ModelRefusalError,
    ModelTruncatedError,
    ModelUnavailableError,
    ModelValidationError,
)
from agent.llm import prompts
from agent.llm.client import ModelClient
from agent.llm.json_repair import parse_json, parse_partial_json, partial_members
from agent.llm.settings import ModelSettings, StructuredMode, resolve_settings
from tests.conftest import recorded_client
from tests.fake_llm import (
    GOOD,
    LowercaseSnippet,
    Snippet,
    completion,
    fake,
    httpx,
    sequence,
    snippet_messages,
)

# --- fault behaviour (fake transport) ---


def test_429_with_retry_after_then_success() -> None:
    handler, seen = sequence(
        httpx.Response(429, headers={"retry-after": "2"}, json={"error": {"message": "slow down"}}),
        httpx.Response(200, json=completion(GOOD)),
    )
    client, sleeps = fake(handler)
    result = client.complete(snippet_messages(), Snippet)
    assert result.value.language == "python"
    assert sleeps == [2.0] and len(seen) == 2


def test_retry_after_in_milliseconds_and_as_an_http_date() -> None:
    later = email.utils.format_datetime(
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True
    )
    handler, _ = sequence(
        httpx.Response(429, headers={"retry-after-ms": "1500"}, json={"error": {"message": "x"}}),
        httpx.Response(503, headers={"retry-after": later}, json={"error": {"message": "x"}}),
        httpx.Response(200, json=completion(GOOD)),
    )
    client, sleeps = fake(handler)
    client.complete(snippet_messages(), Snippet)
    assert sleeps[0] == 1.5 and 25 <= sleeps[1] <= 30


def test_a_retry_after_that_is_no_wait_is_ignored_and_a_long_one_fails_at_once() -> None:
    naive = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    handler, _ = sequence(
        # An unreadable retry-after-ms does not hide a usable Retry-After.
        httpx.Response(
            503, headers={"retry-after-ms": "soon", "retry-after": "3"}, json={"error": {}}
        ),
        httpx.Response(503, headers={"retry-after": "-5"}, json={"error": {}}),  # no wait: backoff
        httpx.Response(503, headers={"retry-after": naive.replace("+0000", "")}, json={}),
        httpx.Response(200, json=completion(GOOD)),
    )
    client, sleeps = fake(handler)
    client.complete(snippet_messages(), Snippet)
    assert sleeps[0] == 3.0 and 1.0 <= sleeps[1] <= 2.0 and 25 <= sleeps[2] <= 30
    # Asked to wait an hour: the call fails now, with the wait on the error.
    handler, seen = sequence(httpx.Response(429, headers={"retry-after": "3600"}, json={}))
    client, sleeps = fake(handler)
    with pytest.raises(ModelUnavailableError, match="asked to wait 3600 s") as info:
        client.complete(snippet_messages(), LowercaseSnippet)  # (not the answer cached above)
    assert info.value.retry_after == 3600.0 and len(seen) == 1 and sleeps == []
    # With no retry left the long wait is still named (not "after retries").
    handler, seen = sequence(httpx.Response(429, headers={"retry-after": "1000"}, json={}))
    client, sleeps = fake(handler, max_retries=0)
    with pytest.raises(ModelUnavailableError, match="asked to wait 1000 s"):
        client.complete(snippet_messages(), LowercaseSnippet)  # (failed calls are not cached)
    assert len(seen) == 1 and sleeps == []


def test_500s_until_retries_are_exhausted() -> None:
    handler, seen = sequence(
        httpx.Response(500, headers={"retry-after": "1"}, json={"error": {"message": "boom"}})
    )
    client, sleeps = fake(handler)
    with pytest.raises(ModelUnavailableError) as info:
        client.complete(snippet_messages(), Snippet)
    assert info.value.attempts == 4 and len(seen) == 4 and len(sleeps) == 3
    # What the endpoint answered is on the error, not only in its message.
    assert info.value.status == 500 and "boom" in info.value.body
    assert info.value.retry_after == 1.0
    assert client.log.recent(1)[0].error is not None


def test_timeout_and_connection_refused_become_typed_errors() -> None:
    handler, _ = sequence(httpx.ReadTimeout("slow"))
    client, _ = fake(handler)
    with pytest.raises(ModelUnavailableError, match="timed out"):
        client.complete(snippet_messages(), Snippet)
    handler, _ = sequence(httpx.ConnectError("refused"))
    client, _ = fake(handler)
    with pytest.raises(ModelUnavailableError, match="could not be reached"):
        client.complete(snippet_messages(), Snippet)


def test_truncated_answer_is_cached_so_a_rerun_does_not_pay_again() -> None:
    handler, seen = sequence(
        httpx.Response(200, json=completion('{"language": "pyth', finish="length"))
    )
    client, _ = fake(handler)
    for _ in range(2):
        with pytest.raises(ModelTruncatedError):
            client.complete(snippet_messages(), Snippet, max_tokens=5)
    assert len(seen) == 1 and client.usage.cache_hits == 1


def test_truncated_output() -> None:
    handler, _ = sequence(
        httpx.Response(200, json=completion('{"language": "pyth', finish="length"))
    )
    client, _ = fake(handler)
    with pytest.raises(ModelTruncatedError) as info:
        client.complete(snippet_messages(), Snippet, max_tokens=5)
    assert info.value.completion_tokens == 20


def test_invalid_json_is_reasked_then_given_up() -> None:
    handler, seen = sequence(httpx.Response(200, json=completion("not json at all")))
    client, _ = fake(handler)
    with pytest.raises(ModelValidationError) as info:
        client.complete(snippet_messages(), Snippet)
    assert info.value.attempts == 3 and len(seen) == 3
    assert info.value.prompt_tokens == 300
    third = json.loads(seen[2].content)
    assert third["messages"][-1]["content"].startswith("Your previous reply was not valid")
    assert third["messages"][-2] == {"role": "assistant", "content": "not json at all"}


def test_reask_recovers_from_a_schema_error() -> None:
    bad = json.dumps({"language": "python", "purpose": "x"})  # keywords missing
    handler, seen = sequence(
        httpx.Response(200, json=completion(bad)), httpx.Response(200, json=completion(GOOD))
    )
    client, _ = fake(handler)
    result = client.complete(snippet_messages(), Snippet)
    assert result.attempts == 2 and result.value.keywords == ["retry"]
    assert "keywords: Field required" in json.loads(seen[1].content)["messages"][-1]["content"]


def test_refusal_and_content_filter() -> None:
    handler, _ = sequence(
        httpx.Response(200, json=completion("", refusal="I can't help with that."))
    )
    client, _ = fake(handler)
    with pytest.raises(ModelRefusalError, match="can't help"):
        client.complete(snippet_messages(), Snippet)
    # Same request as above: without use_cache=False the cached refusal would answer it.
    handler, _ = sequence(httpx.Response(200, json=completion("", finish="content_filter")))
    client, _ = fake(handler, use_cache=False)
    with pytest.raises(ModelContentFilterError):
        client.complete(snippet_messages(), Snippet)


def test_bad_credentials_and_unknown_model_say_what_to_fix() -> None:
    handler, _ = sequence(httpx.Response(401, json={"error": {"message": "bad key"}}))
    client, _ = fake(handler)
    with pytest.raises(ModelNotConfiguredError, match="credentials"):
        client.complete(snippet_messages(), Snippet)
    handler, _ = sequence(httpx.Response(404, json={"error": {"message": "no such model"}}))
    client, _ = fake(handler)
    with pytest.raises(ModelNotConfiguredError, match="DOCAGENT_MODEL"):
        client.complete(snippet_messages(), Snippet)


def test_identical_request_is_answered_from_cache_and_logged() -> None:
    handler, seen = sequence(httpx.Response(200, json=completion(GOOD)))
    client, _ = fake(handler)
    first = client.complete(snippet_messages(), Snippet, purpose="t")
    second = client.complete(snippet_messages(), Snippet, purpose="t")
    assert len(seen) == 1 and not first.cache_hit and second.cache_hit
    assert client.usage.calls == 1 and client.usage.cache_hits == 1
    rows = client.log.recent(5)
    assert [r.cache_hit for r in rows] == [True, False]
    assert rows[1].prompt_tokens == 100 and rows[1].latency_ms >= 0
    stored = client.log.get(rows[1].id)
    assert stored is not None and stored["request"]["response_format"]["type"] == "json_schema"
    uncached, _ = fake(handler, use_cache=False)
    uncached.complete(snippet_messages(), Snippet)
    assert len(seen) == 2


def test_token_budget_stops_before_sending() -> None:
    handler, seen = sequence(httpx.Response(200, json=completion(GOOD)))
    client, _ = fake(handler, token_budget=50)
    with pytest.raises(BudgetExceededError, match="budget"):
        client.complete(snippet_messages(), Snippet)
    assert seen == []


def test_mode_fallback_when_backend_rejects_json_schema() -> None:
    handler, seen = sequence(
        httpx.Response(
            500,
            json={
                "error": {
                    "message": "response_format.type: Input should be 'text' or 'json_object'"
                }
            },
        ),
        httpx.Response(200, json=completion(GOOD)),
    )
    client, _ = fake(handler, mode=StructuredMode.AUTO)
    client.complete(snippet_messages(), Snippet)
    assert client.mode is StructuredMode.JSON_OBJECT
    assert json.loads(seen[1].content)["response_format"]["type"] == "json_object"


def test_prompt_mode_puts_schema_in_the_prompt() -> None:
    handler, seen = sequence(httpx.Response(200, json=completion("```json\n" + GOOD + "\n```")))
    client, _ = fake(handler, mode=StructuredMode.PROMPT)
    client.complete(snippet_messages(), Snippet)
    body = json.loads(seen[0].content)
    assert "response_format" not in body
    assert '"keywords"' in body["messages"][0]["content"]


def test_parse_json_is_lenient() -> None:
    assert parse_json('{"a": "line\nbreak"}') == {"a": "line\nbreak"}
    assert parse_json('Sure! {"a": 1} hope that helps') == {"a": 1}


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch, docagent_home: Path) -> None:
    assert resolve_settings().embedded
    (docagent_home / "config.toml").write_text(
        'base_url = "http://from-file/v1"\nmodel = "file-model"\n'
    )
    s = resolve_settings()
    assert (s.base_url, s.model, s.embedded) == ("http://from-file/v1", "file-model", False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://from-env/v1")
    monkeypatch.setenv("DOCAGENT_MODEL", "env-model")
    s = resolve_settings()
    assert (s.base_url, s.model) == ("http://from-env/v1", "env-model")
    s = resolve_settings(base_url="http://from-cli/v1", model="cli-model")
    assert (s.base_url, s.model) == ("http://from-cli/v1", "cli-model")
    with pytest.raises(ModelNotConfiguredError, match="structured-output"):
        resolve_settings(mode="xml")


def test_missing_prompt_variable_is_an_error() -> None:
    with pytest.raises(Exception, match=r"needs a value for \$"):
        prompts.render("why", question="x")


# --- against the real server (cassettes recorded from the embedded llama.cpp model) ---


@pytest.mark.vcr
def test_structured_call_validates_against_the_server(model_base_url: str) -> None:
    client = recorded_client(model_base_url)
    result = client.complete(snippet_messages(), Snippet, max_tokens=200)
    assert result.value.language.lower() == "python"
    assert result.attempts == 1 and result.prompt_tokens > 100
    assert len(result.value.keywords) >= 1
    sent = client.log.get(client.log.recent(1)[0].id)
    assert sent is not None
    assert sent["request"]["response_format"]["type"] == "json_object"
    assert sent["request"]["response_format"]["schema"]["required"] == [
        "language",
        "purpose",
        "keywords",
    ]


@pytest.mark.vcr
def test_reask_after_validation_failure_against_the_server(model_base_url: str) -> None:
    client = recorded_client(model_base_url)
    result = client.complete(snippet_messages(), LowercaseSnippet, max_tokens=200)
    assert result.attempts >= 2, "the first answer capitalised the language and was re-asked"
    assert result.value.language == "python"


@pytest.mark.vcr
def test_auto_mode_detects_llama_cpp_python_and_falls_back(model_base_url: str) -> None:
    client = recorded_client(model_base_url, mode=StructuredMode.AUTO)
    result = client.complete(snippet_messages(), Snippet, max_tokens=200)
    assert client.mode is StructuredMode.JSON_OBJECT
    assert result.value.language.lower() == "python"


def test_dead_embedded_server_is_restarted_once() -> None:
    class FakeServer:
        def __init__(self) -> None:
            self.restarts = 0
            self.up = False

        def start(self) -> str:
            self.up = True
            return "http://fake.test/v1"

        def alive(self) -> bool:
            return self.up

        def restart(self) -> str:
            self.restarts += 1
            return self.start()

        def stop(self) -> None:
            self.up = False

        alias = "m"

    handler, seen = sequence(
        httpx.ConnectError("server died"), httpx.Response(200, json=completion(GOOD))
    )

    class Client(ModelClient):
        def _embedded_client(self, url: str) -> openai.OpenAI:
            return openai.OpenAI(
                base_url=url,
                api_key="k",
                max_retries=0,
                http_client=httpx.Client(transport=httpx.MockTransport(handler)),
            )

    server = FakeServer()
    client = Client(
        ModelSettings(embedded=True, model="m", mode=StructuredMode.JSON_OBJECT, max_retries=2),
        sleep=lambda s: None,
        server=server,  # type: ignore[arg-type]
    )
    client.client()
    server.up = False  # the process died after starting
    result = client.complete(snippet_messages(), Snippet)
    assert result.value.language == "python"
    assert server.restarts == 1 and len(seen) == 2


def test_cli_models_and_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    runner = CliRunner()
    data = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert data["embedded"] is True and data["model"] == "qwen2.5-coder-0.5b"
    assert "install" in data["embedded_models"]["qwen2.5-coder-1.5b"]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://other.test/v1")
    assert (
        json.loads(runner.invoke(app, ["models", "--json"]).output)["endpoint"]
        == "http://other.test/v1"
    )
    handler, _ = sequence(httpx.Response(200, json=completion(GOOD)))
    client, _ = fake(handler)
    client.complete(snippet_messages(), Snippet, purpose="listed")
    listing = runner.invoke(app, ["log", "-n", "5"])
    assert "listed" in listing.output and " 100 " in listing.output
    shown = json.loads(runner.invoke(app, ["log", "--show", "1"]).output)
    assert shown["request"]["model"] == "m" and "authorization" not in json.dumps(shown).lower()


def test_partial_json_keeps_only_what_was_complete() -> None:
    cut = '{"a": {"x": 1, "y": "done"}, "b": {"items": [{"q": 1}, {"q": 2, "r": "hal'
    assert parse_partial_json(cut) == {
        "a": {"x": 1, "y": "done"},
        "b": {"items": [{"q": 1}, {"q": 2}]},
    }
    assert parse_partial_json('{"a": "done", "b": "cu') == {"a": "done"}
    assert parse_partial_json('{"a": [1, 2], "b": {"c": ') == {"a": [1, 2], "b": {}}
    assert parse_partial_json("no json at all") == {}


def test_partial_json_says_which_member_the_cut_came_inside() -> None:
    # Raw newlines inside strings (the embedded server writes them) are read, not refused.
    data, open_keys = partial_members('{"a": "x\n y", "b": {"items": ["q", "r')
    assert data == {"a": "x\n y", "b": {"items": ["q"]}} and open_keys == {"b"}
    assert partial_members('{"a": {"items": ["q"]}, ') == ({"a": {"items": ["q"]}}, set())
    assert partial_members('{"a": {"items": ["q"]}, "b') == ({"a": {"items": ["q"]}}, set())
    assert partial_members('{"a": "done"') == ({"a": "done"}, set())
    assert partial_members('{"a": 0.8 ') == ({"a": 0.8}, set())
    # A number cut inside is dropped: `0.` may have been 0.8.
    assert partial_members('{"a": 0.') == ({}, set())
    # A reply that breaks JSON midway keeps what came before the break.
    broken = '{"a": {"items": ["x"]}, "b": {"items": ["C:\\path", "y'
    assert partial_members(broken) == ({"a": {"items": ["x"]}, "b": {"items": []}}, {"b"})
    # A key with escapes is read whole; a second object after a complete one is ignored.
    assert partial_members('{"a\\"b": {"items": ["x", "y')[1] == {'a"b'}
    assert partial_members('{"a": {"items": ["x"]}}\n{"a": {"items": ["x", "z') == (
        {"a": {"items": ["x"]}},
        set(),
    )


def test_truncated_error_carries_the_partial_answer() -> None:
    handler, _ = sequence(
        httpx.Response(200, json=completion('{"language": "python", "purpose": "Fet', "length"))
    )
    client, _ = fake(handler)
    with pytest.raises(ModelTruncatedError) as info:
        client.complete(snippet_messages(), Snippet, max_tokens=5)
    assert parse_partial_json(info.value.partial) == {"language": "python"}


def test_grammar_bounds_reach_llama_cpp_but_not_strict_mode() -> None:
    from agent.draft.answers import TextAnswer

    schemas = []
    for mode in (StructuredMode.JSON_OBJECT, StructuredMode.JSON_SCHEMA):
        handler, seen = sequence(
            httpx.Response(
                200,
                json=completion(
                    '{"evidence": "E1", "lines": "2", "value": "v", "status": "answered", '
                    '"confidence": 0.5}'
                ),
            )
        )
        client, _ = fake(handler, mode=mode)
        client.complete(snippet_messages(), TextAnswer)
        body = json.loads(seen[0].content)["response_format"]
        schemas.append(body.get("schema") or body["json_schema"]["schema"])
    grammar, strict = (json.dumps(s) for s in schemas)
    assert '"maxLength"' in grammar and '"pattern"' in grammar
    assert '"maxLength"' not in strict and '"pattern"' not in strict
