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

from agent.interfaces import Interface

# (framework, the import that shows the client, the patterns whose group 1 is the topic)
_CLIENTS: list[tuple[str, re.Pattern[str], list[re.Pattern[str]]]] = [
    (
        "Kafka",
        re.compile(
            r"(?:import|from|require\(|use )\s*[\"'(]?(?:kafka|confluent_kafka|aiokafka|kafkajs|"
            r"github\.com/(?:IBM|Shopify)/sarama|github\.com/segmentio/kafka-go|"
            r"github\.com/confluentinc/confluent-kafka-go|rdkafka|org\.apache\.kafka|"
            r"org\.springframework\.kafka)",
            re.I,
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
        re.compile(
            r"(?:import|from|require\(|use )\s*[\"'(]?(?:nats|github\.com/nats-io/nats\.go|"
            r"async_nats|io\.nats)",
            re.I,
        ),
        [
            re.compile(
                r"\.(?:subscribe|publish|request|queue_subscribe|Subscribe|Publish|Request|"
                r"QueueSubscribe|PublishMsg)\(\s*(?:ctx,\s*)?[\"'`]([\w.\->*]+)[\"'`]"
            ),
        ],
    ),
    (
        "Redis pub/sub",
        re.compile(
            r"(?:import|from|require\(|use )\s*[\"'(]?(?:redis|ioredis|github\.com/redis/go-redis)"
        ),
        [
            re.compile(
                r"\.(?:publish|subscribe|psubscribe|Publish|Subscribe)\(\s*(?:ctx,\s*)?[\"'`]([\w.:\-*]+)[\"'`]"
            )
        ],
    ),
]


def topics(path: str, lines: list[str]) -> list[Interface]:
    """The topics this file's messaging clients name, once each at their first line."""
    imports = "\n".join(
        line for line in lines if re.match(r"\s*(import|from|use|\"|.*require\()", line)
    )
    out: list[Interface] = []
    seen: set[tuple[str, str]] = set()
    for framework, client, patterns in _CLIENTS:
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
        project = data.get("project", {})
        poetry = data.get("tool", {}).get("poetry", {})
        for table in (project.get("entry-points"), poetry.get("plugins")):
            if isinstance(table, dict):
                for group, entries in table.items():
                    if isinstance(entries, dict):
                        groups.setdefault(group, []).extend(str(k) for k in entries)
    elif path.endswith("setup.cfg"):
        parser = ConfigParser()
        try:
            parser.read_string(text)
        except ConfigError:
            return []
        if parser.has_section("options.entry_points"):
            for group, body in parser.items("options.entry_points"):
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
