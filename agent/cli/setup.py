"""`docagent templates`, `models`, `log` and `mcp`: templates, endpoints, the call log, the MCP server."""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from agent.base.errors import UserInputError
from agent.cli.app import app, friendly, templates_app, utf8_path
from agent.cli.output import add_section, out
from agent.document.templates import load_template, shipped_templates
from agent.llm import costs, local_model
from agent.llm.calllog import CallLog, LogFilter, LoggedCall, parse_since


@templates_app.command("list")
@friendly
def templates_list() -> None:
    """List the templates that ship with docagent."""
    table = Table("name", "sections", "fields", "tables", "code", "groups")
    for name, path in shipped_templates().items():
        t = load_template(path)
        c = t.root.count()
        table.add_row(
            name,
            str(len(t.sections()) - 1),
            str(c["fields"]),
            str(c["tables"]),
            str(c["code"]),
            str(c["groups"]),
        )
    out.print(table)
    out.print(f"Shipped in {escape(str(next(iter(shipped_templates().values())).parent))}")


@templates_app.command("show")
@friendly
def templates_show(
    template: Annotated[
        str, typer.Argument(help="A shipped template name or a Markdown file path.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the parsed tree as JSON.")] = False,
) -> None:
    """Show what a template will ask: its sections, fields, tables, code blocks and groups."""
    t = load_template(template)
    counts = t.root.count()
    if as_json:
        data = {
            "name": t.name,
            "path": t.path,
            "counts": {"sections": len(t.sections()) - 1, **counts},
            "placeholders": t.placeholder_total(),
            "root": t.root.model_dump(mode="json"),
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    tree = Tree(f"[bold]{escape(t.name)}[/] ({escape(t.path)})")
    add_section(tree, t.root)
    out.print(tree)
    out.print(
        f"{len(t.sections()) - 1} sections, {counts['fields']} fields "
        f"({counts['tables']} tables, {counts['code']} code blocks), {counts['groups']} groups, "
        f"{t.placeholder_total()} placeholders"
    )


@app.command("models")
@friendly
def models_command(
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name, embedded model name or .gguf path.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show the configured endpoint and model, and the embedded models' install state."""
    from agent.llm.settings import resolve_settings

    settings = resolve_settings(base_url=base_url, model=model)
    state = local_model.status()
    if as_json:
        data = {
            "endpoint": settings.endpoint_id,
            "model": settings.model,
            "embedded": settings.embedded,
            "structured_output": settings.mode.value,
            "api_key_set": bool(settings.api_key),
            "embedded_models": state,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    out.print(f"[bold]In use:[/] {escape(settings.describe())}")
    out.print(f"API key: {'set' if settings.api_key else 'not set'}")
    out.print(f"llama-cpp-python server installed: {'yes' if state['server_installed'] else 'no'}")
    table = Table("embedded model", "packages installed", "assembled", "path / install")
    for name in local_model.EMBEDDED_MODELS:
        info = state[name]
        assert isinstance(info, dict)
        table.add_row(
            escape(f"{name}{' (default)' if name == local_model.DEFAULT_MODEL else ''}"),
            "yes" if info["packages_installed"] else "no",
            "yes" if info["assembled"] else "no",
            escape(str(info["path"] if info["packages_installed"] else info["install"])),
        )
    out.print(table)


@app.command("log")
@friendly
def log_command(
    limit: Annotated[
        int, typer.Option("-n", help="How many calls to list (totals count every match).")
    ] = 20,
    show: Annotated[int | None, typer.Option(help="Print one call's request and response.")] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only calls since a duration ago (90m, 2h, 7d) or a date (2025-01-31)."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only calls to this model.")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Only calls that failed.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print calls and totals as JSON.")
    ] = False,
) -> None:
    """List recent model calls with their tokens and cost, and totals (the log is also the cache)."""
    if limit < 1:
        raise UserInputError(f"-n {limit}: list at least one call.", hint="e.g. docagent log -n 50")
    where = LogFilter(since=parse_since(since) if since else None, model=model, errors=errors)
    log = CallLog()
    if show is not None:
        call = log.get(show)
        if call is None:
            raise UserInputError(f"No call with id {show}.", hint="See `docagent log` for ids.")
        sys.stdout.write(json.dumps(call, indent=2, ensure_ascii=False) + "\n")
        return
    calls = log.recent(limit, where)
    total = costs.spend(log.totals(where))
    price = functools.cache(costs.rate)  # one config read per endpoint and model

    def cost(c: LoggedCall) -> float | None:
        found = price(c.endpoint, c.model)
        return None if found is None else found.usd(c.prompt_tokens, c.completion_tokens)

    if as_json:
        data = {
            "calls": [c.to_json(cost(c)) for c in calls],
            "totals": {
                "calls": total.calls,
                "cache_hits": total.cache_hits,
                "errors": total.errors,
                "prompt_tokens": total.prompt_tokens,
                "completion_tokens": total.completion_tokens,
                "cost_usd": round(total.usd, 6),
                "unpriced": total.unpriced,
            },
        }
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table("id", "when", "model", "purpose", "in", "out", "ms", "cost", "cache", "error")
    for c in calls:
        usd = cost(c)
        table.add_row(
            str(c.id),
            _when(c.ts),
            escape(c.model),
            escape(c.purpose or ""),
            str(c.prompt_tokens),
            str(c.completion_tokens),
            f"{c.latency_ms:.0f}",
            "" if c.cache_hit else ("?" if usd is None else f"${usd:.4f}"),
            "hit" if c.cache_hit else "",
            escape((c.error or "")[:60]),
        )
    out.print(table)
    line = (
        f"Totals over {total.calls + total.cache_hits:,} matching calls ({total.cache_hits:,} from "
        f"cache, {total.errors:,} failed): {total.prompt_tokens:,} tokens in, "
        f"{total.completion_tokens:,} out, ${total.usd:.4f}"
    )
    if total.unpriced:
        line += (
            f" plus calls with no known price ({', '.join(total.unpriced)}: add them under "
            "[prices] in config.toml)"
        )
    out.print(escape(line))
    out.print(f"Log: {escape(str(log.path))}")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@app.command("mcp")
@friendly
def mcp_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
) -> None:
    """Serve why / evidence / search / decisions / check to coding agents over MCP (stdio)."""
    utf8_path("REPO", repo)
    if not repo.is_dir():
        raise UserInputError(f"REPO {repo}: not a directory")
    try:
        from agent.mcp_server import serve
    except ModuleNotFoundError as exc:
        raise UserInputError(
            f"docagent mcp needs the MCP SDK ({exc.name} is missing)",
            hint="pip install 'docagent[mcp]'",
        ) from None
    serve(repo.resolve())
