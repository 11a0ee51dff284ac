"""Third-party services from the code: one item per external vendor the project's own code reaches
through an SDK (agent.ingest.repomodel.integrations), for an overview's "Third-Party Services" group and a component
document's "Integration Details". Each item says who provides the service, how the code reaches it
(the SDK, the files that import it, the environment variables that configure it) and, when a
design record names the service, why it was chosen, every statement cited to its lines. What the
code cannot state (costs, limits, the data sent) is left for a human.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.document.template_model import assign_roles
from agent.draft.rationale import why_field
from agent.ingest.facts import Fact
from agent.ingest.index import RepoIndex
from agent.ingest.repomodel.integrations import Integration, sdk_name


@dataclass(frozen=True)
class Vendor:
    """Who provides a service an SDK reaches, and how its settings and its docs name it."""

    company: str
    does: str  # what the vendor's service is, as a noun phrase
    # Environment variables of this service by their prefix (STRIPE_, DD_): a vendor's bare name
    # is not enough (GOOGLE_CLIENT_ID is a sign-in setting, not Cloud Storage's).
    env: tuple[str, ...]
    # What a design note calls the service ("B2", "S3"): a reason is looked up by these, never by
    # the vendor alone (a reason for "Google sign-in" is none for Google Cloud Storage).
    names: tuple[str, ...]


# Integration provider (agent.ingest.repomodel.integrations) -> vendor. Infrastructure the project runs itself
# (Redis, Celery, Kafka, Elasticsearch, Prometheus, SMTP, LDAP) and plain HTTP clients are not
# third-party services: they are in the stack fields already.
VENDORS: dict[str, Vendor] = {
    "AWS SDK": Vendor("Amazon Web Services", "cloud services", ("AWS_",), ("AWS",)),
    "AWS S3": Vendor("Amazon Web Services", "object storage (S3)", ("AWS_", "S3_"), ("S3",)),
    "Google Cloud Storage": Vendor(
        "Google Cloud",
        "object storage",
        ("GCS_", "GOOGLE_CLOUD_", "GOOGLE_APPLICATION_CREDENTIALS"),
        ("Google Cloud Storage", "GCS"),
    ),
    "Google Cloud": Vendor(
        "Google Cloud",
        "cloud services",
        ("GCP_", "GCLOUD_", "GOOGLE_CLOUD_", "GOOGLE_APPLICATION_CREDENTIALS"),
        ("Google Cloud", "GCP"),
    ),
    "Azure Blob Storage": Vendor(
        "Microsoft Azure", "object storage", ("AZURE_STORAGE_",), ("Azure Blob Storage",)
    ),
    "Azure": Vendor("Microsoft Azure", "cloud services", ("AZURE_",), ("Azure",)),
    "Backblaze B2": Vendor("Backblaze", "object storage (B2)", ("B2_", "BACKBLAZE_"), ("B2",)),
    "Stripe": Vendor("Stripe", "payments", ("STRIPE_",), ("Stripe",)),
    "Twilio": Vendor("Twilio", "SMS and voice messaging", ("TWILIO_",), ("Twilio",)),
    "SendGrid": Vendor("Twilio SendGrid", "e-mail delivery", ("SENDGRID_",), ("SendGrid",)),
    "OpenAI": Vendor("OpenAI", "language-model API", ("OPENAI_",), ("OpenAI",)),
    "Anthropic": Vendor("Anthropic", "language-model API", ("ANTHROPIC_",), ("Anthropic",)),
    "Sentry": Vendor("Sentry", "error and performance monitoring", ("SENTRY_",), ("Sentry",)),
    "Datadog": Vendor("Datadog", "monitoring and tracing", ("DD_", "DATADOG_"), ("Datadog",)),
    "Slack": Vendor(
        "Slack (Salesforce)",
        "team messaging API",
        ("SLACK_BOT_TOKEN", "SLACK_TOKEN", "SLACK_WEBHOOK"),
        ("Slack",),
    ),
    "GitHub API": Vendor(
        "GitHub",
        "GitHub's REST/GraphQL API",
        ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_APP_"),
        ("GitHub API",),
    ),
}

MAX_ITEMS = 8
_SHOWN_FILES = 3


@dataclass
class Service:
    """One vendor's service as the code reaches it."""

    provider: str
    vendor: Vendor
    imports: list[Integration] = field(default_factory=list)  # one per importing file
    settings: list[Fact] = field(default_factory=list)  # environment variables named for it

    @property
    def modules(self) -> list[str]:
        """The SDK modules imported (a Python package by its top name)."""
        return sorted({sdk_name(i.module) for i in self.imports})


def services(index: RepoIndex, files: set[str] | None = None) -> list[Service]:
    """The vendors the project's own code imports an SDK of (within `files` when given), most
    used first, with the environment variables named for each."""
    found: dict[str, Service] = {}
    for used in index.model.integrations:
        vendor = VENDORS.get(used.provider)
        if vendor is None or (files is not None and used.path not in files):
            continue
        found.setdefault(used.provider, Service(used.provider, vendor)).imports.append(used)
    env = [f for f in index.facts if f.kind == "env-var" and "example env file" not in f.detail]
    for svc in found.values():
        seen: set[str] = set()
        for fact in env:
            if fact.name not in seen and fact.name.startswith(svc.vendor.env):
                seen.add(fact.name)
                svc.settings.append(fact)
    return sorted(found.values(), key=lambda s: (-len(s.imports), s.provider))[:MAX_ITEMS]


# --- group items ---------------------------------------------------------------------------------

_ROLES = (
    ("name", re.compile(r"^(service|integration) ?name$|^name$")),
    ("service", re.compile(r"^service name$")),
    ("provider", re.compile(r"^provider$")),
    ("purpose", re.compile(r"^purpose$|^what it does$")),
    ("method", re.compile(r"^integration method$")),
    ("credentials", re.compile(r"^credentials")),
    ("why", re.compile(r"^why this service$|^why this provider$")),
)
_GROUP = re.compile(r"service|integration", re.I)
_INFERRED = "what the service is for is read from the SDK the code imports: confirm"
_BY_NAME = "the reason is a design note's sentence that names the service: confirm it is why"


def member_roles(labels: dict[str, str]) -> dict[str, str]:
    """Which member (by id) takes which role; "Integration Name" and "Service Name" both name the
    item in a component document, the first the vendor's service, the second the SDK."""
    return assign_roles(labels, _ROLES)


def is_services_group(group_label: str, labels: dict[str, str]) -> bool:
    """A repeated group of external services: a name and a provider member."""
    roles = set(member_roles(labels).values())
    return bool(_GROUP.search(group_label)) and {"name", "provider"} <= roles


def service_items(
    index: RepoIndex, labels: dict[str, str], files: set[str] | None = None
) -> list[dict[str, object]]:
    """One group item per service the code reaches, cited to its import and settings lines."""
    by_role = {role: fid for fid, role in member_roles(labels).items()}
    items: list[dict[str, object]] = []
    for svc in services(index, files):
        cites: list[tuple[str, int, int]] = [(i.path, i.line, i.line) for i in svc.imports[:2]]
        values: dict[str, object] = {by_role["name"]: svc.provider}
        if "service" in by_role:
            values[by_role["service"]] = f"{svc.provider} SDK ({_modules(svc)})"
        values[by_role["provider"]] = svc.vendor.company
        reasons: list[str] = []
        if "purpose" in by_role:
            values[by_role["purpose"]] = f"{svc.vendor.does[0].upper()}{svc.vendor.does[1:]}"
            reasons.append(_INFERRED)
        if "method" in by_role:
            values[by_role["method"]] = _method(svc)
            cites += [(i.path, i.line, i.line) for i in svc.imports[2:_SHOWN_FILES]]
        if svc.settings and "credentials" in by_role:
            values[by_role["credentials"]] = _settings(svc)
        if svc.settings and ({"credentials", "method"} & set(by_role)):
            cites += [(f.path, f.line, f.line) for f in svc.settings[:_SHOWN_FILES]]
        if "why" in by_role:
            filled = why_field(list(svc.vendor.names), index)
            if filled is not None:
                values[by_role["why"]] = filled.value
                cites += filled.spans
                reasons += filled.reasons or [_BY_NAME]
        values["_citations"] = list(dict.fromkeys(cites))
        values["_reasons"] = reasons
        items.append(values)
    return items


def _modules(svc: Service) -> str:
    return ", ".join(f"`{m}`" for m in svc.modules[:3])


def _method(svc: Service) -> str:
    """ "SDK `stripe`, imported in 3 files (`a.py`, `b.py`, ...); configured by `STRIPE_KEY`"."""
    files = sorted({i.path for i in svc.imports})
    shown = ", ".join(f"`{p}`" for p in files[:_SHOWN_FILES])
    more = ", ..." if len(files) > _SHOWN_FILES else ""
    count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
    text = f"SDK ({_modules(svc)}), imported in {count} ({shown}{more})"
    if svc.settings:
        text += f"; configured by {_settings(svc)}"
    return text


def _settings(svc: Service) -> str:
    names = [f"`{f.name}`" for f in svc.settings[:_SHOWN_FILES]]
    more = ", ..." if len(svc.settings) > _SHOWN_FILES else ""
    return f"environment variable{'s' if len(names) > 1 else ''} {', '.join(names)}{more}"
