"""Fields answered without a model: stack fields from facts and the repository model, dates,
status and title, the environment-variable table, the decision and decomposition groups, "Why"
fields a recorded decision answers, and a component document's structural fields.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agent.document.templates import FieldKind, Template, TemplateField
from agent.draft import structural
from agent.draft.component_links import component_link
from agent.draft.decomposition import decomposition_items, is_decomposition
from agent.draft.env_table import env_rows, reached_from
from agent.draft.layout import directory_structure
from agent.draft.migrations import migration_history
from agent.draft.rationale import (
    Filled,
    adr_field,
    component_reason,
    decision_items,
    is_decision_group,
    why_field,
)
from agent.draft.services import is_services_group, service_items
from agent.draft.system_diagram import system_diagram
from agent.ingest.facts import Fact
from agent.ingest.index import RepoIndex
from agent.ingest.repomodel.architecture import is_inferred
from agent.ingest.repomodel.model import is_auxiliary


@dataclass
class StaticAnswer:
    """A field filled without a model."""

    value: str
    status: str  # answered | not_found
    facts: list[Fact] = field(default_factory=list)
    rows: list[dict[str, str]] | None = None
    note: str = ""
    # Group items (member field id -> value, "_citations" -> [(path, start, end)]).
    items: list[dict[str, object]] | None = None
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # cited lines beyond facts
    basis: str | None = None  # documented, for a reason quoted from the repository's record
    reasons: list[str] = field(default_factory=list)  # why a human should check it

    @classmethod
    def quoted(cls, filled: Filled, *, basis: str | None = None) -> StaticAnswer:
        """A value quoted from (or stated about) the repository's own record, with its spans."""
        return cls(
            filled.value, "answered", spans=filled.spans, basis=basis, reasons=filled.reasons
        )


# --- fields answered from facts -----------------------------------------------------------------

# (section pattern, label pattern, fact kinds). First match wins.
_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    (r"backend|technology stack", r"^language$", ("language", "runtime")),
    (r"frontend", r"^framework$", ("frontend-framework",)),
    (r"backend|technology stack", r"^framework$", ("web-framework",)),
    (r"backend|technology stack", r"^orm|database layer", ("orm",)),
    (r"database|storage", r"^database$", ("database",)),
    (r"", r"^migration tool", ("migrations",)),
    (r"database|storage", r"^caching$", ("cache",)),
    (r"database|storage", r"^storage", ("storage",)),
    (r"high level architecture", r"^architecture style", ("architecture-style",)),
    (r"high level architecture", r"^deployment model", ("deployment-model",)),
    (r"high level architecture", r"^communication pattern", ("communication",)),
    (r"communication", r"^synchronous communication", ("sync-communication",)),
    (r"communication", r"^asynchronous communication", ("async-communication",)),
    (r"integration", r"^api integration", ("external-integration",)),
    (r"integration", r"^async task processing", ("async-tasks",)),
    (r"", r"^api framework", ("api-framework",)),
    (r"", r"^validation", ("validation",)),
    (r"frontend", r"^ui library", ("ui-library",)),
    (r"frontend", r"^state management", ("state-management",)),
    (r"frontend", r"^build tool", ("build-tool",)),
    (r"", r"^containeri[sz]ation", ("container",)),
    (r"", r"^ci/cd$|^ci$|continuous integration", ("ci",)),
    (r"", r"^cloud platform", ("cloud",)),
    (r"development tools", r"^testing framework", ("testing",)),
    (r"development tools", r"^code quality", ("code-quality", "tool-config")),
    (r"development tools", r"^documentation$", ("documentation",)),
    (r"performance", r"^monitoring$", ("monitoring",)),
    (r"event infrastructure", r"^event bus|message queue", ("messaging", "task-queue")),
    (r"code style", r"^coding standards?$", ("code-quality", "tool-config")),
    (r"code style", r"^logging", ("logging",)),
    (r"authentication", r"^authentication method", ("auth",)),
    (r"resilience|error handling", r"^retry", ("retry",)),
    (r"data storage patterns", r"^relational data$", ("relational-data",)),
    (r"data storage patterns", r"^file storage$", ("storage",)),
    (r"event processing", r"^processing mechanism$", ("async-tasks",)),
    (r"code style", r"^type hints?$", ("type-checker",)),
    (r"external integration", r"^webhook handling$", ("webhooks",)),
    (r"file structure", r"^package/module structure$", ("package-structure",)),
]
_FRONTEND_LANGS = {"ts", "js", "vue", "svelte"}


def static_answers(
    template: Template, index: RepoIndex, topic: str = ""
) -> dict[str, StaticAnswer]:
    """Fields that facts (or the draft itself) answer: stack fields, env vars, dates, status, title."""
    out: dict[str, StaticAnswer] = {}
    # Manifest facts first, then what the repository model implies (framework fallbacks,
    # architecture style, deployment, communication).
    facts = index.facts + index.model.facts
    for sec in template.sections():
        trail = sec.id.replace("-", " ")
        for f in sec.fields:
            answer = _static_for(f, trail, facts, index, topic)
            if answer is None and not topic:
                answer = _recorded_for(f, trail, out, index)
            if answer is not None:
                out[f.id] = answer
        for g in sec.groups:
            labels = {f.id: f.label for f in g.members()[0]}
            if not topic and is_decision_group(g.label, labels):
                # Decisions are quoted from the ADRs and design docs; the embedded model filled
                # none of the benchmark's 36 documented reasons when asked to find them.
                items = decision_items(index, labels)
                if items:
                    out[g.id] = StaticAnswer("", "answered", items=items)
                continue
            if is_services_group(g.label, labels):
                # The vendors whose SDKs the code imports (a component document: its topic's
                # files); with none, the group is left to the model and its evidence.
                files = set(structural.topic_files(index, topic)) if topic else None
                items = service_items(index, labels, files)
                if items:
                    out[g.id] = StaticAnswer("", "answered", items=items)
                continue
            if not topic and is_decomposition(g.label, labels):
                # The modules are read from the code's structure; a model shown five chunks of
                # it named 3 of 81 documented components on the quality benchmark.
                comps = index.model.components
                items = decomposition_items(index, labels, comps)
                why_id = next((fid for fid, lab in labels.items() if _WHY_LABEL.match(lab)), None)
                for item, comp in zip(items, comps, strict=False):
                    filled = component_reason(index, comp) if why_id else None
                    if why_id and filled:
                        item[why_id] = filled.value
                        cites = item.setdefault("_citations", [])
                        assert isinstance(cites, list)
                        cites.extend(filled.spans)
                        item["_reasons"] = filled.reasons
                if items:
                    out[g.id] = StaticAnswer("", "answered", items=items)
    return out


_WHY_LABEL = re.compile(r"^why\b", re.IGNORECASE)

# Overview fields the tree itself states: label -> (reader, what it was read from).
_READ_FROM_TREE: dict[
    str, tuple[Callable[[RepoIndex], tuple[str, list[tuple[str, int, int]]] | None], str]
] = {
    "migration strategy": (migration_history, "the migration files"),
    "directory structure": (directory_structure, "file kinds per directory"),
}


def _recorded_for(
    f: TemplateField, trail: str, done: dict[str, StaticAnswer], index: RepoIndex
) -> StaticAnswer | None:
    """ADR location/format and "Why <stack choice>" fields, from the recorded decisions."""
    if f.kind is not FieldKind.TEXT:
        return None
    if re.search(r"\badrs?\b|decision record", trail):
        filled = adr_field(f.label, index)
        return StaticAnswer.quoted(filled) if filled else None
    if not f.is_rationale:
        return None
    parent = done.get(f.id.rsplit(".", 1)[0])
    if parent is None or not parent.facts:
        return None
    role = f.context[-1] if f.context else ""
    filled = why_field([x.name for x in parent.facts], index, role)
    return StaticAnswer.quoted(filled, basis="documented") if filled else None


def _static_for(
    f: TemplateField, trail: str, facts: list[Fact], index: RepoIndex, topic: str
) -> StaticAnswer | None:
    label = f.label.lower().strip()
    desc = f.description.lower()
    if f.kind is FieldKind.TEXT and (
        desc in ("date", "date (yyyy-mm-dd)") or label in ("last updated", "created")
    ):
        today = os.environ.get("DOCAGENT_TODAY") or dt.date.today().isoformat()
        return StaticAnswer(today, "answered", note="the date of this draft")
    if f.kind is FieldKind.TEXT and label == "status" and "draft" in desc:
        return StaticAnswer("draft", "answered", note="docagent writes drafts")
    if (
        f.kind is FieldKind.TEXT
        and f.context == []
        and f.line <= 12
        and label in ("product name", "architecture name")
    ):
        if topic:
            return StaticAnswer(topic, "answered", note="the topic given with --topic")
        name, fact = project_name(index)
        return StaticAnswer(
            name,
            "answered",
            facts=[fact] if fact else [],
            note="" if fact else "the directory name",
        )
    if f.kind is FieldKind.TABLE and label == "environment variables":
        return _env_table(f, facts, index, topic)
    if topic and f.kind in (FieldKind.TABLE, FieldKind.CODE):
        return _structural(f, trail, index, topic)
    if topic and f.kind is FieldKind.TEXT:
        link = component_link(f.label, trail, index, topic)
        if link is not None:
            return StaticAnswer(link.value, "answered", spans=link.spans, reasons=[_TOPIC_CHOICE])
    if f.kind is not FieldKind.TEXT:
        return None
    read = _READ_FROM_TREE.get(label) if not topic else None
    if read is not None:
        stated = read[0](index)
        if stated is not None:
            reason = f"inferred from the code's structure ({read[1]}): confirm"
            return StaticAnswer(stated[0], "answered", spans=stated[1], reasons=[reason])
    for section_re, label_re, kinds in _RULES:
        if section_re and not re.search(section_re, trail):
            continue
        if not re.search(label_re, label):
            continue
        found = [x for x in facts if x.kind in kinds]
        if label == "language":
            found = _languages(facts, frontend="frontend" in trail)
        found = _primary(found)
        if not found:
            return None
        inferred = any(is_inferred(x) for x in found)
        reasons = ["inferred from the code's structure: confirm"] if inferred else []
        if set(kinds) & _PRACTICES:
            reasons.append(_PRACTICE_REASON)
        return StaticAnswer(
            _describe_facts(found),
            "answered",
            facts=_unique_facts(found)[:4],
            reasons=reasons,
        )
    return None


# Files that describe how the project is tested, demonstrated or documented rather than what it
# is built with. Measured on the quality benchmark: a demo Dockerfile set the language version
# (datasette), an end-to-end test package.json the test framework (mealie).
_AUXILIARY_RE = re.compile(
    r"(^|/)(tests?|testing|e2e|demos?|examples?|samples?|fixtures|docs?|\.devcontainer|vendor|"
    r"third_party|benchmarks?)/",
    re.IGNORECASE,
)


# A library the manifest names says which tools a practice uses, not how: a human confirms it.
_PRACTICES = frozenset({"auth", "retry", "logging"})
_PRACTICE_REASON = "read from the libraries the manifests declare: confirm how the code uses them"
# An example's queue or monitoring client is not the system's: these come from its own files only.
_OWN_ONLY = frozenset({"task-queue", "messaging", "monitoring", *_PRACTICES})


def _primary(found: list[Fact]) -> list[Fact]:
    """The facts from the project's own files, when there are any; otherwise all of them."""
    # The repository model's notion of auxiliary files (scripts/, tools/, bench/ too) only for the
    # kinds an example or a script declares without the system using them: applied to all, it
    # drops CI tools configured under .github/ (measured: zoekt's Code Quality).
    own = [
        f
        for f in found
        if f.kind == "language"
        or not (_AUXILIARY_RE.search(f.path) or (f.kind in _OWN_ONLY and is_auxiliary(f.path)))
    ]
    return own or [f for f in found if f.kind not in _OWN_ONLY]


def _languages(facts: list[Fact], *, frontend: bool) -> list[Fact]:
    """The language field's facts: the main language (or, under a frontend heading, the browser
    languages) as its manifest declares it, with the version ("Python >=3.10" at requires-python,
    "TypeScript ^6.0.3" at the typescript dependency), else as measured from file names (an
    inference: the draft flags it). A language under a tenth of the first's lines is left out."""
    # Measured ones (a manifest's `typescript` dependency is a language fact too: a declaration).
    langs = [x for x in facts if x.kind == "language" and is_inferred(x)]
    if frontend:
        langs = [x for x in langs if x.name in _FRONTEND_LANGS]
    else:
        # A server-side language a tenth the size of the largest is a template or a script
        # (outline: 215 lines of HTML beside 327,286 of TypeScript): the largest is the language.
        # A server language a manifest declares stays the language however large the front end.
        server = [x for x in langs if x.name not in _FRONTEND_LANGS][:1]
        most = max((_lines(x) for x in langs), default=0)
        kept = server and (10 * _lines(server[0]) >= most or _declared(server[0], facts))
        langs = server if kept else langs[:1]
    sizes = [_lines(x) for x in langs]
    langs = [x for x, n in zip(langs, sizes, strict=True) if 10 * n >= sizes[0]]
    return [_declared(x, facts) or x for x in langs]


def _lines(fact: Fact) -> int:
    head = fact.value.split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def _declared(language: Fact, facts: list[Fact]) -> Fact | None:
    """Where a manifest declares the language and its version, as a fact that reads whole."""
    name = language_name(language.name)
    key = name.lower()
    # By the runtime's first word ("Rust edition" is Rust's; a Ruby gem's Rust extension is not
    # Ruby's version).
    runtimes = [
        x
        for x in facts
        if x.kind == "runtime"
        and x.name.lower().split(" ", 1)[0] == key
        and not _AUXILIARY_RE.search(x.path)
    ]
    # The manifest's declared version (requires-python, engines) before a base image tag.
    runtimes.sort(key=lambda x: "dockerfile" in x.path.lower().rsplit("/", 1)[-1])
    if runtimes:
        # A base image writes it in lower case (`FROM python:3.11`): shown as the language.
        found = runtimes[0]
        return found.model_copy(update={"name": name}) if found.name.lower() == key else found
    compiler = [
        x
        for x in facts
        if x.kind == "dependency" and x.name.lower() == key and not _AUXILIARY_RE.search(x.path)
    ]
    if compiler:
        return compiler[0].model_copy(update={"kind": "runtime", "name": name})
    return None


def language_name(short: str) -> str:
    """How a language the index names by extension is written ("ts" is TypeScript)."""
    return {"js": "JavaScript", "ts": "TypeScript"}.get(short, short.capitalize())


def _unique_facts(found: list[Fact]) -> list[Fact]:
    seen: set[tuple[str, str]] = set()
    out = []
    for fact in found:
        if (fact.name, fact.path) not in seen:
            seen.add((fact.name, fact.path))
            out.append(fact)
    return out


def _describe_facts(found: list[Fact]) -> str:
    names: list[str] = []
    for fact in found:
        if fact.kind == "language":
            text = f"{language_name(fact.name)} ({fact.value})"
        elif fact.kind == "runtime":
            text = f"{fact.name} {fact.value}".strip()
        elif fact.kind == "tool-config":
            text = f"{fact.name} (configured)"
        elif fact.kind in ("dependency",):
            text = f"{fact.name} {fact.value}".strip()
        else:
            # A name that already says where it comes from ("XML-RPC (pyramid_rpc)") is not
            # followed by the package again.
            version = (
                f" ({fact.value})"
                if fact.value
                and fact.value.lower() not in fact.name.lower()
                and "(" not in fact.name
                else ""
            )
            text = f"{fact.name}{version}"
        if text.split(" ")[0].lower() not in {n.split(" ")[0].lower() for n in names}:
            names.append(text)
    return ", ".join(names)


def project_name(index: RepoIndex) -> tuple[str, Fact | None]:
    """The project's name and where it is written: README title, else manifest, else directory."""
    for path in sorted(index.records):
        if path.lower().startswith("readme") and "/" not in path:
            for n, line in enumerate(index.file_lines(path) or [], start=1):
                if line.startswith("# "):
                    return line[2:].strip(), Fact(
                        kind="project-name", name=line[2:].strip(), path=path, line=n
                    )
    for path in ("pyproject.toml", "package.json", "Cargo.toml"):
        lines = index.file_lines(path) if path in index.records else None
        for n, line in enumerate(lines or [], start=1):
            m = re.match(r'^\s*"?name"?\s*[=:]\s*"([^"]+)"', line)
            if m:
                return m.group(1), Fact(kind="project-name", name=m.group(1), path=path, line=n)
    return index.root.name, None


_DRAWN = (
    "inferred from the code's structure (the repository model): the whole system, drawn by "
    "docagent, not only this topic's part: confirm"
)
_TOPIC_CHOICE = "chosen by the topic's words and how much the code uses each file: confirm"


def _structural(f: TemplateField, trail: str, index: RepoIndex, topic: str) -> StaticAnswer | None:
    """Code locations and schema blocks of a component document, from the repository model."""
    if f.kind is FieldKind.TABLE and re.search(r"key components", f"{trail} {f.label.lower()}"):
        found = structural.key_components_table(f, index, topic)
        if found is None:
            return None
        rows, spans = found
        return StaticAnswer("", "answered", rows=rows, spans=spans, reasons=[_TOPIC_CHOICE])
    if f.kind is FieldKind.TABLE and "code locations" in trail:
        found = structural.locations_table(f, index, topic)
        if found is None:
            return None
        rows, spans = found
        return StaticAnswer("", "answered", rows=rows, spans=spans, reasons=[_TOPIC_CHOICE])
    if f.kind is FieldKind.CODE and not f.language and re.search(r"diagram", f"{trail} {f.id}"):
        drawn = system_diagram(index)
        if drawn is None:
            return None
        return StaticAnswer(drawn[0], "answered", spans=drawn[1], reasons=[_DRAWN])
    if f.kind is FieldKind.CODE and re.search(r"schema|relationship|tables|models", trail):
        block = structural.schema_block(f, index, topic)
        if block is None:
            return None
        return StaticAnswer(block[0], "answered", spans=block[1], reasons=[_TOPIC_CHOICE])
    return None


def _env_table(
    f: TemplateField, facts: list[Fact], index: RepoIndex, topic: str
) -> StaticAnswer | None:
    # A component's document lists the variables its own files read (warehouse's config.py, not
    # the 300 the whole code reads), when its files read any; otherwise every one, to confirm.
    own = structural.named_for_topic(index, topic) if topic else set()
    read = {x.name for x in facts if x.kind == "env-var" and x.path in own}
    # ... and those read by the functions they call (Flask's cli.py -> helpers.get_debug_flag).
    reached = reached_from(own, facts, index) if read else []
    read |= {x.name for x in reached}
    # The example env file's line of a variable the topic reads stays: it gives the example.
    mine = [
        x
        for x in facts
        if x.kind != "env-var" or x.path in own or (x.name in read and "example" in x.detail)
    ] + reached
    scoped = bool(read)
    found = env_rows(f.column_keys, mine if scoped else facts, index)
    if found is None:
        return None
    rows, cited = found
    reasons = [_TOPIC_ENV] if topic and not scoped else []
    return StaticAnswer("", "answered", facts=cited, rows=rows, reasons=reasons)


_TOPIC_ENV = (
    "no file named for the topic reads an environment variable: these are every variable the "
    "code reads, not only this topic's: confirm"
)
