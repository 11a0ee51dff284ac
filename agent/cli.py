"""The `docagent` command line: parse options, call a function, print. No logic lives here."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from agent.errors import DocAgentError
from agent.templates import FieldKind, Group, Section, load_template, shipped_templates

app = typer.Typer(
    name="docagent",
    help="Draft architecture documentation from a repository, citing evidence for every statement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
templates_app = typer.Typer(help="List and inspect Markdown templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")

# Piped output is not cut to 80 columns: ids and paths must survive `| grep`.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn docagent's own errors into a message and an exit code (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DocAgentError as exc:
            err.print(f"[bold red]Error:[/] {escape(exc.message)}")
            if exc.hint:
                err.print(exc.hint, markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


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
    _add_section(tree, t.root)
    out.print(tree)
    out.print(
        f"{len(t.sections()) - 1} sections, {counts['fields']} fields "
        f"({counts['tables']} tables, {counts['code']} code blocks), {counts['groups']} groups, "
        f"{t.placeholder_total()} placeholders"
    )


def _add_section(node: Tree, section: Section) -> None:
    for f in section.fields:
        kind = "" if f.kind is FieldKind.TEXT else f" [{f.kind.value}]"
        node.add(f"[cyan]{escape(f.label)}[/]{escape(kind)} [dim]{f.id}[/]")
    for g in section.groups:
        _add_group(node, g)
    for sub in section.sections:
        branch = node.add(f"[bold]{'#' * sub.level} {escape(sub.title)}[/]")
        _add_section(branch, sub)


def _add_group(node: Tree, group: Group) -> None:
    branch = node.add(
        f"[magenta]{escape(group.label)}[/] \\[group: 0..N items, template shows "
        f"{group.template_items}] "
        f"[dim]{group.id}[/]"
    )
    for f in group.fields:
        kind = "" if f.kind is FieldKind.TEXT else f" [{f.kind.value}]"
        branch.add(f"[cyan]{escape(f.label)}[/]{escape(kind)}")
    for g in group.groups:
        _add_group(branch, g)
    for sub in group.sections:
        _add_section(branch.add(f"[bold]{escape(sub.title)}[/]"), sub)


def main() -> None:
    """Entry point for `python -m agent`."""
    app()
