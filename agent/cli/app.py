"""The Typer app every command registers on, and what all commands share: one-line errors with
exit codes (no traceback), and checks of options that name the option."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from agent import __version__
from agent.base.errors import DocAgentError, UserInputError
from agent.cli.output import err

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


def at_least(option: str, value: int | None, minimum: int) -> None:
    """A count or size option below its minimum is an error naming it."""
    if value is not None and value < minimum:
        raise UserInputError(
            f"{option} {value}: must be at least {minimum}.",
            hint=f"Give {option} a whole number of {minimum} or more.",
        )


def utf8_path(option: str, path: Path | None) -> None:
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


def timeout_option() -> Any:
    """The --timeout option, shared by the commands that call a model."""
    return typer.Option(
        help="Seconds to wait for one model reply (default: 120 remote, 600 embedded; "
        "DOCAGENT_TIMEOUT).",
    )
