"""Fields the repository model fills beyond the stack: third-party services (overview group and
component Integration Details), monitoring and message-queue fields, coding standards, the
component's Key Components table with CODEOWNERS owners, and the ASCII system diagram. Each value
is checked against what was planted, at its exact line."""

from __future__ import annotations

from pathlib import Path

from agent.document.templates import load_template
from agent.draft.static_answers import static_answers
from agent.draft.system_diagram import WIDTH
from agent.draft.value_checks import is_heading
from agent.ingest.index import build_index
from agent.ingest.repomodel import codeowners
from agent.ingest.repomodel.model import is_auxiliary

SHOP = {
    "pyproject.toml": '[project]\nname = "shop"\n'
    'dependencies = ["flask", "sqlalchemy", "psycopg", "celery", "stripe", "sentry-sdk", "redis"]\n'
    "\n[tool.ruff]\nline-length = 100\n",
    "shop/__init__.py": '"""Shop: a small store."""\n',
    "shop/app.py": "import sentry_sdk\nfrom flask import Flask\n\nfrom shop.billing import charge\n\n"
    'app = Flask(__name__)\n\n\n@app.route("/orders", methods=["POST"])\ndef create_order():\n'
    '    return charge()\n\n\n@app.get("/orders/<int:oid>")\ndef get_order(oid):\n'
    "    return oid\n\n\n@app.get(\"/health\")\ndef health():\n    return 'ok'\n",
    "shop/billing.py": '"""Charges customers."""\nimport os\n\nimport redis\nimport requests\nimport stripe\n\n'
    'stripe.api_key = os.environ["STRIPE_API_KEY"]\nTIMEOUT = os.environ.get("SHOP_TIMEOUT", "5")\n\n\n'
    "def charge():\n    return stripe.Charge.create()\n",
    "shop/storage.py": "from google.cloud import storage\n\n\ndef bucket():\n    return storage.Client()\n",
    "shop/config.py": '"""Settings read from the environment."""\nimport os\n\n\n'
    "class Settings:\n"
    '    """The shop\'s settings."""\n\n    debug = os.environ.get("SHOP_DEBUG")\n'
    '    google_login = os.environ.get("GOOGLE_CLIENT_ID")\n',
    "tests/test_llm.py": "import openai\n",
    "examples/worker/pyproject.toml": '[project]\nname = "w"\ndependencies = ["kafka-python"]\n',
    "docs/architecture.md": "# Architecture\n\n## Payments\n\n"
    "We use Stripe for payments because it handles card storage, so no card data reaches our "
    "servers.\n\n## Sign-in\n\nWe use Google sign-in because most customers have an account.\n",
    ".github/CODEOWNERS": "# owners\n* @shop/core\nshop/billing.py @shop/payments\n"
    "docs/* @shop/docs\n/vendor/\n",
}


def _index(tmp_path: Path, files: dict[str, str]):  # type: ignore[no-untyped-def]
    root = tmp_path / "repo"
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return build_index(root), root


def _line(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_third_party_services_from_the_sdks_the_code_imports(tmp_path: Path) -> None:
    index, root = _index(tmp_path, SHOP)
    answers = static_answers(load_template("architecture-overview"), index)
    group = answers["third-party-services-integrations.service"]
    items = {
        i["third-party-services-integrations.service.service-name"]: i for i in group.items or []
    }
    # Vendors only: Redis and the HTTP client are the system's own stack; a test's import is not
    # the system's.
    assert set(items) == {"Stripe", "Sentry", "Google Cloud Storage"}
    stripe = items["Stripe"]
    assert stripe["third-party-services-integrations.service.provider"] == "Stripe"
    method = stripe["third-party-services-integrations.service.integration-method"]
    assert method == (
        "SDK (`stripe`), imported in 1 file (`shop/billing.py`); configured by environment "
        "variable `STRIPE_API_KEY`"
    )
    cites = stripe["_citations"]
    assert isinstance(cites, list)
    assert ("shop/billing.py", _line(root, "shop/billing.py", "import stripe"), 6) in cites
    assert ("shop/billing.py", _line(root, "shop/billing.py", "STRIPE_API_KEY"), 8) in cites
    # The design doc's reason for the vendor, quoted and cited.
    why = stripe["third-party-services-integrations.service.why-this-service"]
    assert "handles card storage" in str(why)
    assert ("docs/architecture.md", 5, 5) in cites
    # What the service is for is the vendor's line of business: flagged for a human.
    assert stripe["_reasons"]
    gcs = items["Google Cloud Storage"]
    assert gcs["third-party-services-integrations.service.provider"] == "Google Cloud"
    # A sign-in setting and a reason for Google sign-in are not Cloud Storage's.
    assert "GOOGLE_CLIENT_ID" not in str(gcs)
    assert "third-party-services-integrations.service.why-this-service" not in gcs


def test_monitoring_queue_and_coding_standards_fields(tmp_path: Path) -> None:
    index, _ = _index(tmp_path, SHOP)
    answers = static_answers(load_template("architecture-overview"), index)
    monitoring = answers["technical-constraints-risks.performance-considerations.monitoring"]
    assert monitoring.value == "Sentry (sentry_sdk)"
    assert [(f.path, f.line) for f in monitoring.facts] == [("shop/app.py", 1)]
    assert monitoring.reasons  # inferred from an import: flagged
    queue = answers["system-events-event-architecture.event-infrastructure.event-bus-message-queue"]
    # Celery from the project's manifest; the example's Kafka is not the system's queue.
    assert queue.value == "Celery"
    assert queue.facts[0].path == "pyproject.toml"
    standards = answers["code-organization-conventions.code-style-conventions.coding-standards"]
    assert standards.value == "ruff (configured)"
    assert [(f.path, f.line) for f in standards.facts] == [("pyproject.toml", 5)]


def test_an_example_projects_queue_fills_nothing(tmp_path: Path) -> None:
    files = {k: v for k, v in SHOP.items() if k != "pyproject.toml"}
    files["pyproject.toml"] = '[project]\nname = "shop"\ndependencies = ["flask"]\n'
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    assert "system-events-event-architecture.event-infrastructure.event-bus-message-queue" not in (
        answers
    )


def test_codeowners_last_match_wins_and_dir_star_is_not_recursive(tmp_path: Path) -> None:
    index, _ = _index(tmp_path, SHOP)
    rules = codeowners.rules(index)
    assert [(r.pattern, r.owners, r.line) for r in rules] == [
        ("*", ("@shop/core",), 2),
        ("shop/billing.py", ("@shop/payments",), 3),
        ("docs/*", ("@shop/docs",), 4),
        ("/vendor/", (), 5),
    ]

    def owners(path: str) -> tuple[str, ...]:
        rule = codeowners.owner(rules, path)
        return rule.owners if rule else ()

    assert owners("shop/billing.py") == ("@shop/payments",)
    assert owners("shop/app.py") == ("@shop/core",)
    assert owners("docs/architecture.md") == ("@shop/docs",)
    assert owners("docs/adr/0001.md") == ("@shop/core",)  # `docs/*` owns docs' own files only
    assert owners("vendor/lib.py") == ()  # a pattern without owners leaves its paths unowned
    deep = codeowners.Rule("apps/*/src/*", ("@web",), "CODEOWNERS", 1)
    assert deep.matches("apps/web/src/a.ts") and not deep.matches("apps/web/src/x/a.ts")
    assert codeowners.Rule("**/logs/*", ("@ops",), "CODEOWNERS", 1).matches("a/b/logs/x.txt")


def test_component_key_components_integrations_and_diagram(tmp_path: Path) -> None:
    index, root = _index(tmp_path, SHOP)
    template = load_template("architecture-component")
    answers = static_answers(template, index, topic="billing")
    table = answers["architecture.key-components.key-components"]
    rows = table.rows or []
    assert rows[0]["component"] == "**`charge`** (`shop/billing.py`)"
    # It reads an environment variable, but only a settings file is "Configuration".
    assert rows[0]["type"] == "Function"
    assert rows[0]["technology"] == "Python"
    assert rows[0]["owner"] == "@shop/payments"
    assert ("shop/billing.py", 12, 12) in table.spans
    assert (".github/CODEOWNERS", 3, 3) in table.spans
    assert table.reasons  # which files make up a topic is a choice: flagged

    integration = answers["integration-details.integration-name"]
    (item,) = integration.items or []
    assert item["integration-details.integration-name.integration-name"] == "Stripe"
    assert item["integration-details.integration-name.service-name"] == "Stripe SDK (`stripe`)"
    assert item["integration-details.integration-name.credentials-location"] == (
        "environment variable `STRIPE_API_KEY`"
    )

    diagram = answers["architecture.system-diagram.system-diagram"]
    lines = diagram.value.split("\n")
    boxed = [line for line in lines if line.startswith(("┌", "│", "└"))]
    assert boxed and all(len(line) == WIDTH for line in boxed)
    text = diagram.value
    assert "3 HTTP routes" in text and "built on: Flask" in text
    assert "database: PostgreSQL" in text and "task queue: Celery" in text
    # A store named once: Google Cloud Storage is the storage, not also an "external" service.
    assert "storage: Google Cloud Storage (object storage)" in text
    assert "external: Sentry, Stripe" in text
    assert "CLIENT LAYER" not in text  # never the template's example
    assert ("shop/app.py", _line(root, "shop/app.py", '"/orders", methods'), 9) in [
        (p, s, e) for p, s, e in diagram.spans
    ]
    cited = " ".join(
        (root / path).read_text(encoding="utf-8").split("\n")[start - 1]
        for path, start, _ in diagram.spans
    )
    # Every name drawn is stated by a cited line.
    for name in ("psycopg", "celery", "flask", "app.route", "sentry_sdk", "stripe", "storage"):
        assert name in cited, name
    assert diagram.reasons


def test_mocks_and_tsx_tests_are_auxiliary() -> None:
    assert is_auxiliary("server/__mocks__/dd-trace.ts")
    assert is_auxiliary("app/components/Button.test.tsx")
    assert is_auxiliary("app/components/Button.spec.jsx")
    assert not is_auxiliary("app/components/Button.tsx")


def test_logging_auth_and_retry_from_declared_libraries(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "svc"\n'
        'dependencies = [\n  "structlog",\n  "tenacity>=8",\n  "PyJWT[crypto]",\n]\n',
        "svc/__init__.py": "",
        "go.mod": "module example.com/svc\n\ngo 1.22\n\nrequire (\n"
        "\tgithub.com/rs/zerolog v1.33.0\n\tgo.uber.org/zap v1.27.0 // indirect\n)\n",
        "main.go": 'package main\n\nimport "github.com/rs/zerolog"\n\nfunc main() { _ = zerolog.New }\n',
    }
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    logging = answers["code-organization-conventions.code-style-conventions.logging-conventions"]
    # An indirect Go requirement is a dependency's choice: zap is not the project's logger.
    assert logging.value == "zerolog (github.com/rs/zerolog), structlog"
    assert [(f.path, f.line) for f in logging.facts] == [("go.mod", 6), ("pyproject.toml", 4)]
    auth = answers[
        "security-compliance-architecture.authentication-authorization.authentication-method"
    ]
    assert auth.value == "JWT (PyJWT)" and auth.facts[0].line == 6
    retry = answers["integration-patterns-communication.error-handling-resilience.retry-logic"]
    assert retry.value == "tenacity" and retry.facts[0].line == 5
    # A library says which tool, not how the code uses it: each is for a human to confirm.
    assert all(a.reasons for a in (logging, auth, retry))


def test_only_a_documents_title_lines_are_a_heading() -> None:
    assert is_heading(["Hosting Platforms", "-----------------"], "docs/deploying/index.rst")
    assert is_heading(["## Deploying"], "docs/deploy.md")
    assert is_heading(["=====", "Title", "====="], "README.rst")
    # A title with its text, a sentence over a rule, a code comment: values, not headings.
    assert not is_heading(["## Caching", "We use Redis for sessions."], "docs/a.md")
    assert not is_heading(["Deploying is easy.", "-----"], "docs/a.md")
    assert not is_heading(["# Use Redis for the session cache"], "shop/cache.py")


def test_from_imports_name_the_submodules_they_import() -> None:
    from agent.ingest.repomodel.integrations import integrations

    lines = [
        "from google.cloud import bigquery, storage as gcs",
        "from azure.identity import DefaultAzureCredential",
        "from stripe import Charge",
    ]
    found = {(i.provider, i.module, i.line) for i in integrations("a.py", lines, "python")}
    assert found == {
        ("Google Cloud", "google.cloud.bigquery", 1),
        ("Google Cloud Storage", "google.cloud.storage", 1),
        ("Azure", "azure.identity", 2),
        ("Stripe", "stripe", 3),
    }


def test_component_dependencies_and_owner_from_imports_and_codeowners(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["shop/models.py"] = (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
        'Base = declarative_base()\n\n\nclass Charge(Base):\n    __tablename__ = "charges"\n'
        "    id = Column(Integer, primary_key=True)\n"
    )
    files["shop/billing.py"] = files["shop/billing.py"].replace(
        "import stripe\n", "import stripe\n\nfrom shop.models import Charge\n"
    )
    index, root = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-component"), index, topic="billing")
    owner = answers["owner"]
    assert owner.value == "@shop/payments" and owner.spans == [(".github/CODEOWNERS", 3, 3)]
    up = answers["dependencies.upstream-dependencies.architecture-service"]
    at = _line(root, "shop/billing.py", "from shop.models")
    assert up.value == "`shop/models.py` - imported by `shop/billing.py`"
    assert up.spans == [("shop/billing.py", at, at)]
    external = answers["dependencies.upstream-dependencies.external-service"]
    assert external.value == "Stripe - SDK imported in `shop/billing.py`"
    down = answers["dependencies.downstream-dependencies.service"]
    at = _line(root, "shop/app.py", "from shop.billing")
    assert down.value == "`shop/app.py` - `shop/app.py` imports `shop/billing.py`"
    assert down.spans == [("shop/app.py", at, at)]
    # billing.py defines no table: the database is not its dependency by a word of its path.
    assert "dependencies.upstream-dependencies.database" not in answers
    assert all(a.reasons for a in (owner, up, external, down))


def test_directory_structure_names_what_each_top_directory_holds(tmp_path: Path) -> None:
    index, _ = _index(tmp_path, SHOP)
    answers = static_answers(load_template("architecture-overview"), index)
    layout = answers[
        "code-organization-conventions.file-structure-naming-conventions.directory-structure"
    ]
    parts = layout.value.split(" · ")
    assert parts[0] == "`shop/` (Python code, 5 files)"  # the largest first
    assert set(parts[1:]) == {
        "`docs/` (documentation, 1 file)",
        "`examples/` (examples, 1 file)",
        "`tests/` (tests, 1 file)",
    }
    assert layout.spans and layout.spans[0][0].startswith("shop/")
    assert layout.reasons


def test_relational_data_names_the_most_referenced_tables(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["sqlalchemy"]\n',
        "shop/models.py": "from sqlalchemy import Column, ForeignKey, Integer\n"
        "from shop import models\n\n\n"
        'class Order(Base):\n    __tablename__ = "orders"\n'
        '    customer_id = Column(Integer, ForeignKey("customers.id"))\n\n\n'
        'class Customer(Base):\n    __tablename__ = "customers"\n    note = models.Note\n\n\n'
        'class Invoice(Base):\n    __tablename__ = "invoices"\n'
        '    customer_id = Column(Integer, ForeignKey("customers.id"))\n',
        "shop/fixtures.py": 'class Demo(Base):\n    __tablename__ = "demo_rows"\n',
    }
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    data = answers["data-architecture-storage.data-storage-patterns.relational-data"]
    # Two foreign keys point at customers: it comes first. A body that mentions `models.Note` is no
    # Django model; test data kept in a package is not the system's schema.
    assert data.value == "3 tables (SQLAlchemy models, e.g. `customers`, `orders`, `invoices`)"
    assert [(f.path, f.line) for f in data.facts] == [("shop/models.py", 10)]


def test_migration_strategy_names_the_history_the_tree_keeps(tmp_path: Path) -> None:
    files = dict(SHOP)
    # Alembic's head is the revision no other one revises, whatever the file names sort to.
    files["shop/migrations/versions/ff_init.py"] = 'revision = "ff"\ndown_revision = None\n'
    files["shop/migrations/versions/a2_charges.py"] = (
        '"""Charges."""\nrevision = "a2"\ndown_revision = "ff"\n'
    )
    files["shop/migrations/versions/__init__.py"] = ""
    files["tests/migrations/versions/t1.py"] = 'revision = "t1"\n'  # test data: not counted
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    strategy = answers["data-architecture-storage.database-design-patterns.migration-strategy"]
    assert strategy.value == "Alembic revisions: 2 migrations in `shop/migrations/versions/`"
    assert strategy.spans == [("shop/migrations/versions/a2_charges.py", 2, 2)]
    assert strategy.reasons


def test_django_and_flyway_histories() -> None:
    from agent.draft.migrations import migration_history

    class Index:
        def __init__(self, files: dict[str, str]) -> None:
            self.files = files
            self.records = dict.fromkeys(files)
            self.facts: list[object] = []

        def file_lines(self, path: str) -> list[str]:
            return self.files[path].split("\n")

    django = "from django.db import migrations\n"
    apps = {
        **{f"orders/migrations/000{n}_x.py": django for n in (1, 2, 3)},
        **{f"users/migrations/000{n}_x.py": django for n in (1, 2)},
        "ops/migrations/2024_cleanup.py": "import os\n",  # not Django's
    }
    found = migration_history(Index(apps))  # type: ignore[arg-type]
    assert found is not None
    assert found[0] == "Django migrations: 5 migrations in 2 folders (e.g. `orders/migrations/`)"
    flyway = {f"db/V{n}__step.sql": "select 1;" for n in (1, 9, 11)}
    found = migration_history(Index(flyway))  # type: ignore[arg-type]
    assert found is not None and found[1] == [("db/V11__step.sql", 1, 1)]


def test_roadmaps_by_name_not_every_file_with_todo_in_it() -> None:
    from agent.draft.value_checks import is_plans_doc

    assert is_plans_doc("docs/roadmap.md") and is_plans_doc("TODO.md")
    assert is_plans_doc("docs/roadmap/2025.md") and is_plans_doc("docs/future-work.rst")
    for innocent in ("src/todo_app.py", "docs/futures.md", "docs/mastodon.md", "autodoc.py"):
        assert not is_plans_doc(innocent), innocent


def test_type_hints_webhooks_and_workspace_structure(tmp_path: Path) -> None:
    files = dict(SHOP)
    files["pyproject.toml"] = SHOP["pyproject.toml"] + "\n[tool.mypy]\nstrict = true\n"
    files["tsconfig.json"] = '{\n  "compilerOptions": {\n    "strict": true\n  }\n}\n'
    files["shop/hooks.py"] = (
        "from flask import Blueprint\n\nbp = Blueprint('hooks', __name__)\n\n\n"
        '@bp.post("/webhooks/stripe")\ndef stripe_hook():\n    return ""\n'
    )
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    hints = answers["code-organization-conventions.code-style-conventions.type-hints"]
    assert hints.value == "mypy, TypeScript strict mode"
    assert [(f.path, f.line) for f in hints.facts] == [("pyproject.toml", 8), ("tsconfig.json", 3)]
    hooks = answers[
        "integration-patterns-communication.external-integration-patterns.webhook-handling"
    ]
    assert hooks.value == "1 webhook route (e.g. `POST /webhooks/stripe`)"
    assert [(f.path, f.line) for f in hooks.facts] == [("shop/hooks.py", 6)]
    # One package, no workspace: the structure is left to the model (or a human).
    assert (
        "code-organization-conventions.file-structure-naming-conventions.package-module-structure"
        not in answers
    )


def test_a_cargo_workspace_is_the_package_structure(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["lib", "cli"]\n',
        "lib/Cargo.toml": '[package]\nname = "demo-lib"\n',
        "lib/src/lib.rs": "pub fn answer() -> u32 { 42 }\n",
        "cli/Cargo.toml": '[package]\nname = "demo-cli"\n\n[dependencies]\ndemo-lib = { path = "../lib" }\n',
        "cli/src/main.rs": 'fn main() { println!("{}", demo_lib::answer()); }\n',
    }
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-overview"), index)
    structure = answers[
        "code-organization-conventions.file-structure-naming-conventions.package-module-structure"
    ]
    assert structure.value == "Cargo workspace of 2 members (`demo-lib`, `demo-cli`)"
    assert [(f.path, f.line) for f in structure.facts] == [("Cargo.toml", 2)]
    assert structure.reasons


def test_tool_configs_and_directory_words_do_not_make_a_topic(tmp_path: Path) -> None:
    from agent.draft.structural import topic_files, topic_tables

    files = dict(SHOP)
    files["babel.config.js"] = "module.exports = { presets: [] };\n"
    files["server/models/user.py"] = (
        'class User(Base):\n    __tablename__ = "users"\n    id = Column(Integer)\n'
    )
    index, _ = _index(tmp_path, files)
    assert "babel.config.js" not in topic_files(index, "configuration")
    assert "shop/config.py" in topic_files(index, "configuration")
    # `server/` in a table's path does not make it part of a "server configuration" topic.
    assert topic_tables(index, "server configuration") == []
    assert [t.name for t in topic_tables(index, "users")] == ["users"]


def test_go_files_are_imported_as_their_package(tmp_path: Path) -> None:
    files = {
        "go.mod": "module example.com/svc\n\ngo 1.22\n",
        "store/cache.go": "package store\n\n// Cache keeps recent rows.\ntype Cache struct{}\n",
        "store/db.go": "package store\n\n// Open opens the database.\nfunc Open() error { return nil }\n",
        "api/server.go": 'package api\n\nimport "example.com/svc/store"\n\n'
        "func Serve() error { return store.Open() }\n",
    }
    index, _ = _index(tmp_path, files)
    answers = static_answers(load_template("architecture-component"), index, topic="cache")
    down = answers["dependencies.downstream-dependencies.service"]
    # api/server.go imports the package, not store/cache.go: said as it is.
    assert down.value == "`api/` - `api/server.go` imports package `store/`"
    assert down.spans == [("api/server.go", 3, 3)]
