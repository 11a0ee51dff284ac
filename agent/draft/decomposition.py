"""A Service/Module Decomposition group filled from the repository's components: one item per
component with its name and path, its own description, its key parts or definitions, the components
it imports and its interfaces, each cited to the lines that state it. Roles the code cannot state
(why it is separate) are left for a human or a recorded decision.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from agent.document.template_model import assign_roles
from agent.ingest.index import RepoIndex
from agent.ingest.repomodel.components import Component, find_components
from agent.ingest.repomodel.interfaces import Interface

# --- filling a decomposition group ---------------------------------------------------------------

_MEMBER_ROLES = (
    ("name", re.compile(r"^name$|^title$")),
    ("summary", re.compile(r"responsib|purpose|description|summary")),
    ("definitions", re.compile(r"key components|components|contents|main (classes|types)")),
    ("dependencies", re.compile(r"^dependencies$|depends")),
    ("interfaces", re.compile(r"\bapis?\b|interfaces?\b")),
)
INTERFACE_KINDS = {
    "http": "HTTP routes",
    "cli": "CLI commands",
    "grpc": "gRPC services/methods",
    "task": "background tasks",
    "queue": "queues",
    "hook": "plugin hooks",
}
_GROUP_LABEL = re.compile(r"service|module|component|subsystem", re.I)


def member_roles(labels: dict[str, str]) -> dict[str, str]:
    """Which member field (by id) takes which role, from the members' labels."""
    return assign_roles(labels, _MEMBER_ROLES)


def is_decomposition(group_label: str, labels: dict[str, str]) -> bool:
    """A repeated group that lists the system's modules or services, with a name member."""
    roles = set(member_roles(labels).values())
    return bool(_GROUP_LABEL.search(group_label)) and "name" in roles and len(roles) >= 2


def decomposition_items(
    index: RepoIndex, labels: dict[str, str], comps: list[Component] | None = None
) -> list[dict[str, object]]:
    """One group item per component: its name and path, its own description, its main
    definitions and the components it imports, each cited to the lines that state it. Roles the
    code cannot state (why it is separate, how others call it) are left for a human."""
    comps = find_components(index) if comps is None else comps
    roles = member_roles(labels)
    by_role = {role: fid for fid, role in roles.items()}
    items: list[dict[str, object]] = []
    for c in comps:
        is_dir = c.path not in c.files
        where = f"`{c.path}/`" if is_dir else f"`{c.path}`"
        name = c.package or (PurePosixPath(c.path).stem if not is_dir else c.name)
        cites: list[tuple[str, int, int]] = []
        values: dict[str, object] = {by_role["name"]: f"{name} ({where})"}
        if c.summary and c.summary_at and "summary" in by_role:
            values[by_role["summary"]] = c.summary
            cites.append(c.summary_at)
        if c.parts and "definitions" in by_role:
            shown_parts = []
            for part, d in c.parts:
                # The full path: a reader (and `docagent check`) can open it as written.
                label = part + ("" if PurePosixPath(part).suffix else "/")
                shown_parts.append(f"`{label}` (`{d.name}`)" if d else f"`{label}`")
                if d:
                    cites.append((d.path, d.line, d.line))
            values[by_role["definitions"]] = ", ".join(shown_parts)
        elif c.definitions and "definitions" in by_role:
            shown = c.definitions[:5]
            values[by_role["definitions"]] = ", ".join(f"`{d.name}` ({d.kind})" for d in shown)
            cites += [(d.path, d.line, d.line) for d in shown]
        if c.depends_on and "dependencies" in by_role:
            deps = sorted(c.depends_on)[:6]
            values[by_role["dependencies"]] = ", ".join(
                f"`{d}`" if PurePosixPath(d).suffix else f"`{d}/`" for d in deps
            )
            cites += [(c.depends_on[d][0], c.depends_on[d][1], c.depends_on[d][1]) for d in deps]
        if c.interfaces and "interfaces" in by_role:
            values[by_role["interfaces"]] = _describe_interfaces(c.interfaces, cites)
        values["_citations"] = cites
        items.append(values)
    return items


def _describe_interfaces(found: list[Interface], cites: list[tuple[str, int, int]]) -> str:
    """ "12 HTTP routes (`POST documents.list`, ...); 3 CLI commands (...)", citing the shown ones."""
    parts = []
    for kind, label in INTERFACE_KINDS.items():
        of_kind = [i for i in found if i.kind == kind]
        if not of_kind:
            continue
        shown = of_kind[:3]
        more = ", ..." if len(of_kind) > len(shown) else ""
        names = ", ".join(f"`{i.name}`" for i in shown)
        parts.append(f"{len(of_kind)} {label} ({names}{more})")
        cites += [(i.path, i.line, i.line) for i in shown]
    return "; ".join(parts)
