"""A plain-text box diagram of the system for a template's ASCII diagram block, drawn from the
repository model: how the system is entered (routes, commands, tasks), what it is built on and made
of (framework, components), and what it keeps data in and talks to (databases, caches, queues,
third-party services). Every name in it comes from a fact or a definition with its line; the
layout is fixed, so the block is the same on every run and never the template's example.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from agent.draft.decomposition import INTERFACE_KINDS
from agent.draft.services import services
from agent.ingest.repomodel.model import is_auxiliary

if TYPE_CHECKING:
    from agent.ingest.facts import Fact
    from agent.ingest.index import RepoIndex

WIDTH = 72  # the box's outer width: fits an 80-column reader with the block's indent
MAX_COMPONENTS = 8
_DATA_KINDS = (
    ("database", "database"),
    ("cache", "cache"),
    ("task-queue", "task queue"),
    ("messaging", "messaging"),
    ("storage", "storage"),
)


def system_diagram(index: RepoIndex) -> tuple[str, list[tuple[str, int, int]]] | None:
    """The diagram and the lines its names are read from; None when the model knows too little
    (no component and no interface) to draw more than an empty frame."""
    model = index.model
    facts = [f for f in index.facts + model.facts if not is_auxiliary(f.path)]
    cites: list[tuple[str, int, int]] = []
    boxes: list[tuple[str, list[str]]] = []

    entry = []
    for kind, label in INTERFACE_KINDS.items():
        found = [i for i in model.interfaces if i.kind == kind]
        if found:
            # "1 HTTP route", "3 HTTP routes" ("gRPC services/methods" stays as it is).
            one = len(found) == 1 and label.endswith("s") and "/" not in label
            entry.append(f"{len(found)} {label[:-1] if one else label}")
            cites.append((found[0].path, found[0].line, found[0].line))
    if entry:
        boxes.append(("ENTRY POINTS", [" · ".join(entry)]))

    built = _names(facts, ("web-framework", "cli-framework"), cites)
    comps = []
    for c in model.components[:MAX_COMPONENTS]:
        is_dir = c.path not in c.files
        comps.append(f"{c.path}/" if is_dir else c.path)
        if c.definitions:
            d = c.definitions[0]
            cites.append((d.path, d.line, d.line))
    if built or comps:
        lines = [f"built on: {', '.join(built)}"] if built else []
        if comps:
            more = " · …" if len(model.components) > MAX_COMPONENTS else ""
            lines.append(" · ".join(comps) + more)
        boxes.append(("APPLICATION", lines))

    data = []
    for kind, label in _DATA_KINDS:
        names = _names(facts, (kind,), cites)
        if names:
            data.append(f"{label}: {', '.join(names)}")
    # Third-party services not already named as a store ("storage: Backblaze B2 (b2sdk)").
    named = {n.split(" (")[0] for line in data for n in line.split(": ", 1)[1].split(", ")}
    external = [s for s in services(index) if s.provider not in named]
    if external:
        data.append("external: " + ", ".join(s.provider for s in external))
        cites += [(s.imports[0].path, s.imports[0].line, s.imports[0].line) for s in external]
    if data:
        boxes.append(("DATA AND SERVICES", data))

    if not entry and not comps:
        return None
    return _draw(boxes), list(dict.fromkeys(cites))


def _names(
    facts: list[Fact], kinds: tuple[str, ...], cites: list[tuple[str, int, int]]
) -> list[str]:
    """Distinct fact names of these kinds, each cited once."""
    names: list[str] = []
    for f in facts:
        # "clap" and "clap (command-line framework)" are one name.
        if f.kind in kinds and _head(f.name) not in {_head(n) for n in names}:
            # The package that says so, as the stack fields show it: "PostgreSQL (psycopg)".
            shown = f.value and f.value.lower() not in f.name.lower() and f.kind != "runtime"
            names.append(f"{f.name} ({f.value})" if shown else f.name)
            cites.append((f.path, f.line, f.line))
    return names


def _head(name: str) -> str:
    """A name's first word: "clap" and "clap (command-line framework)" are one framework."""
    return name.split(" ")[0].lower()


def _draw(boxes: list[tuple[str, list[str]]]) -> str:
    """Boxes stacked top to bottom, each joined to the next by an arrow."""
    inner = WIDTH - 4
    mid = WIDTH // 2
    out: list[str] = []
    for n, (title, lines) in enumerate(boxes):
        out.append("┌" + "─" * (WIDTH - 2) + "┐")
        out.append(f"│ {title:<{inner}} │")
        for line in lines:
            for part in textwrap.wrap(line, inner, break_on_hyphens=False) or [""]:
                out.append(f"│ {part:<{inner}} │")
        bottom = "└" + "─" * (WIDTH - 2) + "┘"
        if n < len(boxes) - 1:
            out.append(bottom[:mid] + "┬" + bottom[mid + 1 :])
            out.append(" " * mid + "▼")
        else:
            out.append(bottom)
    return "\n".join(out)
