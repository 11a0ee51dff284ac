"""docs/ARCHITECTURE.md lists every module of agent/, and the folders import one way: a newcomer's
map must not go stale, and a lower layer must never reach up into a higher one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

AGENT = ROOT / "agent"
# Lowest first: a module may import from its own layer and the ones before it, never after. ""
# is the modules directly in agent/ (why, the MCP server); the command line sits on top of them.
LAYERS = ("base", "llm", "document", "ingest", "draft", "", "cli")


def _modules() -> list[Path]:
    return sorted(p for p in AGENT.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(dotted: str) -> int:
    """The layer of `agent.<folder>....`; `python -m agent` (agent/__main__.py) is above them all."""
    parts = dotted.split(".")
    if parts[1:] == ["__main__"]:
        return len(LAYERS)
    folder = parts[1] if len(parts) > 1 and parts[1] in LAYERS else ""
    return LAYERS.index(folder)


def _dotted(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts) + (".__init__" if rel.name == "__init__" and len(parts) == 1 else "")


def _imports(path: Path) -> set[str]:
    """Every agent module a file imports, at any depth (inside functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agent"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("agent."))
    return found


def _only_docstring(path: Path) -> bool:
    return len(ast.parse(path.read_text(encoding="utf-8")).body) <= 1


def test_every_module_is_listed() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`((?:\w+/)*\w+\.py)`", text))
    modules = {
        p.relative_to(AGENT).as_posix()
        for p in _modules()
        # A folder's __init__.py that holds only its purpose line is listed by the folder heading.
        if not (p.name == "__init__.py" and p.parent != AGENT and _only_docstring(p))
    }
    assert modules - listed == set(), "add these modules to docs/ARCHITECTURE.md"
    assert listed - modules == set(), "docs/ARCHITECTURE.md names modules that no longer exist"


def test_every_folder_is_a_layer() -> None:
    folders = {p.name for p in AGENT.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS) - {""}, "give a new folder its place in LAYERS and in the docs"


def test_layers_import_one_way() -> None:
    upward = []
    for path in _modules():
        source = _dotted(path)
        for target in _imports(path):
            if target != "agent" and _layer(target) > _layer(source):
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert upward == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The check itself must be able to fail: a function-level import of a command from a lower layer.
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from agent.draft.run import run_draft\n", encoding="utf-8")
    assert _imports(module) == {"agent.draft.run"}
    assert _layer("agent.draft.run") > _layer("agent.ingest.index")
    assert _layer("agent.ingest.repomodel.model") == _layer("agent.ingest.index")
    assert _layer("agent.why") < _layer("agent.cli") == _layer("agent.cli.draft")
