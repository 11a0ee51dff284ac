"""What the command line prints: the consoles, the template tree, a draft's plan and progress, the
notes a run leaves about a human's text, the index figures and a check's findings. The commands in
agent.cli decide; this module shows (JSON comes from the result types' own to_json())."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.tree import Tree

from agent.document.templates import FieldKind, Group, Section
from agent.llm import costs

if TYPE_CHECKING:
    from agent.draft.check import CheckReport
    from agent.draft.run import DraftEvent, PlannedCall
    from agent.ingest.index import RepoIndex
    from agent.llm.client import ModelClient
    from agent.llm.settings import ModelSettings

# Piped output is not cut to 80 columns: ids and paths must survive `| grep`.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def add_section(node: Tree, section: Section) -> None:
    for f in section.fields:
        kind = "" if f.kind is FieldKind.TEXT else f" [{f.kind.value}]"
        node.add(f"[cyan]{escape(f.label)}[/]{escape(kind)} [dim]{f.id}[/]")
    for g in section.groups:
        add_group(node, g)
    for sub in section.sections:
        branch = node.add(f"[bold]{'#' * sub.level} {escape(sub.title)}[/]")
        add_section(branch, sub)


def add_group(node: Tree, group: Group) -> None:
    branch = node.add(
        f"[magenta]{escape(group.label)}[/] \\[group: 0..N items, template shows "
        f"{group.template_items}] "
        f"[dim]{group.id}[/]"
    )
    for f in group.fields:
        kind = "" if f.kind is FieldKind.TEXT else f" [{f.kind.value}]"
        branch.add(f"[cyan]{escape(f.label)}[/]{escape(kind)}")
    for g in group.groups:
        add_group(branch, g)
    for sub in group.sections:
        add_section(branch.add(f"[bold]{escape(sub.title)}[/]"), sub)


def print_updates(updates: list[tuple[int, str]], titles: list[str]) -> None:
    """What --update asks again, and why; the rest keeps its previous answers."""
    for n, why in updates:
        out.print(f"re-draft [bold]{escape(titles[n])}[/]: {escape(why)}")
    out.print(f"{len(updates)} of {len(titles)} calls re-drafted; the others keep their answers.")


def print_human_text_notes(s: dict[str, Any], review: Path | None) -> None:
    """What a run kept of a human's text that needs their eyes (details in the review report)."""
    notes = [
        (s.get("changed_during_run"), "the document changed while drafting: those edits were kept"),
        (
            s.get("not_refreshed"),
            f"{s.get('not_refreshed')} values could not be refreshed (earlier values kept)",
        ),
        (
            s.get("damaged_markers"),
            f"{s.get('damaged_markers')} damaged markers (text kept as written)",
        ),
        (s.get("unplaced"), f"{s.get('unplaced')} human edits could not be placed"),
        (
            s.get("not_written"),
            f"{s.get('not_written')} drafts not written where a human's text stands",
        ),
    ]
    shown = "; ".join(text for flag, text in notes if flag)
    if shown:
        where = f": see {review}" if review else ""
        err.print(escape(f"{shown[0].upper()}{shown[1:]}{where}."))


def endpoint_name(settings: ModelSettings) -> str:
    return "the embedded llama.cpp server" if settings.embedded else settings.endpoint_id


def print_plan(plan: list[PlannedCall], settings: ModelSettings) -> None:
    out.print(f"Plan for {escape(settings.model)} via {escape(endpoint_name(settings))}:")
    table = Table("#", "section(s)", "fields", "groups", "evidence", "prompt tokens", "max output")
    for n, p in enumerate(plan, start=1):
        table.add_row(
            str(n),
            escape(p.title[:90]),
            str(p.fields),
            str(p.groups),
            str(p.evidence),
            f"{p.prompt_tokens:,}",
            f"{p.max_output_tokens:,}",
        )
    out.print(table)
    prompt = sum(p.prompt_tokens for p in plan)
    output = sum(p.max_output_tokens for p in plan)
    out.print(f"{len(plan)} calls, ~{prompt:,} prompt tokens, at most {output:,} output tokens.")
    rate = costs.rate(settings.endpoint_id, settings.model)
    spent = costs.describe_cost(rate, settings.model, prompt, output, bound=True)
    out.print(escape(f"Cost: {spent}."))
    if not settings.embedded:
        return
    estimate = costs.embedded_time(settings.model, prompt, output)
    if estimate is None:
        out.print("Time: no measured speed for this model, so no estimate.")
        return
    out.print(
        f"Time (an estimate): ~{estimate.typical_seconds / 60:.0f} min of model time, at most "
        f"~{estimate.most_seconds / 60:.0f} min, from speeds measured on a 2-core machine (prompt "
        f"~{estimate.prompt_speed:.0f} tok/s, output ~{estimate.output_speed:.0f} tok/s; answers "
        "typically use half their output room). Starting the server and cached answers are not "
        "counted."
    )


@contextlib.contextmanager
def progress(client: ModelClient) -> Iterator[Callable[[DraftEvent], None]]:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[stats]}"),
    ]
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("Drafting", total=None, stats="")

        def report(event: DraftEvent) -> None:
            u = client.usage
            stats = f"{u.prompt_tokens:,} in / {u.completion_tokens:,} out, {u.cache_hits} cached"
            if event.kind == "plan":
                bar.update(task, total=event.total, stats=stats)
            elif event.kind == "start":
                bar.update(task, description=f"Drafting {event.title[:50]}", stats=stats)
            else:
                bar.update(task, completed=event.done, stats=stats)

        try:
            yield report
        except BaseException:
            # A failed or interrupted run ends with its one-line error, not a half-filled bar.
            bar.live.transient = True
            raise


def print_index(
    idx: RepoIndex, shape: dict[str, Any], redacted: list[dict[str, Any]] | None
) -> None:
    """`docagent index`: files by kind and language, what was skipped and why, the repository
    model's counts per language, and (when asked) where secrets were redacted."""
    s = idx.stats
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
    if redacted:
        listing = Table("redacted at", "kind", title="Secrets redacted (values never shown)")
        for r in redacted:
            listing.add_row(escape(f"{r['path']}:{r['line']}"), str(r["kind"]))
        out.print(listing)
    elif redacted is not None:
        out.print("No secrets redacted.")


def print_check(report: CheckReport) -> None:
    """`docagent check`: each field that is not fresh, its moved or stale citations with the diff
    of what changed, and the counts."""
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
