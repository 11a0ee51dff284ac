"""Where docagent keeps state, and how settings are resolved.

Precedence everywhere: CLI option > environment variable > config file > default. One variable,
DOCAGENT_HOME, moves all state (index cache, model cache and call log, assembled model weights).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from agent.errors import UserInputError


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
