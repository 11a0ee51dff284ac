"""Message topics and subjects a file publishes to or consumes from (Kafka, NATS, Redis pub/sub),
and the plugin entry points a Python package declares, as interfaces at their lines.

A call such as `.send("orders", ...)` or `.publish("x")` names a topic only in a file that uses a
messaging client: the file must import one (its module name appears on an import line), so an
HTTP client's `send` or an event emitter's `publish` is never taken for a topic.
"""

from __future__ import annotations

import re
import tomllib
from configparser import ConfigParser
from configparser import Error as ConfigError

from agent.ingest.repomodel.interfaces import Interface


def _client(modules: str) -> re.Pattern[str]:
    """An import of one of these modules as a whole name (`nats`, not `natsort`), matched against
    the file's import lines (`_import_lines`)."""
    pattern = re.compile(
        r"^(?:import\s+|from\s+|use\s+|.*\brequire\(\s*|.*\bfrom\s+|\w+\s+)?[\"'`]?"
        rf"(?:{modules})(?=[\"'`\s;.:/)]|$)",
        re.M,
    )
    _NAMED[pattern] = re.compile(modules)
    return pattern


# Each client pattern's module names alone: a file that never writes one imports none of them
# (most files; the import lines are then not collected at all).
_NAMED: dict[re.Pattern[str], re.Pattern[str]] = {}


# (framework, the import that shows the client, the patterns whose group 1 is the topic)
_CLIENTS: list[tuple[str, re.Pattern[str], list[re.Pattern[str]]]] = [
    (
        "Kafka",
        _client(
            r"kafka|confluent_kafka|aiokafka|kafkajs|github\.com/(?:IBM|Shopify)/sarama|"
            r"github\.com/segmentio/kafka-go|github\.com/confluentinc/confluent-kafka-go[\w/]*|"
            r"rdkafka|org\.apache\.kafka|org\.springframework\.kafka"
        ),
        [
            re.compile(r"\bKafkaConsumer\(\s*[\"']([\w.\-]+)[\"']"),
            re.compile(r"\.(?:send|produce|send_and_wait)\(\s*[\"']([\w.\-]+)[\"']"),
            re.compile(r"\.subscribe\(\s*(?:topics\s*=\s*)?[\[&]*\s*[\"']([\w.\-]+)[\"']"),
            re.compile(r"\btopics?\s*[:=]\s*\[?\s*[\"'`]([\w.\-]+)[\"'`]"),
            re.compile(r"\bTopic:\s*\"([\w.\-]+)\""),
            re.compile(r"\bConsumePartition\(\s*\"([\w.\-]+)\""),
            re.compile(r"FutureRecord::to\(\s*\"([\w.\-]+)\""),
        ],
    ),
    (
        "NATS",
        _client(r"nats|github\.com/nats-io/nats\.go|async_nats|io\.nats"),
        [
            re.compile(
                r"\.(?:subscribe|publish|request|queue_subscribe|Subscribe|Publish|Request|"
                r"QueueSubscribe|PublishMsg)\(\s*(?:ctx,\s*)?[\"'`]([\w.\->*]+)[\"'`]"
            ),
        ],
    ),
    (
        "Redis pub/sub",
        _client(r"redis|ioredis|github\.com/redis/go-redis[\w/]*|github\.com/go-redis/redis[\w/]*"),
        [
            re.compile(
                r"\.(?:publish|subscribe|psubscribe|Publish|Subscribe)\(\s*(?:ctx,\s*)?"
                r"[\"'`]([\w.:\-*]+)[\"'`]"
            )
        ],
    ),
]


def topics(path: str, lines: list[str]) -> list[Interface]:
    """The topics this file's messaging clients name, once each at their first line."""
    text = "\n".join(lines)
    clients = [c for c in _CLIENTS if _NAMED[c[1]].search(text)]
    if not clients:
        return []
    imports = "\n".join(_import_lines(lines))
    out: list[Interface] = []
    seen: set[tuple[str, str]] = set()
    for framework, client, patterns in clients:
        if not client.search(imports):
            continue
        for n, line in enumerate(lines, start=1):
            for pattern in patterns:
                m = pattern.search(line)
                if m and (framework, m.group(1)) not in seen:
                    seen.add((framework, m.group(1)))
                    out.append(Interface("queue", m.group(1), path, n, framework))
                    break
    return out


def _import_lines(lines: list[str]) -> list[str]:
    """The lines that import something (`import x`, `from x import y`, `use x::y;`,
    `require("x")`, `import { y } from "x"`), and each line of a Go `import ( ... )` block."""
    out: list[str] = []
    in_go_block = False
    for line in lines:
        stripped = line.strip()
        if in_go_block:
            if stripped.startswith(")"):
                in_go_block = False
            else:
                out.append(stripped)
        # The cheap tests first: this runs on every line of every code file.
        elif (keyword := stripped.startswith(("import", "from", "use"))) and (
            _GO_IMPORT_BLOCK.match(stripped)
        ):
            in_go_block = True
        elif (keyword and _IMPORT.match(stripped)) or (
            "require(" in stripped and _REQUIRE.search(stripped)
        ):
            out.append(stripped)
    return out


_GO_IMPORT_BLOCK = re.compile(r"import\s*\($")
_IMPORT = re.compile(r"(import|from|use)\s")
_REQUIRE = re.compile(r"\brequire\(")


def plugin_entry_points(path: str, text: str) -> list[Interface]:
    """Entry points a Python package offers to other programs' plugin systems
    (`[project.entry-points."flask.commands"]`, setup.cfg `[options.entry_points]`); its console
    scripts are entry points of its own, not plugins."""
    groups: dict[str, list[str]] = {}
    if path.endswith("pyproject.toml"):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return []
        project = data.get("project")
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        tables = [
            project.get("entry-points") if isinstance(project, dict) else None,
            poetry.get("plugins") if isinstance(poetry, dict) else None,
        ]
        for table in tables:
            if isinstance(table, dict):
                for group, entries in table.items():
                    if isinstance(entries, dict):
                        groups.setdefault(group, []).extend(str(k) for k in entries)
    elif path.endswith("setup.cfg"):
        # No interpolation (`%(x)s` is text here) and names kept as written.
        parser = ConfigParser(interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(text)
            items = (
                parser.items("options.entry_points")
                if parser.has_section("options.entry_points")
                else []
            )
        except ConfigError:
            return []
        for group, body in items:
            names = [e.split("=", 1)[0].strip() for e in body.split("\n") if "=" in e]
            groups.setdefault(group, []).extend(names)
    lines = text.split("\n")
    out = []
    for group, names in groups.items():
        if group in ("console_scripts", "gui_scripts"):
            continue
        at = next((n for n, line in enumerate(lines, start=1) if group in line), 1)
        for name in names:
            line = next(
                (n for n, text_line in enumerate(lines[at - 1 :], start=at) if name in text_line),
                at,
            )
            out.append(Interface("plugin", f"{group}: {name}", path, line, "entry point"))
    return out
