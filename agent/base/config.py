"""Where docagent keeps state, and how settings are resolved.

Precedence everywhere: CLI option > environment variable > config file > default. One variable,
DOCAGENT_HOME, moves all state (index cache, model cache and call log, assembled model weights).
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from agent.base.errors import UserInputError

N = TypeVar("N", int, float)


def home() -> Path:
    """docagent's state directory (created on first use)."""
    explicit = os.environ.get("DOCAGENT_HOME")
    if explicit:
        path = Path(explicit).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "docagent"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    """The optional config file: $DOCAGENT_HOME/config.toml."""
    return home() / "config.toml"


def file_settings() -> dict[str, Any]:
    """Settings from the config file, or {} when there is none."""
    path = config_file()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserInputError(
            f"{path}: invalid TOML ({exc})", hint="Fix the file or delete it to use defaults."
        ) from exc


def setting(option: Any, env: str, key: str, default: Any) -> Any:
    """Resolve one setting: CLI option, then environment variable, then config file, then default."""
    if option is not None:
        return option
    if os.environ.get(env):
        return os.environ[env]
    value = file_settings().get(key)
    return default if value is None else value


def number_setting(
    option: N | None,
    option_name: str,
    env: str,
    key: str,
    default: N | None,
    *,
    kind: type[N],
    minimum: N,
) -> N | None:
    """A numeric setting resolved like `setting`, checked: a value that is not a number, or is below
    `minimum`, is an error naming where it came from (the option, the variable or the config key)."""
    if option is not None:
        value: Any = option
        source = option_name
    elif os.environ.get(env):
        value, source = os.environ[env], env
    else:
        value = file_settings().get(key)
        source = f"{key} in {config_file()}"
        if value is None:
            return default
    unit = "a whole number" if kind is int else "a number"
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise UserInputError(
            f"{source}: {value!r} is not {unit}.", hint=f"Give {unit} of at least {minimum}."
        ) from None
    if isinstance(value, bool) or not math.isfinite(number) or number < minimum:
        raise UserInputError(
            f"{source}: {value!r} is out of range.", hint=f"Give {unit} of at least {minimum}."
        )
    return number
