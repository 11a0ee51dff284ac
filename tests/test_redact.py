"""Secrets never leave the machine: every secret value is redacted, whole, and nothing else is.

Secrets are generated here from pieces (a fixed seed), so the repository holds no live-looking key
for a scanner to flag. The false-positive corpus is real code from well-known projects, read from
the packages installed beside docagent (not copied here).
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import os
import random
import re
import sqlite3
import string
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.draft.run import DraftOptions, run_draft
from agent.ingest.file_kinds import classify, is_secret_file
from agent.ingest.index import build_index
from agent.ingest.index_cache import cache_dir
from agent.ingest.redact import redact
from tests.fake_llm import completion, fake, httpx

runner = CliRunner()
# In a URL's user name or password the marker is percent-encoded, so the URL still parses.
MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]|%5BREDACTED%3A[a-z0-9-]+%5D")
_rng = random.Random(14)
ALNUM = string.ascii_letters + string.digits


def _pick(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# Each secret as it appears in a file, built from pieces ("AK" + "IA" ...).
AWS_ID = "AK" + "IA" + _pick(string.ascii_uppercase + string.digits, 16)
AWS_ID_2 = "AK" + "IA" + _pick(string.ascii_uppercase + string.digits, 16)
AWS_SECRET = _pick(ALNUM, 18) + "/" + _pick(ALNUM, 10) + "+" + _pick(ALNUM, 10)
AWS_SECRET_2 = _pick(ALNUM, 12) + "/" + _pick(ALNUM, 27)
GITHUB = "gh" + "p_" + _pick(ALNUM, 36)
GITHUB_2 = "gh" + "p_" + _pick(ALNUM, 36)
OPENAI = "sk-" + "proj-" + _pick(ALNUM, 48)
SLACK = (
    "xo"
    + "xb-"
    + _pick(string.digits, 12)
    + "-"
    + _pick(string.digits, 13)
    + "-"
    + _pick(ALNUM, 24)
)
SLACK_2 = "xo" + "xp-" + _pick(string.digits, 12) + "-" + _pick(ALNUM, 32)
JWT = ".".join(
    [
        _b64url({"alg": "HS256", "typ": "JWT"}),
        _b64url({"sub": "deployer", "iat": 1700000000}),
        _pick(ALNUM + "-_", 43),
    ]
)
PEM_LINES = ["MII" + _pick(ALNUM + "+/", 61), *(_pick(ALNUM + "+/", 64) for _ in range(4)), "Zq=="]
GCP_KEY_LINES = ["MII" + _pick(ALNUM + "+/", 61), _pick(ALNUM + "+/", 64), _pick(ALNUM, 20) + "=="]
GCP_KEY = "\\n" + "\\n".join(GCP_KEY_LINES) + "\\n"  # as it stands inside the JSON string
BYTES_KEY = (
    "_5#y2L" + '"' + "F4Q8z\\n\\xec]/" + "".join(f"\\x{_rng.randrange(256):02x}" for _ in range(8))
)
PASSWORD_XML = "Tr0ub4dor&3" + _pick(ALNUM, 6)
PASSWORD_PSQL = "pg-" + _pick(ALNUM, 14) + "9"
PASSWORD_PROSE = "Kx7!" + _pick(ALNUM, 10)
PASSWORD_REDIS = _pick(ALNUM, 16)
PASSWORD_PG_URL = _pick(ALNUM, 14) + "7"
PASSWORD_CONN = "Az" + _pick(ALNUM, 14) + "1"
PASSWORD_BASIC = "deploy:" + _pick(ALNUM, 18)
BASIC = base64.b64encode(PASSWORD_BASIC.encode()).decode()
GITLAB_URL_TOKEN = _pick(ALNUM, 32)
DB_PASS = "prodOnly-" + _pick(ALNUM, 12)
ADMIN_PASSWORD = _pick(ALNUM, 10) + "!2"


# --- each reported miss and false positive ------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "line", "expected"),
    [
        pytest.param(
            "shell",
            f"aws configure set aws_secret_access_key {AWS_SECRET}",
            "aws configure set aws_secret_access_key [REDACTED:secret-assignment]",
            id="aws-configure-set",
        ),
        pytest.param(
            "markdown",
            f"    aws configure set aws_secret_access_key {AWS_SECRET}",
            "    aws configure set aws_secret_access_key [REDACTED:secret-assignment]",
            id="aws-configure-set-in-docs",
        ),
        pytest.param(
            "",
            f"deployer,,{AWS_ID},{AWS_SECRET},https://console.example.com",
            "deployer,,[REDACTED:aws-access-key-id],[REDACTED:aws-secret-access-key],"
            "https://console.example.com",
            id="csv-aws-key-pair",
        ),
        pytest.param(
            "xml",
            f"  <password>{PASSWORD_XML}</password>",
            "  <password>[REDACTED:secret-assignment]</password>",
            id="xml-password-element",
        ),
        pytest.param(
            "shell",
            f"psql --password {PASSWORD_PSQL} -h db -U app",
            "psql --password [REDACTED:secret-assignment] -h db -U app",
            id="psql-password-flag",
        ),
        pytest.param(
            "markdown",
            f"To log in by hand, the password is {PASSWORD_PROSE}.",
            "To log in by hand, the password is [REDACTED:secret-assignment].",
            id="prose-the-password-is",
        ),
        pytest.param(
            "yaml",
            f"REDIS_URL: redis://:{PASSWORD_REDIS}@cache:6379/0",
            "REDIS_URL: redis://:%5BREDACTED%3Aurl-password%5D@cache:6379/0",
            id="redis-url-without-user",
        ),
        pytest.param(
            "markdown",
            "redis://:pw@cache:6379/0",
            "redis://:%5BREDACTED%3Aurl-password%5D@cache:6379/0",
            id="redis-url-short-password",
        ),
        pytest.param(
            "shell",
            f'curl -H "Authorization: Basic {BASIC}" https://api.example.com/v1',
            'curl -H "Authorization: Basic [REDACTED:basic-auth]" https://api.example.com/v1',
            id="authorization-basic",
        ),
        pytest.param(
            "python",
            f'CONN = "Server=db;User Id=app;Password={PASSWORD_CONN};"',
            'CONN = "Server=db;User Id=app;Password=[REDACTED:secret-assignment];"',
            id="connection-string-password",
        ),
        pytest.param(
            "python",
            f"SECRET_KEY = b'{BYTES_KEY}'",
            "SECRET_KEY = b'[REDACTED:secret-assignment]'",
            id="bytes-literal-key-whole",
        ),
        pytest.param(
            "python",
            f'    password: str = "{ADMIN_PASSWORD}"',
            '    password: str = "[REDACTED:secret-assignment]"',
            id="annotated-default",
        ),
    ],
)
def test_reported_misses_are_redacted_value_only(language: str, line: str, expected: str) -> None:
    assert redact(line, language).text == expected


@pytest.mark.parametrize(
    "url",
    [
        f"git clone https://x-access-token:{GITHUB}@github.com/acme/infra.git",
        f"git clone https://{GITHUB}@github.com/acme/infra.git",
        f"git clone https://oauth2:{GITLAB_URL_TOKEN}@gitlab.example.com/acme/infra.git",
    ],
)
def test_a_token_in_a_clone_url_is_redacted_and_the_url_still_parses(url: str) -> None:
    redacted = redact(url, "shell").text
    before, after = urlsplit(url.split()[-1]), urlsplit(redacted.split()[-1])
    assert (after.scheme, after.hostname, after.path) == (
        before.scheme,
        before.hostname,
        before.path,
    )
    if before.password:
        assert after.username == before.username
        assert unquote(after.password or "") in (
            "[REDACTED:github-token]",
            "[REDACTED:url-password]",
        )
    else:
        assert unquote(after.username or "") == "[REDACTED:github-token]" and after.password is None
    assert len(MARKER.findall(redacted)) == 1 and redacted.count("@") == 1


@pytest.mark.parametrize("language", ["python", "", "markdown"])
@pytest.mark.parametrize(
    "line",
    [
        '    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")',
        "conn = connect(host, user=auth[0], password=auth[1])",
        'api_key = os.environ["OPENAI_API_KEY"]',
        "token = self._next_token()",
        "password = getpass.getpass()",
        "max_tokens = 4096",
        "    access_token: str | None = None",
        '    raise ValueError(f"Invalid token: {token!r}")',
        "Pass `region` to `bedrock(...)`, or set `AWS_REGION`.",
        'DATABASE_URL = f"postgres://{user}:{password}@{host}/app"',
    ],
)
def test_code_that_holds_no_literal_is_left_alone(line: str, language: str) -> None:
    assert redact(line, language) == (line, [])


def test_files_named_env_are_secret_files_and_never_read(tmp_path: Path) -> None:
    assert is_secret_file("deploy/prod.env") and is_secret_file("staging.env")
    assert is_secret_file(".env") and is_secret_file(".env.production")
    assert not is_secret_file(".env.example") and not is_secret_file("deploy/example.env")
    assert not is_secret_file("src/config.env.ts")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "prod.env").write_text(f"DB_PASS={DB_PASS}\n")
    (tmp_path / "deploy" / "example.env").write_text("DB_PASS=\n")
    idx = build_index(tmp_path)
    assert "deploy/prod.env" not in idx.records and "deploy/example.env" in idx.records
    assert "deploy/prod.env" in idx.stats.skipped_examples["secret file (never read)"]


# --- the planted-secret corpus, through the index, a draft and every file they write ------------


@dataclass
class Planted:
    """A file of the corpus and the exact secrets it holds (each as it stands in the text)."""

    text: str
    secrets: list[str] = field(default_factory=list)


PEM = "\n".join(PEM_LINES)
CORPUS: dict[str, Planted] = {
    "README.md": Planted(
        "# Deploy tools\n\nScripts and settings that deploy the billing service.\n"
        "See docs/operations.md for access.\n"
    ),
    "scripts/setup_aws.sh": Planted(
        "#!/bin/sh\n# Configure the deploy user's credentials.\n"
        f"aws configure set aws_access_key_id {AWS_ID}\n"
        f"aws configure set aws_secret_access_key {AWS_SECRET}\n"
        f"psql --password {PASSWORD_PSQL} -h db -U app -c 'select 1'\n"
        f"git clone https://x-access-token:{GITHUB_2}@github.com/acme/infra.git\n"
        f"git clone https://oauth2:{GITLAB_URL_TOKEN}@gitlab.example.com/acme/infra.git\n"
        f'curl -H "Authorization: Basic {BASIC}" https://api.example.com/v1/deploy\n',
        [AWS_ID, AWS_SECRET, PASSWORD_PSQL, GITHUB_2, GITLAB_URL_TOKEN, BASIC],
    ),
    "data/users.csv": Planted(
        "User name,Password,Access key ID,Secret access key,Console login link\n"
        f"deployer,,{AWS_ID_2},{AWS_SECRET_2},https://console.example.com\n",
        [AWS_ID_2, AWS_SECRET_2],
    ),
    "config/server.xml": Planted(
        "<datasource>\n  <username>billing</username>\n"
        f"  <password>{PASSWORD_XML}</password>\n</datasource>\n",
        [PASSWORD_XML],
    ),
    "deploy/compose.yaml": Planted(
        "services:\n  billing:\n    environment:\n"
        f"      SLACK_TOKEN: {SLACK}\n"
        f"      DATABASE_URL: postgres://billing:{PASSWORD_PG_URL}@db:5432/billing\n"
        f"      REDIS_URL: redis://:{PASSWORD_REDIS}@cache:6379/0\n",
        [SLACK, PASSWORD_PG_URL, PASSWORD_REDIS],
    ),
    "deploy/prod.env": Planted(f"DB_PASS={DB_PASS}\n", [DB_PASS]),  # never read
    "config/gcp_prod.json": Planted(
        json.dumps(
            {
                "type": "service_" + "account",
                "project_id": "billing-prod",
                "private_key": "-----BEGIN PRIVATE KEY-----\n"
                + "\n".join(GCP_KEY_LINES)
                + "\n-----END PRIVATE KEY-----\n",
                "client_email": "deployer@billing-prod.iam.gserviceaccount.com",
            },
            indent=2,
        )
        + "\n",
        [GCP_KEY],
    ),
    "docs/operations.md": Planted(
        "# Operations\n\n## Access\n\n"
        f"The database runs on db.internal; to log in by hand, the password is {PASSWORD_PROSE}.\n"
        "Call the admin API with a token:\n\n"
        f"```\ncurl -H 'Authorization: Bearer {JWT}' https://admin.example.com\n```\n\n"
        f"Alerts go to Slack with the bot token {SLACK_2}.\n",
        [PASSWORD_PROSE, JWT, SLACK_2],
    ),
    "src/billing/settings.py": Planted(
        '"""Settings of the billing service."""\n\nimport os\n\n'
        "from flask import Config, ConfigAttribute\n\n\n"
        "class Settings(Config):\n"
        '    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")\n\n\n'
        f"SECRET_KEY = b'{BYTES_KEY}'\n"
        f'OPENAI_API_KEY = "{OPENAI}"\n'
        f'GITHUB_TOKEN = "{GITHUB}"\n'
        f'ADMIN_PASSWORD = "{ADMIN_PASSWORD}"\n'
        f'CONNECTION = "Server=db;User Id=app;Password={PASSWORD_CONN};"\n'
        'FALLBACK_KEY = os.environ.get("FALLBACK_KEY")\n'
        "max_tokens = 4096\n\n\n"
        "def connect(host: str, auth: tuple[str, str]) -> object:\n"
        '    """Open a connection with the given (user, password)."""\n'
        "    return driver.connect(host, user=auth[0], password=auth[1])\n\n\n"
        'SIGNING_KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
        f"{PEM}\n"
        '-----END RSA PRIVATE KEY-----"""\n',
        [BYTES_KEY, OPENAI, GITHUB, ADMIN_PASSWORD, PASSWORD_CONN, *PEM_LINES],
    ),
}
COMMIT_MESSAGE = f"Rotate the deploy token\n\nThe old token {GITHUB_2} was revoked.\n"
ALL_SECRETS = [s for p in CORPUS.values() for s in p.secrets]


def _fragments(secret: str) -> set[str]:
    """The secret and its 12-character windows: a tail that survived redaction is a leak too."""
    if len(secret) <= 12:
        return {secret}
    return {secret} | {secret[i : i + 12] for i in range(0, len(secret) - 11, 3)}


FRAGMENTS = {f: s for s in ALL_SECRETS for f in _fragments(s)}


def _leaks(where: str, text: str) -> list[str]:
    views = {text, html.unescape(text), text.replace("\\\\", "\\")}
    return sorted({f"{where}: {FRAGMENTS[f][:6]}..." for f in FRAGMENTS for v in views if f in v})


def _expected_line(line: str, secrets: list[str]) -> re.Pattern[str]:
    """The line with each secret (and only it) replaced by one marker."""
    pattern = re.escape(line)
    for s in sorted(secrets, key=len, reverse=True):
        pattern = pattern.replace(re.escape(s), f"(?:{MARKER.pattern})")
    return re.compile(pattern)


def _corrupted(path: str, lines: list[str], first: int = 1) -> list[str]:
    """Lines that differ from the file other than by its secrets' values becoming markers."""
    original = CORPUS[path].text.split("\n")
    bad = []
    for n, got in enumerate(lines, start=first):
        want = original[n - 1]
        held = [s for s in CORPUS[path].secrets if s in want]
        if not _expected_line(want, held).fullmatch(got):
            bad.append(f"{path}:{n}: {got[:80]}")
    return bad


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "billing"
    for rel, planted in CORPUS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(planted.text, encoding="utf-8")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana",
        "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana",
        "GIT_COMMITTER_EMAIL": "dana@example.com",
        "GIT_AUTHOR_DATE": "2024-05-01T12:00:00",
        "GIT_COMMITTER_DATE": "2024-05-01T12:00:00",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", COMMIT_MESSAGE],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return root


def _evidence(prompt: str) -> Iterator[tuple[str, str, int, str]]:
    """(evidence id, path, line number, text) of every numbered evidence line in a prompt."""
    eid = path = ""
    for line in prompt.split("\n"):
        if m := re.match(r"\[(E\d+)\] (\S+?)(?::\d+-\d+)? \(", line):
            eid, path = m.group(1), m.group(2)
        elif eid and (m := re.match(r"(\d+)\| (.*)$", line)):
            yield eid, path, int(m.group(1)), m.group(2)


def _answer(schema: dict[str, Any], prompt: str) -> dict[str, Any]:
    """A model that repeats what it was shown: every value is a line of evidence that held a secret,
    so whatever the prompt carried lands in the document and the reports."""
    lines = list(_evidence(prompt))
    marked = [x for x in lines if MARKER.search(x[3])] or lines
    picks = iter(marked * 50)
    defs = schema.get("$defs", {})

    def make(node: dict[str, Any]) -> Any:
        if "$ref" in node:
            return make(defs[node["$ref"].split("/")[-1]])
        if "anyOf" in node:
            return make(next(n for n in node["anyOf"] if n.get("type") != "null"))
        if "enum" in node:
            return node["enum"][0]
        kind = node.get("type")
        if kind == "object":
            props = node.get("properties", {})
            out = {k: make(v) for k, v in props.items()}
            if {"evidence", "lines"} <= set(props):
                eid, _, n, text = next(picks)
                out.update(evidence=eid, lines=str(n))
                if "value" in out and isinstance(out["value"], str):
                    out["value"] = text.strip()[:150]
            return out
        if kind == "array":
            return [make(node.get("items", {}))]
        if kind in ("number", "integer"):
            return 0.9 if kind == "number" else 1
        if kind == "boolean":
            return True
        return next(picks)[3].strip()[:100]

    return dict(make(schema))


TEMPLATE = """# Access notes

## Secrets and access

- **Database access**: [How the service connects to its database and with which password]
- **Cloud credentials**: [Which AWS and GCP keys, tokens and private keys the deployment uses]
- **Third-party tokens**: [Slack, GitHub and OpenAI tokens, and the admin API's bearer token]
- **Signing keys**: [Which secret key and RSA private key sign sessions]
"""


def test_planted_secrets_never_leave_the_machine_and_no_line_is_corrupted(
    corpus: Path, tmp_path: Path, docagent_home: Path
) -> None:
    idx = build_index(corpus)
    read = sorted(p for p in CORPUS if p in idx.paths())
    leaks: list[str] = []
    corrupted: list[str] = []

    # The index: every line as the model sees it, every chunk, and the cache on disk.
    for path in read:
        corrupted += _corrupted(path, idx.file_lines(path) or [])
    for c in idx.chunks:
        leaks += _leaks(f"chunk {c.path}", c.text)
        if c.path in CORPUS:
            corrupted += _corrupted(c.path, c.text.split("\n"), c.start_line)
    commit = idx.commits[0]
    assert MARKER.search(commit.body) and "was revoked." in commit.body
    leaks += _leaks("commit", commit.message)
    for f in cache_dir(corpus).rglob("*"):
        if f.is_file():
            leaks += _leaks(f"cache {f.name}", f.read_bytes().decode("utf-8", "replace"))

    # A draft with a fake model that repeats its evidence back.
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        schema = body["response_format"]["json_schema"]["schema"]
        prompt = body["messages"][-1]["content"]
        return httpx.Response(200, json=completion(json.dumps(_answer(schema, prompt))))

    client, _ = fake(handler)
    template = tmp_path / "access.md"
    template.write_text(TEMPLATE)
    output = tmp_path / "out" / "ACCESS.md"
    outcome = run_draft(
        corpus,
        DraftOptions(template=str(template), output=output, evidence_tokens=30_000),
        client,
        index=idx,
    )
    assert 1 <= len(bodies) <= 4
    shown: set[str] = set()
    for body in bodies:
        text = "\n".join(m["content"] for m in body["messages"])
        leaks += _leaks("request", text + json.dumps(body))
        for _, path, n, line in _evidence(text):
            if not path.startswith("commit:"):
                shown.add(path)
                corrupted += _corrupted(path, [line], n)

    # Every file the draft wrote, and the call log.
    assert len(outcome.written) == 4
    for written in outcome.written:
        text = written.read_text(encoding="utf-8")
        leaks += _leaks(written.name, text)
        if written.suffix == ".json":
            leaks += _leaks(written.name, json.dumps(json.loads(text), ensure_ascii=False))
    assert MARKER.search(output.read_text()), "the fake model's values carried redacted lines"
    db = sqlite3.connect(docagent_home / "calls.db")
    for request, response in db.execute("SELECT request, response FROM calls"):
        leaks += _leaks("calls.db", json.dumps(json.loads(request), ensure_ascii=False))
        leaks += _leaks("calls.db", response or "")
    db.close()
    for f in docagent_home.rglob("*"):
        if f.is_file():
            leaks += _leaks(f"home {f.name}", f.read_bytes().decode("utf-8", "replace"))

    assert leaks == []
    assert corrupted == []
    assert read == sorted(set(CORPUS) - {"deploy/prod.env"})
    assert shown == set(read), "every planted file reached the model, redacted"


def test_index_show_redactions_lists_kind_and_place_never_the_value(corpus: Path) -> None:
    result = runner.invoke(app, ["index", str(corpus), "--show-redactions", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)["redacted"]
    assert _leaks("index --show-redactions --json", result.output) == []
    where = {(r["path"], r["line"]) for r in listed}
    expected = {
        (path, n)
        for path, planted in CORPUS.items()
        if path != "deploy/prod.env"
        for n, line in enumerate(planted.text.split("\n"), start=1)
        if any(s in line for s in planted.secrets)
    }
    # A multi-line private key is one secret, listed at its first line.
    pem_first = next(
        n
        for n, line in enumerate(CORPUS["src/billing/settings.py"].text.split("\n"), 1)
        if PEM_LINES[0] in line
    )
    expected = {e for e in expected if e[0] != "src/billing/settings.py" or e[1] <= pem_first}
    commit = next(r for r in listed if r["path"].startswith("commit:"))
    assert (commit["line"], commit["kind"]) == (3, "github-token")
    assert where - {(commit["path"], 3)} == expected
    kinds = {(r["path"], r["kind"]) for r in listed}
    assert ("data/users.csv", "aws-secret-access-key") in kinds
    assert ("config/gcp_prod.json", "private-key") in kinds
    assert ("docs/operations.md", "jwt") in kinds and (
        "deploy/compose.yaml",
        "slack-token",
    ) in kinds

    table = runner.invoke(app, ["index", str(corpus), "--show-redactions"])
    assert table.exit_code == 0
    assert "scripts/setup_aws.sh:4" in table.output and "secret-assignment" in table.output
    assert _leaks("index --show-redactions", table.output) == []
    assert "redacted" not in json.loads(runner.invoke(app, ["index", str(corpus), "--json"]).output)


def test_redacting_redacted_text_changes_nothing() -> None:
    for path, planted in CORPUS.items():
        language = classify(path)[1]
        once = redact(planted.text, language).text
        assert redact(once, language) == (once, []), path


# --- the false-positive corpus: real code from well-known projects ------------------------------


def _package_lines(package: str) -> Iterator[tuple[str, str, str]]:
    """(file:line, original, redacted) for every line of an installed package's source."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin, f"{package} is installed with docagent"
    root = Path(spec.origin).parent
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        redacted = redact(text, "python").text
        name = path.relative_to(root.parent).as_posix()
        for n, (a, b) in enumerate(zip(text.split("\n"), redacted.split("\n"), strict=True), 1):
            yield f"{name}:{n}", a, b


@pytest.mark.parametrize("package", ["rich", "openai", "typer"])
def test_real_code_without_secrets_is_left_alone(package: str) -> None:
    lines = changed = 0
    examples = []
    for where, a, b in _package_lines(package):
        lines += 1
        if a != b:
            changed += 1
            examples.append(f"{where}: {a.strip()[:100]}")
    assert lines > 10_000
    assert changed == 0, examples


def test_example_passwords_in_real_docs_are_redacted_as_values_only() -> None:
    """pydantic's SecretStr docs hold literal passwords (`password='IAmSensitive'`): those values are
    redacted, each whole and inside its own quotes; nothing else on those lines changes."""
    changed = [(where, a, b) for where, a, b in _package_lines("pydantic") if a != b]
    assert len(changed) <= 10, changed
    for where, original, redacted in changed:
        pattern = re.escape(redacted)
        for marker in set(MARKER.findall(redacted)):
            pattern = pattern.replace(re.escape(marker), r"([^'\"\s]+)")
        values = re.fullmatch(pattern, original)
        assert values, f"{where}: more than a value changed"
        for value in values.groups():
            assert re.search(
                rf"(password\w*=b?'|password\w*\": ?\"){re.escape(value)}['\"]", original
            ), f"{where}: {value[:4]}... is not a literal given for a password"
