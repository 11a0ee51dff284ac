"""`docagent mcp` over stdio, driven by the MCP SDK's own client: the tools and resources answer
from the repository (a why-question a recorded decision answers needs no model), and a user's
mistake comes back as a tool error, not a crash."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from agent.draft.run import DraftOptions, run_draft
from tests.conftest import recorded_client
from tests.shop_repo import build, write_template


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = build(tmp_path / "shop")
    template = write_template(tmp_path)
    run_draft(root, DraftOptions(template=str(template), output=root / "docs/ARCH.md"), None)
    return root


def _text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def _session(repo: Path, home: Path) -> dict[str, Any]:

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agent", "mcp", str(repo)],
        # No endpoint and no embedded model are configured: a question that needed one would fail.
        env={"DOCAGENT_HOME": str(home), "PATH": "/usr/bin:/bin", "OPENAI_BASE_URL": ""},
    )
    out: dict[str, Any] = {}
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        out["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
        call = session.call_tool
        out["why"] = json.loads(_text(await call("why", {"question": "Why not SQLite?"})))
        out["search"] = json.loads(
            _text(await call("search", {"query": "orders database", "k": 3}))
        )
        out["decisions"] = json.loads(_text(await call("decisions", {"about": "queue"})))
        out["check"] = json.loads(_text(await call("check", {"document": "docs/ARCH.md"})))
        bad = await call("why", {"question": "Why?", "at": "nowhere.py:1"})
        out["bad"] = (bad.is_error, _text(bad))
        outside = await call("check", {"document": "../../etc/passwd"})
        out["outside"] = (outside.is_error, _text(outside))
        resource = await session.read_resource("docagent://decisions")
        out["resource"] = json.loads(resource.contents[0].text)  # type: ignore[union-attr]
        mapped = await session.read_resource("docagent://map")
        out["map"] = json.loads(mapped.contents[0].text)  # type: ignore[union-attr]
    return out


def test_tools_and_resources_over_stdio(shop: Path, tmp_path: Path) -> None:
    got = anyio.run(_session, shop, tmp_path / "home")
    assert got["tools"] == ["check", "decisions", "evidence", "search", "why"]
    why = got["why"]
    assert why["basis"] == "documented" and why["from_record"]
    assert why["answer"] == "We rejected SQLite because concurrent writers would block each other."
    assert why["citations"][0]["path"] == "docs/adr/0001-use-postgresql.md"
    assert len(got["search"]) == 3 and all("cited" in h for h in got["search"])
    assert [d["title"] for d in got["decisions"]] == ["Choose a queue for e-mail"]
    assert got["check"]["counts"]["stale"] == 0 and got["check"]["counts"]["fresh"] >= 4
    assert got["bad"][0] and "nowhere.py" in got["bad"][1]
    assert got["outside"][0] and "not a path inside" in got["outside"][1]
    assert {d["kind"] for d in got["resource"]} >= {"adr", "design"}
    # The repository model as `docagent map --json` gives it.
    assert any(c["path"].startswith("src/shop") for c in got["map"]["components"])
    assert {"components", "interfaces", "tables", "integrations", "stack"} <= set(got["map"])


@pytest.mark.vcr
def test_why_over_mcp_asks_the_model_when_no_record_answers(
    model_base_url: str, repo: Path
) -> None:
    from mcp import Client

    from agent.mcp_server import Session, build_server

    question = "Why does the alert worker poll every five minutes?"

    async def ask() -> dict[str, Any]:
        async with Client(build_server(Session(repo, client))) as mcp_client:
            result = await mcp_client.call_tool("why", {"question": question})
            return dict(json.loads(_text(result)))

    with recorded_client(model_base_url) as client:
        got = anyio.run(ask)
        assert client.usage.calls + client.usage.cache_hits == 1  # the model was asked once
    assert not got["from_record"] and got["question"] == question
    # The replayed answer is fixed: nothing records why the worker polls every five minutes.
    assert got["basis"] == "not_recorded" and got["evidence"]
