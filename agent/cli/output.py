"""What the command line prints: the consoles, the template tree, a draft's plan and progress, and
the notes a run leaves about a human's text. The commands in agent.cli decide; this module shows."""

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
    from agent.draft.run import DraftEvent, PlannedCall
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
