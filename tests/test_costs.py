"""Costs are honest (issue 14): the dry run says what the plan is for and what it will cost in money
or time, prices come from a table the user can extend, a local server is never priced as OpenAI,
runs and `docagent log` report the real tokens and cost, and the README's install commands work."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.base.errors import UserInputError
from agent.cli import app
from agent.llm import costs, local_model
from agent.llm.calllog import CallLog, parse_since
from tests.conftest import ROOT
from tests.scripted_model import fill, request_schema, scripted_server

runner = CliRunner()


def plan_totals(output: str) -> tuple[int, int]:
    m = re.search(r"~([\d,]+) prompt tokens, at most ([\d,]+) output tokens", output)
    assert m, output
    return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))


# --- the dry run ---------------------------------------------------------------------------------


def test_dry_run_names_the_model_and_endpoint_and_estimates_embedded_time(repo: Path) -> None:
    result = runner.invoke(app, ["draft", str(repo), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Plan for qwen2.5-coder-0.5b via the embedded llama.cpp server" in result.output
    assert "Cost: none (a server on this machine)." in result.output
    prompt, output = plan_totals(result.output)
    # README Performance: prompt ~115 tok/s, grammar-constrained generation ~20 tok/s on 2 cores.
    typical = (prompt / 115 + 0.5 * output / 20) / 60
    most = (prompt / 115 + output / 20) / 60
    assert f"Time (an estimate): ~{typical:.0f} min of model time, at most ~{most:.0f} min" in (
        result.output.replace("\n", " ")
    )
    bigger = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "qwen2.5-coder-1.5b"])
    assert "Plan for qwen2.5-coder-1.5b" in bigger.output and "prompt ~29 tok/s" in bigger.output
    gguf = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "/models/any.gguf"])
    assert gguf.exit_code == 0 and "no measured speed for this model" in gguf.output


def test_dry_run_plans_for_the_configured_endpoint(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded = runner.invoke(app, ["draft", str(repo), "--dry-run"])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    remote = runner.invoke(app, ["draft", str(repo), "--dry-run"])
    assert remote.exit_code == 0, remote.output
    text = remote.output.replace("\n", " ")
    assert "Plan for gpt-4o-mini via https://api.openai.com/v1" in text
    assert re.search(r"Cost: at most \$\d+\.\d{4} \(gpt-4o-mini at OpenAI's list price\)", text)
    assert "Time (an estimate)" not in text
    # The plan is the remote endpoint's (its larger evidence budget), not the embedded model's.
    assert plan_totals(remote.output)[0] > plan_totals(embedded.output)[0]


@pytest.mark.parametrize(
    "endpoint",
    [
        "embedded",
        "http://localhost:11434/v1",
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.2:8000/v1",
        "http://[::1]:8000/v1",
        "http://0.0.0.0:8000/v1",
        "http://ollama.localhost/v1",
    ],
)
def test_a_local_server_is_never_priced_as_openai(endpoint: str) -> None:
    found = costs.rate(endpoint, "gpt-4o")
    assert found is not None and found.source == "local"
    assert found.usd(1_000_000, 1_000_000) == 0.0


def test_openai_list_prices_apply_only_to_openai(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert costs.rate("https://api.openai.com/v1", "gpt-4o-mini") == costs.Rate(
        "gpt-4o-mini", costs.OPENAI_PRICES["gpt-4o-mini"], "openai"
    )
    assert costs.rate("https://name.openai.azure.com", "gpt-4o") is not None
    # Another provider serving a model of the same name is not priced at OpenAI's list price.
    assert costs.rate("https://llm.example.com/v1", "gpt-4o") is None
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    result = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "gpt-4o"])
    assert result.exit_code == 0, result.output
    assert "Plan for gpt-4o via http://localhost:11434/v1" in result.output
    assert "Cost: none (a server on this machine)." in result.output and "$" not in result.output
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com/v1")
    unknown = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "gpt-4o"])
    assert "Cost: unknown (no price for gpt-4o" in unknown.output and "$" not in unknown.output


def test_prices_come_from_a_table_the_user_extends(
    repo: Path, docagent_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = docagent_home / "config.toml"
    config.write_text(
        "[prices]\n"
        '"my-model" = { input = 1.0, output = 4.0 }\n'
        '"gpt-4o-mini" = { input = 0.5, output = 0.5 }\n'
    )
    mine = costs.rate("https://llm.example.com/v1", "my-model")
    assert mine is not None and mine.source == "config" and mine.usd(1_000_000, 1_000_000) == 5.0
    override = costs.rate("https://api.openai.com/v1", "gpt-4o-mini")
    assert override is not None and override.price == costs.Price(input=0.5, output=0.5)
    # A proxy on this machine that forwards to a paid API is priced when the user says so.
    assert costs.rate("http://127.0.0.1:4000/v1", "my-model") == mine
    monkeypatch.setenv("OPENAI_BASE_URL", "https://llm.example.com/v1")
    planned = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "my-model"])
    assert "my-model at the price in" in planned.output.replace("\n", "")
    for bad, problem in [
        ('"my-model" = { input = -1.0, output = 4.0 }', "cannot be negative"),
        ('"my-model" = { input = 1.0 }', "output: Field required"),
        ('"my-model" = { input = 1.0, output = 4.0, currency = "EUR" }', "currency"),
        ('"my-model" = "cheap"', "my-model"),
    ]:
        config.write_text(f"[prices]\n{bad}\n")
        result = runner.invoke(app, ["draft", str(repo), "--dry-run", "--model", "my-model"])
        assert result.exit_code == 2, result.output
        assert "config.toml: [prices] entry 'my-model'" in result.output and problem in (
            result.output
        )
        assert "Traceback" not in result.output
    config.write_text("prices = 3\n")
    with pytest.raises(UserInputError, match=r"\[prices\] must be a table"):
        costs.rate("https://llm.example.com/v1", "my-model")


# --- after a run ---------------------------------------------------------------------------------

TEMPLATE = """# Notes

## Storage

- **Database**: [Which database stores the data]
- **Importer Schedule**: [How often supplier feeds are imported]
"""


def answer(body: dict[str, Any]) -> str:
    return json.dumps(fill(request_schema(body), "SQLite stores the inventory."))


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_the_summary_and_log_report_real_tokens_and_cost(
    repo: Path, tmp_path: Path, docagent_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (docagent_home / "config.toml").write_text(
        '[prices]\n"scripted-model" = { input = 2.0, output = 10.0 }\n'
    )
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    out = tmp_path / "NOTES.md"
    args = ["draft", str(repo), "-t", str(template), "-o", str(out), "--model", "scripted-model"]
    with scripted_server(answer, max_requests=10, usage=(1000, 200)) as (url, seen):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        calls = len(seen)
        assert calls >= 1
        summary = json.loads(out.with_suffix(".draft.json").read_text())["summary"]
        again = runner.invoke(app, args)  # unchanged: answered from the cache, nothing paid
        assert len(seen) == calls
    # The tokens the server reported, at the configured price: 1000 in and 200 out per call.
    usd = calls * (1000 * 2.0 + 200 * 10.0) / 1_000_000
    assert summary["prompt_tokens"] == calls * 1000 and summary["completion_tokens"] == calls * 200
    assert summary["cost_usd"] == pytest.approx(usd)
    text = first.output.replace("\n", " ")
    assert f"{calls * 1000:,} tokens in, {calls * 200:,} out" in text
    assert f"cost: ${usd:.4f} (scripted-model at the price in" in text
    assert "0 model calls" in again.output and "cost: $0.0000" in again.output

    logged = json.loads(runner.invoke(app, ["log", "--json"]).output)
    totals = logged["totals"]
    # Every request was paid once (the endpoint check included); the re-run took each draft call
    # from the cache (the check is not made when the cache answers everything).
    drafted = [c for c in logged["calls"] if not c["cache_hit"] and c["purpose"] != "preflight"]
    assert (totals["calls"], totals["cache_hits"], totals["errors"]) == (calls, len(drafted), 0)
    assert totals["prompt_tokens"] == calls * 1000 and totals["cost_usd"] == pytest.approx(usd)
    paid = [c for c in logged["calls"] if not c["cache_hit"]]
    assert all(c["cost_usd"] == pytest.approx(0.004) for c in paid)
    assert all(c["endpoint"] == url and c["model"] == "scripted-model" for c in logged["calls"])
    table = runner.invoke(app, ["log"]).output
    assert f"${usd:.4f}" in table
    assert f"Totals over {len(logged['calls'])} matching calls" in table


def test_log_filters_and_totals(docagent_home: Path) -> None:
    log = CallLog()

    def call(endpoint: str, model: str, **kw: Any) -> None:
        usage = {"prompt_tokens": 1_000_000, "completion_tokens": 100_000}
        log.record(
            endpoint=endpoint, model=model, key="k", request={}, response="{}", **usage, **kw
        )

    call("https://api.openai.com/v1", "gpt-4o-mini", purpose="draft: one")
    call("embedded", "qwen2.5-coder-0.5b", purpose="draft: two")
    call("https://llm.example.com/v1", "mystery", purpose="draft: three")
    log.record(
        endpoint="https://api.openai.com/v1",
        model="gpt-4o-mini",
        key="k2",
        request={},
        response=None,
        error="ModelUnavailableError: HTTP 503",
    )
    data = json.loads(runner.invoke(app, ["log", "--json"]).output)
    totals = data["totals"]
    assert totals["calls"] == 4 and totals["errors"] == 1
    assert totals["prompt_tokens"] == 3_000_000
    # Only the OpenAI call is priced: the embedded model is free, "mystery" has no known price.
    assert totals["cost_usd"] == pytest.approx(0.15 + 0.06)
    assert totals["unpriced"] == ["mystery at https://llm.example.com/v1"]
    costs_by_model = {c["model"]: c["cost_usd"] for c in data["calls"] if not c["error"]}
    assert costs_by_model == {
        "gpt-4o-mini": pytest.approx(0.21),
        "qwen2.5-coder-0.5b": 0.0,
        "mystery": None,
    }
    errors = json.loads(runner.invoke(app, ["log", "--json", "--errors"]).output)
    assert [c["error"] for c in errors["calls"]] == ["ModelUnavailableError: HTTP 503"]
    only = json.loads(runner.invoke(app, ["log", "--json", "--model", "gpt-4o-mini"]).output)
    assert {c["model"] for c in only["calls"]} == {"gpt-4o-mini"} and only["totals"]["calls"] == 2
    recent = json.loads(runner.invoke(app, ["log", "--json", "--since", "1h", "-n", "1"]).output)
    assert len(recent["calls"]) == 1 and recent["totals"]["calls"] == 4  # totals count every match
    future = json.loads(runner.invoke(app, ["log", "--json", "--since", "2999-01-01"]).output)
    assert future["calls"] == [] and future["totals"]["calls"] == 0
    table = runner.invoke(app, ["log"]).output
    assert "Totals over 4 matching calls (0 from cache, 1 failed)" in table
    assert "$0.2100" in table and "mystery at https://llm.example.com/v1" in table
    for bad, message in [
        (["--since", "yesterday"], "--since 'yesterday': expected a duration"),
        (["-n", "0"], "-n 0: list at least one call."),
    ]:
        result = runner.invoke(app, ["log", *bad])
        assert result.exit_code == 2 and message in result.output
        assert "Traceback" not in result.output


def test_since_takes_durations_and_dates() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("90m", now=10_000.0) == 10_000.0 - 5400
    assert parse_since("7d", now=1_000_000.0) == 1_000_000.0 - 7 * 86400
    assert parse_since("2025-01-31T00:00:00+00:00") == 1738281600.0


# --- version and startup -------------------------------------------------------------------------


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"docagent {importlib.metadata.version('docagent')}\n"


def test_help_does_not_import_the_openai_client() -> None:
    script = (
        "import sys\n"
        "from agent.cli import app\n"
        "for args in (['--help'], ['draft', '--help'], ['why', '--help'], ['--version']):\n"
        "    try:\n"
        "        app(args, prog_name='docagent')\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        "print(sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split("\n")[-1] == "[]"


# --- installing ----------------------------------------------------------------------------------


def _extras() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = data["project"]["optional-dependencies"]
    return extras


def readme_extras() -> set[str]:
    """Every extra a `pip install` command in the README names (`.[local]`, `docagent[x,y]`)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named: set[str] = set()
    for command in re.findall(r"pip install[^\n`)]*", readme):
        for group in re.findall(r"\[([^\]]+)\]", command):
            named.update(e.strip() for e in group.split(","))
    return named


def test_every_extra_the_readme_installs_exists_and_is_normalised() -> None:
    extras = _extras()
    for name in extras:
        # PEP 685: pip 23.2 (Python 3.11's venv) compares an extra as written, newer pips
        # normalise it; a name already in normal form works with both.
        assert name == re.sub(r"[-_.]+", "-", name).lower(), name
    named = readme_extras()
    assert {"local", "local-1-5b", "dev"} <= named
    assert named <= set(extras), named - set(extras)
    for spec in local_model.EMBEDDED_MODELS.values():
        assert spec.extra in extras
        assert set(spec.packages) <= {re.split(r"[\[<>=]", r)[0] for r in extras[spec.extra]}, (
            spec.name
        )


def test_the_readme_states_the_embedded_weights_provenance() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.split("\n") if line.startswith("| `")]
    for spec in local_model.EMBEDDED_MODELS.values():
        row = next((r for r in rows if f"`{spec.extra}`" in r.split("|")[1]), "")
        assert spec.sha256 in row, spec.name
        assert f"`{spec.packages[0]}`" in row and spec.packages[-1].rsplit("-", 1)[1] in row
        assert spec.description.split(" (")[0] in row and "Apache-2.0" in row
