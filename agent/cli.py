"""The `docagent` command line: parse options, call a function, print. No logic lives here.

Modules that load the openai client, the index or the drafting engine are imported inside the
commands that use them, so `docagent --help` and `--version` start fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from agent import __version__
from agent.base.errors import AllCallsFailedError, DocAgentError, UserInputError
from agent.cli_output import (
    add_section,
    err,
    out,
    print_human_text_notes,
    print_plan,
    print_updates,
    progress,
)
from agent.document.templates import load_template, shipped_templates
from agent.ingest.repo import DEFAULT_MAX_FILE_SIZE
from agent.ingest.retrieval import Intent
from agent.llm import costs, local_model
from agent.llm.calllog import CallLog, LogFilter, LoggedCall, parse_since

app = typer.Typer(
    name="docagent",
    help="Draft architecture documentation from a repository, citing evidence for every statement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
templates_app = typer.Typer(help="List and inspect Markdown templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"docagent {__version__}\n")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options that come before any command (the help text is the app's, above)."""


F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn docagent's own errors into one line, the problem and what to do, and an exit code (no
    traceback); Ctrl-C exits 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DocAgentError as exc:
            line = " ".join(f"{exc.message} {exc.hint or ''}".split())
            err.print(f"[bold red]Error:[/] {escape(line)}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted: nothing more was sent, and no output was written.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _at_least(option: str, value: int | None, minimum: int) -> None:
    """A count or size option below its minimum is an error naming it."""
    if value is not None and value < minimum:
        raise UserInputError(
            f"{option} {value}: must be at least {minimum}.",
            hint=f"Give {option} a whole number of {minimum} or more.",
        )


def _utf8_path(option: str, path: Path | None) -> None:
    """Paths end up in prompts, the call log and UTF-8 outputs: a path that is not UTF-8 is an error."""
    if path is None:
        return
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UserInputError(
            f"{option} {str(path)!r}: the path is not valid UTF-8.",
            hint="Rename it, or pass a path in UTF-8.",
        ) from None


def _timeout_option() -> Any:
    return typer.Option(
        help="Seconds to wait for one model reply (default: 120 remote, 600 embedded; "
        "DOCAGENT_TIMEOUT).",
    )


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


@app.command("index")
@friendly
def index_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    max_file_size: Annotated[
        int, typer.Option(help="Skip files larger than this many bytes.")
    ] = DEFAULT_MAX_FILE_SIZE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    show_redactions: Annotated[
        bool,
        typer.Option(
            "--show-redactions",
            help="List each secret redacted: its kind and path:line (never the value).",
        ),
    ] = False,
) -> None:
    """Index a repository (cached) and show what docagent will read: files, chunks, facts."""
    from agent.ingest.index import build_index
    from agent.ingest.repomodel import repomap

    _utf8_path("REPO", repo)
    _at_least("--max-file-size", max_file_size, 1)
    idx = build_index(repo, max_file_size=max_file_size)
    s = idx.stats
    redacted = [{"path": where, "line": r.line, "kind": r.kind} for where, r in idx.redactions()]
    if as_json:
        data = {
            "root": str(idx.root),
            "files_by_kind": dict(s.files_by_kind),
            "lines_by_language": dict(s.lines_by_language),
            "files_by_language": dict(s.files_by_language),
            "skipped": dict(s.skipped),
            "chunks": s.chunks,
            "tokens": s.tokens,
            "facts": s.facts,
            "commits": s.commits,
            "decisions": dict(s.decisions),
            "model": repomap.counts(idx.model),
            "redactions": s.redactions,
            "files_read": s.read_files,
            "files_reused": s.reused_files,
            "seconds": round(s.seconds, 3),
            "cache": s.cache_dir,
        }
        if show_redactions:
            data["redacted"] = redacted
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    files = Table("kind", "files", title=f"Files in {escape(str(idx.root))}")
    for kind, n in s.files_by_kind.most_common():
        files.add_row(kind, str(n))
    out.print(files)
    langs = Table("language", "files", "lines")
    for lang, lines in s.lines_by_language.most_common():
        langs.add_row(lang, str(s.files_by_language[lang]), f"{lines:,}")
    out.print(langs)
    if s.skipped:
        skipped = Table("skipped because", "files", "for example")
        for reason, n in s.skipped.most_common():
            skipped.add_row(
                escape(reason), str(n), escape(", ".join(s.skipped_examples.get(reason, [])[:3]))
            )
        out.print(skipped)
    out.print(
        f"{s.chunks:,} chunks, {s.tokens:,} tokens, {s.facts} facts, {s.commits} commits, "
        f"{s.redactions} secrets redacted; read {s.read_files} files, reused {s.reused_files} "
        f"from cache; {s.seconds:.2f}s"
    )
    recorded = ", ".join(f"{n} {kind}" for kind, n in s.decisions.most_common()) or "none"
    out.print(f"Recorded decisions (docagent decisions): {recorded}")
    shape = repomap.counts(idx.model)
    parsed = ", ".join(f"{n} {lang}" for lang, n in shape["parsed_files"].items()) or "none"
    ways = ", ".join(f"{n} {k}" for k, n in shape["interfaces"].items()) or "no interfaces"
    if shape["by_language"]:
        langs = Table("language", "files", "definitions", "interfaces", "tables")
        for lang, c in shape["by_language"].items():
            found = ", ".join(f"{n} {k}" for k, n in c.items() if k not in ("symbols", "tables"))
            langs.add_row(
                lang,
                str(shape["parsed_files"].get(lang, 0)),
                f"{c.get('symbols', 0):,}",
                found or "—",
                str(c.get("tables", 0)),
            )
        out.print(langs)
    out.print(
        f"Repository model (docagent map): {shape['symbols']:,} definitions in files parsed "
        f"({parsed}); {ways}; {shape['tables']} tables; {shape['seconds']:.2f}s"
    )
    if show_redactions and redacted:
        listing = Table("redacted at", "kind", title="Secrets redacted (values never shown)")
        for r in redacted:
            listing.add_row(escape(f"{r['path']}:{r['line']}"), str(r["kind"]))
        out.print(listing)
    elif show_redactions:
        out.print("No secrets redacted.")


@app.command("map")
@friendly
def map_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole model as JSON.")] = False,
    mermaid: Annotated[
        Path | None,
        typer.Option(
            help="Write the component graph (components.mmd) and the ER diagram (er.mmd) "
            "to this directory."
        ),
    ] = None,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief",
            help="Print the repository brief that draft and why prompts to a remote model "
            "carry (a small local model gets none: it answered less with it).",
        ),
    ] = False,
) -> None:
    """Show the repository model: components and their edges, entry points, interfaces, data
    model, integrations, and what the structure implies about the stack (no model needed)."""
    from agent.draft.brief import build_brief
    from agent.draft.outputs import write_atomic
    from agent.ingest.index import build_index
    from agent.ingest.repomodel import mermaid as diagrams
    from agent.ingest.repomodel import repomap
    from agent.llm.profile import REMOTE_BRIEF_TOKENS

    _utf8_path("REPO", repo)
    if brief and (as_json or mermaid is not None):
        raise UserInputError(
            "--brief prints only the brief: it cannot be combined with --json or --mermaid.",
            hint="Run `docagent map` once with --brief and once with the other options.",
        )
    index = build_index(repo)
    if brief:
        sys.stdout.write(build_brief(index, REMOTE_BRIEF_TOKENS) + "\n")
        return
    model = index.model
    if mermaid is not None:
        if mermaid.exists() and not mermaid.is_dir():
            raise UserInputError(
                f"--mermaid {mermaid}: not a directory", hint="Give a directory to write into."
            )
        written = {mermaid / "components.mmd": diagrams.component_graph(model.components)}
        if model.tables:
            written[mermaid / "er.mmd"] = diagrams.er_diagram(model.tables)
        write_atomic(written)
    if as_json:
        sys.stdout.write(json.dumps(repomap.to_json(model), indent=2) + "\n")
        return
    repomap.show(model, out)
    if mermaid is not None:
        names = "components.mmd" + (" and er.mmd" if model.tables else "")
        out.print(f"Wrote {names} to {escape(str(mermaid))}")


@app.command("check")
@friendly
def check_command(
    document: Annotated[Path, typer.Argument(help="A document docagent drafted.")],
    repo: Annotated[
        Path | None,
        typer.Option(help="The repository it describes (default: the one it was drafted from)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every field as JSON.")] = False,
    github: Annotated[
        bool, typer.Option("--github", help="Print GitHub Actions annotations (::warning ...).")
    ] = False,
    fix_moved: Annotated[
        bool, typer.Option("--fix-moved", help="Rewrite moved citations to their new lines.")
    ] = False,
) -> None:
    """Check a drafted document against today's tree, without a model: which values' evidence
    is fresh, moved or stale. Exit 1 when something is stale."""
    from agent.draft.check import check_document, github_annotations
    from agent.draft.report import link_base
    from agent.relink import fix_moved as rewrite_moved

    _utf8_path("DOCUMENT", document)
    report = check_document(document, repo)
    if fix_moved:
        n = rewrite_moved(report, link_base(document, report.repo))
        if n:
            report = check_document(document, repo)
        if not (as_json or github):
            out.print(f"{n} moved citations rewritten.")
    if as_json:
        data = {
            "document": str(document),
            "repository": str(report.repo),
            "counts": report.counts(),
            "fields": [f.to_json() for f in report.fields],
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif github:
        for line in github_annotations(report):
            sys.stdout.write(line + "\n")
    else:
        for f in report.fields:
            if f.state == "fresh":
                continue
            who = "" if f.owner == "docagent" else f"  [bold]({f.owner})[/]"
            out.print(f"[bold]{f.state}[/] {escape(f.label)}  [dim]line {f.line}[/]{who}")
            for name in f.missing:
                out.print(f"    `{escape(name)}` is no longer in the repository")
            said: set[str] = set()
            for c in f.citations:
                if c.state == "stale" and c.why in said:
                    continue
                said.add(c.why)
                if c.state == "moved" and c.moved_to:
                    out.print(
                        f"    {escape(c.citation.label)} -> lines {c.moved_to[0]}-{c.moved_to[1]}"
                    )
                elif c.state == "stale":
                    out.print(f"    {escape(c.why)}")
                    for line in c.diff.split("\n")[2:12] if c.diff else []:
                        out.print(f"      {escape(line)}", markup=True)
        counts = ", ".join(f"{n} {state}" for state, n in report.counts().items())
        out.print(f"{len(report.fields)} drafted fields: {counts}")
    if report.stale:
        raise typer.Exit(1)


@app.command("mcp")
@friendly
def mcp_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
) -> None:
    """Serve why / evidence / search / decisions / check to coding agents over MCP (stdio)."""
    _utf8_path("REPO", repo)
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


@app.command("decisions")
@friendly
def decisions_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Only these sources: adr, design, commit, comment (repeatable)."),
    ] = None,
    about: Annotated[
        str | None, typer.Option(help="Only decisions whose subject or reasons mention this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print every field as JSON.")] = False,
) -> None:
    """List the decisions the repository records: subject, reason and where it is written."""
    from dataclasses import asdict

    from agent.ingest.index import build_index

    _utf8_path("REPO", repo)
    _at_least("--limit", limit, 1)
    kinds = {k.strip().lower() for k in kind or []}
    unknown = kinds - {"adr", "design", "commit", "comment"}
    if unknown:
        raise UserInputError(
            f"--kind {', '.join(sorted(unknown))}: unknown source",
            hint="Use adr, design, commit or comment.",
        )
    idx = build_index(repo)
    found = [d for d in idx.decisions if not kinds or d.kind in kinds]
    if about:
        needle = about.lower()
        found = [d for d in found if needle in d.text.lower()]
    if as_json:
        sys.stdout.write(json.dumps([asdict(d) for d in found[:limit]], indent=2) + "\n")
        return
    if not found:
        out.print("No recorded decisions match.")
        return
    for d in found[:limit]:
        status = f"  [dim]{escape(d.status)}[/]" if d.status else ""
        out.print(f"[bold]{escape(d.title)}[/]  [dim]{d.kind}  {escape(d.label)}[/]{status}")
        for r in d.reasons[:2]:
            where = f"{d.path}:{r.start}-{r.end}" if r.start else d.path
            out.print(f"    {escape(r.text[:300])}  [dim]({escape(where)})[/]")
    counts = ", ".join(f"{n} {k}" for k, n in sorted(idx.stats.decisions.items()))
    more = f"; showing {limit}" if len(found) > limit else ""
    out.print(f"{len(found)} decisions ({counts}){more}")


@app.command("search")
@friendly
def search_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")],
    query: Annotated[str, typer.Argument(help="What to look for, in words.")],
    k: Annotated[int, typer.Option("-k", help="How many results.")] = 8,
    intent: Annotated[
        Intent | None, typer.Option(help="Rank for a kind of question (default: detected).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Show the ranked evidence docagent would use for a question."""
    from agent.ingest.index import build_index

    _utf8_path("REPO", repo)
    _at_least("-k", k, 1)
    idx = build_index(repo)
    hits = idx.search(query, k, intent=intent)
    if as_json:
        data = [
            {
                "rank": h.rank + 1,
                "score": round(h.score, 4),
                "citation": h.chunk.citation,
                "path": h.chunk.path,
                "start_line": h.chunk.start_line,
                "end_line": h.chunk.end_line,
                "kind": h.chunk.kind,
                "adr": h.chunk.is_adr,
                "header_path": h.chunk.header_path,
                "tokens": h.chunk.tokens,
                "text": h.chunk.text,
            }
            for h in hits
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not hits:
        out.print("No evidence matches that query.")
        return
    for h in hits:
        kind = "adr" if h.chunk.is_adr else h.chunk.kind
        out.print(
            f"[bold]{h.rank + 1}. {escape(h.chunk.citation)}[/]  [dim]{kind}  score {h.score:.2f}[/]"
        )
        preview = h.chunk.text.strip().split("\n")[:4]
        for line in preview:
            out.print(f"    {escape(line[:150])}", markup=True)


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
            "calls": [
                {
                    "id": c.id,
                    "time": _when(c.ts, iso=True),
                    "endpoint": c.endpoint,
                    "model": c.model,
                    "purpose": c.purpose,
                    "prompt_tokens": c.prompt_tokens,
                    "completion_tokens": c.completion_tokens,
                    "latency_ms": round(c.latency_ms, 1),
                    "cache_hit": c.cache_hit,
                    "finish_reason": c.finish_reason,
                    "error": c.error,
                    "cost_usd": cost(c),
                }
                for c in calls
            ],
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


def _when(ts: float, *, iso: bool = False) -> str:
    stamp = time.localtime(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S%z" if iso else "%Y-%m-%d %H:%M:%S", stamp)


@app.command("draft")
@friendly
def draft_command(
    repo: Annotated[Path, typer.Argument(help="Repository directory.")] = Path("."),
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Shipped template name or a Markdown template path (default: "
            "architecture-overview; with --update, the one the last draft used).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the draft (default: TEMPLATE.md)."),
    ] = None,
    sections: Annotated[
        list[str] | None,
        typer.Option(
            "--sections", "-s", help="Only these sections (id prefix or title words); repeatable."
        ),
    ] = None,
    topic: Annotated[
        str, typer.Option(help="Focus, e.g. 'authentication' for a component document.")
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the planned calls and tokens; call no model.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Replace an output file docagent did not write.")
    ] = False,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (or embedded model name / .gguf path).")
    ] = None,
    structured_output: Annotated[
        str | None, typer.Option(help="auto, json_schema, json_object or prompt.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not answer from the response cache.")
    ] = False,
    token_budget: Annotated[
        int | None, typer.Option(help="Stop cleanly after this many tokens.")
    ] = None,
    evidence_tokens: Annotated[int | None, typer.Option(help="Evidence tokens per call.")] = None,
    timeout: Annotated[float | None, _timeout_option()] = None,
    style: Annotated[
        str | None,
        typer.Option(
            help="write: the model writes each value; extract: it points at the lines that answer "
            "and the value is those lines (default for the embedded 0.5B model)."
        ),
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Re-draft only the calls whose evidence changed or whose fields are stale or "
            "never drafted; keep everything else byte for byte.",
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            help="With --update: also re-draft calls whose evidence changed since COMMIT."
        ),
    ] = None,
) -> None:
    """Draft an architecture document for a repository: cited, with confidence and review flags."""
    from agent.draft.run import DraftOptions, run_draft
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings

    _utf8_path("REPO", repo)
    _utf8_path("-o", output)
    if template is None:
        template = _recorded_template(output) if update else None
        template = template or "architecture-overview"
    _utf8_path("-t", Path(template))
    _at_least("--evidence-tokens", evidence_tokens, 1)
    # Every setting is checked before anything runs, the dry run's too.
    settings = resolve_settings(
        base_url=base_url,
        model=model,
        mode=structured_output,
        no_cache=no_cache,
        token_budget=token_budget,
        timeout=timeout,
    )
    options = DraftOptions(
        template=template,
        output=output,
        sections=sections or None,
        topic=topic,
        dry_run=dry_run,
        force=force,
        evidence_tokens=evidence_tokens,
        style=style,
        update=update,
        since=since,
    )
    if since and not update:
        raise UserInputError("--since works with --update", hint="Add --update.")
    if dry_run:
        # The plan is built for this endpoint (its evidence budget and style); no call is made.
        with ModelClient(settings) as planner:
            outcome = run_draft(repo, options, planner)
        if update:
            print_updates(outcome.updates, [p.title for p in outcome.plan])
            print_plan([outcome.plan[n] for n, _ in outcome.updates], settings)
        else:
            print_plan(outcome.plan, settings)
        out.print(f"{len(outcome.results)} fields come from facts and need no model.")
        return
    err.print(f"Model: {escape(settings.describe())}")
    with ModelClient(settings) as client, progress(client) as report:
        outcome = run_draft(repo, options, client, progress=report)
        rate = client.rate()
    s = outcome.summary
    if update:
        print_updates(outcome.updates, [p.title for p in outcome.plan])
    spent = costs.describe_cost(rate, settings.model, s["prompt_tokens"], s["completion_tokens"])
    # Each field is counted once: answered (flagged ones among them), not found, not drafted, kept.
    out.print(
        f"[bold]Wrote[/] {escape(', '.join(str(p) for p in outcome.written))}\n"
        f"{s['answered']} fields answered ({s['from_facts']} from facts), of which {s['flagged']} "
        f"flagged for review; {s['not_found']} not found, {s['errors']} not drafted, "
        f"{s['kept_human']} kept from human edits.\n"
        f"{s['model_calls']} model calls ({s['cache_hits']} answered from cache), "
        f"{s['prompt_tokens']:,} tokens in, {s['completion_tokens']:,} out, {s['seconds']:.0f}s; "
        f"cost: {escape(spent)}."
    )
    print_human_text_notes(s, outcome.written[1] if len(outcome.written) > 1 else None)


def _recorded_template(output: Path | None) -> str | None:
    """The template the last draft of this output used, as it was given."""
    if output is None:
        return None
    record = output.with_name(f"{output.stem}.draft.json")
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    given = data.get("template_source") if isinstance(data, dict) else None
    return given if isinstance(given, str) and given else None


@app.command("why")
@friendly
def why_command(
    question: Annotated[
        str | None, typer.Argument(help="The question, e.g. 'Why does the importer retry?'")
    ] = None,
    repo: Annotated[Path, typer.Option("--repo", help="Repository directory.")] = Path("."),
    at: Annotated[
        str | None, typer.Option(help="FILE:LINE or FILE:START-END the question is about.")
    ] = None,
    evidence_only: Annotated[
        bool, typer.Option("--evidence-only", help="Show the ranked evidence; call no model.")
    ] = False,
    questions: Annotated[
        Path | None,
        typer.Option(help="Answer every question in this file (one per line or a Markdown list)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL.")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name (or embedded model name / .gguf path).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not answer from the response cache.")
    ] = False,
    timeout: Annotated[float | None, _timeout_option()] = None,
) -> None:
    """Answer "why" questions from the repository's ADRs, docs, code and commit history."""
    from agent import why
    from agent.ingest.index import build_index
    from agent.llm.client import ModelClient
    from agent.llm.settings import resolve_settings

    _utf8_path("--repo", repo)
    _utf8_path("--questions", questions)
    settings = resolve_settings(base_url=base_url, model=model, no_cache=no_cache, timeout=timeout)
    asked = why.read_questions(questions) if questions else ([question] if question else [])
    if not asked:
        raise UserInputError(
            "Ask a question, or pass --questions FILE.", hint='docagent why "Why does X retry?"'
        )
    location = why.Location.parse(at) if at else None
    idx = build_index(repo)
    if evidence_only:
        found = {q: why.gather(idx, q, location) for q in asked}
        if as_json:
            data = [
                {
                    "question": q,
                    "evidence": [
                        {
                            "id": e.id,
                            "path": e.path,
                            "start_line": e.start_line,
                            "end_line": e.end_line,
                            "kind": e.kind,
                            "text": e.text,
                        }
                        for e in ev
                    ],
                }
                for q, ev in found.items()
            ]
            sys.stdout.write(json.dumps(data, indent=2) + "\n")
            return
        for q, ev in found.items():
            out.print(f"[bold]{escape(q)}[/]")
            for e in ev:
                out.print(f"  {escape(e.header)}")
                out.print(f"    {escape(e.text.strip().split(chr(10))[0][:140])}")
        return
    with ModelClient(settings) as client:
        results = [why.answer(idx, q, client, location) for q in asked]
    if all(r.failed for r in results):
        raise AllCallsFailedError(
            f"Every model call failed ({len(results)} of {len(results)}): {results[0].reasons[0]}",
            hint="Check the endpoint and model (docagent models), then ask again.",
            calls=len(results),
            cause=results[0].reasons[0],
        )
    if as_json:
        sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2) + "\n")
        return
    sys.stdout.write(why.review_reply(results, _repo_link_base(idx.root)))


def _repo_link_base(root: Path) -> str:
    rel = os.path.relpath(root, Path.cwd())
    return "" if rel == "." else rel.replace(os.sep, "/") + "/"


def main() -> None:
    """Entry point for `python -m agent`."""
    app()
