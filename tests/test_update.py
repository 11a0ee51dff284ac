"""`docagent draft --update`: only the calls whose evidence moved are asked again; every other byte,
and every reviewed value, stays. The model is a scripted server on 127.0.0.1 (logic, not wire)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.draft.run import DraftOptions, run_draft
from tests.conftest import recorded_client
from tests.scripted_model import fill, request_schema, scripted_server
from tests.shop_repo import build

TEMPLATE = """# Shop notes

## Storage

- **Database**: [PostgreSQL, MySQL, etc.]
- **File Storage**: [Where uploaded files are kept and why]

## Caching

- **Cache Policy**: [How long cached entries live and why]
- **Cache Owner**: [Which module owns the cache]
"""
runner = CliRunner()


def answer(body: dict[str, Any]) -> str:
    return json.dumps(fill(request_schema(body), "Entries expire after an hour."))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return build(tmp_path / "shop", config=False)


def _caching_prompts(seen: list[dict[str, Any]]) -> int:
    return sum("Cache Policy" in json.dumps(body) for body in seen)


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_update_asks_only_what_changed_and_keeps_every_other_byte(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    doc = tmp_path / "NOTES.md"
    base = ["draft", str(shop), "-t", str(template), "-o", str(doc), "--model", "scripted-model"]
    # --no-cache: the update must avoid the calls itself, not be saved by the response cache.
    args = [*base, "--no-cache"]
    with scripted_server(answer, max_requests=20) as (url, seen):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        first = runner.invoke(app, args)
        assert first.exit_code == 0, first.output
        drafted = [b for b in seen if b.get("max_tokens", 0) > 50]
        assert len(drafted) == 2 and _caching_prompts(drafted) == 1
        before = doc.read_text()

        # Unchanged repository: no call, no byte changed.
        asked = len(seen)
        same = runner.invoke(app, [*args, "--update"])
        assert same.exit_code == 0, same.output
        assert len(seen) == asked, same.output
        assert "0 of 2 calls re-drafted" in same.output
        assert doc.read_text() == before

        # A human pins the cache policy; then the internals doc (its evidence) changes.
        record = doc.with_name("NOTES.draft.json")
        pinned_record = next(
            f for f in json.loads(record.read_text())["fields"] if f["id"] == "caching.cache-policy"
        )
        pinned = before.replace("da:caching.cache-policy draft", "da:caching.cache-policy reviewed")
        assert pinned != before
        doc.write_text(pinned)
        internals = shop / "docs/internals.rst"
        internals.write_text(internals.read_text().replace("an hour", "a day"))
        plan = runner.invoke(app, [*args, "--update", "--dry-run"])
        assert plan.exit_code == 0, plan.output
        assert "re-draft Caching: " in plan.output and "re-draft Storage" not in plan.output
        assert len(seen) == asked  # a dry run asks nothing

        again = runner.invoke(app, [*args, "--update"])
        assert again.exit_code == 0, again.output
        redrafted = [b for b in seen[asked:] if b.get("max_tokens", 0) > 50]
        assert len(redrafted) == 1 and _caching_prompts(redrafted) == 1
    after = doc.read_text()
    storage = before.split("## Caching")[0]
    assert after.split("## Caching")[0] == storage  # the storage section kept every byte
    pinned_line = next(x for x in pinned.split("\n") if "da:caching.cache-policy" in x)
    assert pinned_line in after  # the reviewed value is kept, though its call ran again
    # ...and so is its record: the next `check` still compares it with the lines it was drafted from.
    kept = next(
        f for f in json.loads(record.read_text())["fields"] if f["id"] == "caching.cache-policy"
    )
    assert kept == pinned_record


def test_update_needs_an_earlier_draft(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["draft", str(shop), "-o", str(tmp_path / "NEW.md"), "--update"])
    assert result.exit_code == 2
    assert "has no earlier draft to update" in result.output
    result = runner.invoke(app, ["draft", str(shop), "--since", "HEAD", "--dry-run"])
    assert result.exit_code == 2 and "--since works with --update" in result.output
    assert os.path.exists(shop / "docs")


@pytest.mark.vcr
def test_update_against_the_embedded_model_redrafts_exactly_the_stale_call(
    model_base_url: str, shop: Path, tmp_path: Path
) -> None:
    template = tmp_path / "t.md"
    template.write_text(TEMPLATE)
    doc = tmp_path / "NOTES.md"
    options = DraftOptions(template=str(template), output=doc)
    with recorded_client(model_base_url) as client:
        first = run_draft(shop, options, client)
        assert client.usage.calls == 2
    before = doc.read_text()
    internals = shop / "docs/internals.rst"
    internals.write_text(internals.read_text().replace("an hour", "a day"))
    update = DraftOptions(template=str(template), output=doc, update=True)
    with recorded_client(model_base_url) as client:
        again = run_draft(shop, update, client)
        # One call asked again (Caching: its evidence changed), none served from elsewhere.
        assert client.usage.calls + client.usage.cache_hits == 1
    assert [first.plan[n].title for n, _ in again.updates] == ["Caching"]
    assert doc.read_text().split("## Caching")[0] == before.split("## Caching")[0]
