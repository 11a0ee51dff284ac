"""Prompts are files in prompts/, loaded by name and filled with `string.Template.substitute`:
a missing variable is an error, never a silently empty hole."""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources
from pathlib import Path

from agent.base.errors import DocAgentError


def prompts_dir() -> Path:
    """Inside the installed package, or the source checkout."""
    packaged = Path(str(resources.files("agent"))) / "prompts"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "prompts"


@lru_cache(maxsize=32)
def load(name: str) -> string.Template:
    """The prompt file `prompts/NAME.md` as a template."""
    path = prompts_dir() / f"{name}.md"
    if not path.is_file():
        raise DocAgentError(f"Prompt file {path} is missing.", hint="Reinstall docagent.")
    return string.Template(path.read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill a prompt; every $variable in the file must be given."""
    try:
        return load(name).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise DocAgentError(f"Prompt {name!r} needs a value for ${exc.args[0]}.") from exc
    except ValueError as exc:
        raise DocAgentError(f"Prompt {name!r} has a malformed placeholder: {exc}") from exc
