"""External services the code talks to, read from the SDKs and clients it imports: where each is
used, at the import line. A dependency in a manifest says a package is installed; an import in
the project's own code says where the service is reached from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.ingest.imports import GO_IMPORT, JS_IMPORT, PY_IMPORT


@dataclass
class Integration:
    """One external service reached from one file."""

    provider: str  # "AWS S3", "Redis", "Stripe"
    # storage, cloud, cache, queue, payments, email, search, llm, monitoring, vcs ..., or library
    # for a local library (a Git implementation) that reaches no service.
    category: str
    path: str
    line: int
    module: str  # the imported module as written


# Imported module (prefix, as a regex) -> (provider, category), per language family. Ordered: the
# first match wins.
_PYTHON: list[tuple[str, str, str]] = [
    (r"boto3|botocore|aiobotocore", "AWS SDK", "cloud"),
    (r"google\.cloud\.storage", "Google Cloud Storage", "storage"),
    (r"google\.cloud(\.\w+)?", "Google Cloud", "cloud"),
    (r"azure\.storage\.blob", "Azure Blob Storage", "storage"),
    (r"azure(\.\w+)?", "Azure", "cloud"),
    (r"b2sdk", "Backblaze B2", "storage"),
    (r"redis|aioredis", "Redis", "cache"),
    (r"pymemcache|memcache", "Memcached", "cache"),
    (r"celery", "Celery", "queue"),
    (r"kombu", "Kombu (message transport)", "queue"),
    (r"kafka|confluent_kafka|aiokafka", "Kafka", "queue"),
    (r"pika|aio_pika", "RabbitMQ", "queue"),
    (r"elasticsearch|opensearchpy", "Elasticsearch/OpenSearch", "search"),
    (r"stripe", "Stripe", "payments"),
    (r"twilio", "Twilio", "messaging"),
    (r"sendgrid", "SendGrid", "email"),
    (r"openai", "OpenAI", "llm"),
    (r"anthropic", "Anthropic", "llm"),
    (r"sentry_sdk|raven", "Sentry", "monitoring"),
    (r"datadog|ddtrace", "Datadog", "monitoring"),
    (r"prometheus_client", "Prometheus", "monitoring"),
    (r"opentelemetry", "OpenTelemetry", "monitoring"),
    (r"slack_sdk", "Slack", "messaging"),
    (r"github", "GitHub API", "vcs"),
    (r"ldap3|ldap", "LDAP", "auth"),
    (r"requests|httpx|aiohttp\.client|urllib3", "HTTP client", "http"),
]
_JAVASCRIPT: list[tuple[str, str, str]] = [
    (r"@aws-sdk/client-s3|@aws-sdk/s3-\w+", "AWS S3", "storage"),
    (r"@aws-sdk/[\w-]+|aws-sdk", "AWS SDK", "cloud"),
    (r"@google-cloud/storage", "Google Cloud Storage", "storage"),
    (r"@google-cloud/[\w-]+", "Google Cloud", "cloud"),
    (r"ioredis|redis", "Redis", "cache"),
    (r"bull|bullmq", "Bull (Redis queues)", "queue"),
    (r"kafkajs", "Kafka", "queue"),
    (r"amqplib", "RabbitMQ", "queue"),
    (r"socket\.io|socket\.io-client|ws", "WebSockets", "realtime"),
    (r"stripe", "Stripe", "payments"),
    (r"nodemailer", "SMTP (nodemailer)", "email"),
    (r"@sentry/[\w-]+", "Sentry", "monitoring"),
    (r"dd-trace|datadog-metrics", "Datadog", "monitoring"),
    (r"prom-client", "Prometheus", "monitoring"),
    (r"@opentelemetry/[\w-]+", "OpenTelemetry", "monitoring"),
    (r"@slack/[\w-]+", "Slack", "messaging"),
    (r"@octokit/[\w-]+", "GitHub API", "vcs"),
    (r"openai", "OpenAI", "llm"),
    (r"axios|node-fetch|got", "HTTP client", "http"),
]
_GO_SDKS: list[tuple[str, str, str]] = [
    (r"github\.com/aws/aws-sdk-go(?:-v2)?/service/s3", "AWS S3", "storage"),
    (r"github\.com/aws/aws-sdk-go(?:-v2)?", "AWS SDK", "cloud"),
    (r"cloud\.google\.com/go/storage", "Google Cloud Storage", "storage"),
    (r"cloud\.google\.com/go(/\w+)?", "Google Cloud", "cloud"),
    (r"github\.com/(?:redis/go-redis|go-redis/redis|gomodule/redigo)", "Redis", "cache"),
    (r"google\.golang\.org/grpc", "gRPC", "rpc"),
    (r"github\.com/prometheus/client_golang", "Prometheus", "monitoring"),
    (r"go\.opentelemetry\.io/otel", "OpenTelemetry", "monitoring"),
    (r"github\.com/getsentry/sentry-go", "Sentry", "monitoring"),
    (r"github\.com/DataDog/datadog-go|gopkg\.in/DataDog/dd-trace-go\.v1", "Datadog", "monitoring"),
    (r"github\.com/stripe/stripe-go", "Stripe", "payments"),
    (r"net/http", "HTTP (net/http)", "http"),
]
_RUST_SDKS: list[tuple[str, str, str]] = [
    (r"aws_sdk_s3", "AWS S3", "storage"),
    (r"aws_sdk_\w+|aws_config", "AWS SDK", "cloud"),
    (r"redis", "Redis", "cache"),
    (r"tonic", "gRPC (tonic)", "rpc"),
    (r"sentry", "Sentry", "monitoring"),
    (r"prometheus|metrics_exporter_prometheus", "Prometheus", "monitoring"),
    (r"opentelemetry\w*", "OpenTelemetry", "monitoring"),
    (r"reqwest|hyper", "HTTP client", "http"),
    (r"git2|gix", "Git (library)", "library"),
]
_COMPILED = {
    language: [(re.compile(rf"(?:{p})(?:[./\-]|$)"), provider, cat) for p, provider, cat in table]
    for language, table in (
        ("python", _PYTHON),
        ("js", _JAVASCRIPT),
        ("ts", _JAVASCRIPT),
        ("go", _GO_SDKS),
        ("rust", _RUST_SDKS),
    )
}

_RUST = re.compile(r"^\s*(?:pub\s+)?use\s+([a-z_][a-z0-9_]*)::")


_IMPORT_WORDS = {
    "python": ("import",),
    "js": ("from", "require(", "import("),
    "ts": ("from", "require(", "import("),
    "go": ('"',),
    "rust": ("use",),
}


def integrations(path: str, lines: list[str], language: str) -> list[Integration]:
    """The external services this file's imports reach (one per provider, at its first import)."""
    # The import patterns import resolution reads with (agent.ingest.imports); Rust's `use` of a crate.
    pattern = {
        "python": PY_IMPORT,
        "js": JS_IMPORT,
        "ts": JS_IMPORT,
        "go": GO_IMPORT,
        "rust": _RUST,
    }.get(language)
    if pattern is None:
        return []
    # Words every import the pattern reads has: a line without them is not read (most lines).
    needed = _IMPORT_WORDS[language]
    word = needed[0]
    import_lines = (
        [(n, line) for n, line in enumerate(lines, start=1) if word in line]
        if len(needed) == 1
        else [(n, line) for n, line in enumerate(lines, start=1) if any(w in line for w in needed)]
    )
    out: dict[str, Integration] = {}
    for n, line in import_lines:
        if len(line) > 400:
            continue
        m = pattern.search(line) if language in ("js", "ts") else pattern.match(line)
        if not m:
            continue
        module = next((g for g in m.groups() if g), "")
        if module.startswith("."):
            continue  # the project's own code
        candidates = [module]
        if language == "python" and m.group(1):
            # `from google.cloud import bigquery, storage as gcs` imports google.cloud.bigquery
            # and google.cloud.storage; a capitalised name is a class, not a module.
            rest = re.sub(r"\s+as\s+\w+", "", line[m.end() :].split("#", 1)[0])
            names = re.findall(r"\b([a-z_]\w*)\b", rest)
            candidates = [f"{module}.{name}" for name in names] or [module]
        for candidate in candidates:
            found = _provider(language, candidate) or _provider(language, module)
            if found is not None:
                provider, category = found
                out.setdefault(provider, Integration(provider, category, path, n, candidate))
    return list(out.values())


def _provider(language: str, module: str) -> tuple[str, str] | None:
    """The first service whose module pattern matches an imported module."""
    return next(
        ((provider, cat) for regex, provider, cat in _COMPILED[language] if regex.match(module)),
        None,
    )


def sdk_name(module: str) -> str:
    """A Python SDK by its package (`sentry_sdk`), a namespace package's by three levels
    (`google.cloud.storage`); JS, Go and Rust modules as imported."""
    if "/" in module or "::" in module:
        return module
    parts = module.split(".")
    return ".".join(parts[: {"google": 3, "azure": 2}.get(parts[0], 1)])
