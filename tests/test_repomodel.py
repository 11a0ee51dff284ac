"""The repository model on planted repositories in Python, TypeScript, Go and Rust: the
components, edges, routes, commands, tables and foreign keys found are exactly the planted ones,
each at the line that states it; diagrams are valid by construction."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from agent.document.templates import load_template
from agent.draft.static_answers import static_answers
from agent.ingest.index import build_index
from agent.ingest.repomodel.datamodel import tables
from agent.ingest.repomodel.interfaces import interfaces
from agent.ingest.repomodel.mermaid import component_graph, er_diagram, label
from agent.ingest.repomodel.model import RepoModel
from agent.ingest.repomodel.symbols import symbols
from tests import mermaid_parser

runner = CliRunner()

PYTHON = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["flask", "sqlalchemy", "celery", "click"]\n'
    '\n[project.scripts]\nshop = "shop.cli:main"\n',
    "shop/__init__.py": '"""Shop: a small store."""\n',
    "shop/app.py": "from flask import Flask\n\nfrom shop.models import Order\n\napp = Flask(__name__)\n\n\n"
    '@app.route("/orders", methods=["POST"])\ndef create_order():\n    return Order()\n\n\n'
    '@app.get("/orders/<int:order_id>")\ndef get_order(order_id):\n    return Order()\n',
    "shop/models.py": '"""Tables of the shop."""\n'
    "from sqlalchemy import Column, ForeignKey, Integer, String\n"
    "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
    'class Customer(Base):\n    __tablename__ = "customers"\n'
    "    id = Column(Integer, primary_key=True)\n    name = Column(String)\n\n\n"
    'class Order(Base):\n    __tablename__ = "orders"\n'
    "    id = Column(Integer, primary_key=True)\n"
    '    customer_id = Column(Integer, ForeignKey("customers.id"))\n',
    "shop/cli.py": "import click\n\n\n@click.group()\ndef main():\n    pass\n\n\n"
    "@main.command()\ndef import_orders():\n    pass\n",
    "shop/tasks.py": "from celery import shared_task\n\n\n@shared_task\ndef send_receipt(order_id):\n"
    "    return order_id\n",
    "tests/test_app.py": 'from shop.app import app\n\n\n@app.route("/only-in-tests")\ndef t():\n    pass\n',
}

TYPESCRIPT = {
    "package.json": '{"name": "web", "dependencies": {"express": "^4.0.0", "typeorm": "^0.3.0"}}\n',
    "src/server.ts": 'import express from "express";\nimport { User } from "./entities/User";\n\n'
    "const app = express();\n"
    'app.get("/users", (req, res) => res.json([new User()]));\n'
    'app.post("/users/:id/posts", (req, res) => res.end());\n',
    "src/entities/User.ts": 'import { Entity, Column, PrimaryGeneratedColumn } from "typeorm";\n\n'
    '@Entity("users")\nexport class User {\n  @PrimaryGeneratedColumn()\n  id: number;\n\n'
    "  @Column()\n  name: string;\n}\n",
    "src/entities/Post.ts": 'import { Entity, Column, ManyToOne } from "typeorm";\n'
    'import { User } from "./User";\n\n'
    '@Entity("posts")\nexport class Post {\n  @Column()\n  title: string;\n\n'
    "  @ManyToOne(() => User)\n  author: User;\n}\n",
}

GO = {
    "go.mod": "module example.com/svc\n\ngo 1.22\n",
    "cmd/svc/main.go": 'package main\n\nimport (\n\t"net/http"\n\n\t"example.com/svc/store"\n)\n\n'
    'func main() {\n\ts := store.New()\n\thttp.HandleFunc("/health", s.Health)\n'
    '\thttp.HandleFunc("/items", s.Items)\n\thttp.ListenAndServe(":8080", nil)\n}\n',
    "cmd/svc/root.go": 'package main\n\nimport "github.com/spf13/cobra"\n\n'
    'var rootCmd = &cobra.Command{\n\tUse: "serve",\n}\n',
    "store/store.go": '// Package store keeps the items.\npackage store\n\nimport "net/http"\n\n'
    "// Store holds items.\ntype Store struct{}\n\n// New opens a store.\nfunc New() *Store { return &Store{} }\n\n"
    "func (s *Store) Health(w http.ResponseWriter, r *http.Request) {}\n\n"
    "func (s *Store) Items(w http.ResponseWriter, r *http.Request) {}\n",
    "migrations/001_init.sql": "CREATE TABLE owners (\n  id INTEGER PRIMARY KEY,\n  name TEXT\n);\n\n"
    "CREATE TABLE items (\n  id INTEGER PRIMARY KEY,\n  owner_id INTEGER REFERENCES owners(id)\n);\n",
}

RUST = {
    "Cargo.toml": '[workspace]\nmembers = ["core", "cli"]\n',
    "core/Cargo.toml": '[package]\nname = "demo-core"\nversion = "0.1.0"\n',
    "core/src/lib.rs": "//! The demo core library.\npub mod store;\n",
    "core/src/store.rs": "/// Where everything is kept.\npub struct Store {}\n\n"
    "impl Store {\n    pub fn open() -> Self {\n        Store {}\n    }\n}\n",
    "cli/Cargo.toml": '[package]\nname = "demo-cli"\nversion = "0.1.0"\n\n[dependencies]\n'
    'demo-core = { path = "../core" }\nclap = "4"\naxum = "0.7"\n',
    "cli/src/main.rs": "use demo_core::store::Store;\n\n#[derive(clap::Subcommand)]\nenum Command {\n"
    "    Init,\n    LogShow,\n}\n\nfn main() {\n    let _store = Store::open();\n"
    '    let _app = Router::new().route("/status", get(status));\n}\n',
}


def _repo(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _model(tmp_path: Path, files: dict[str, str]) -> tuple[RepoModel, Path]:
    root = _repo(tmp_path / "repo", files)
    return build_index(root).model, root


def _line(root: Path, path: str, needle: str) -> int:
    lines = (root / path).read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_python_routes_commands_tasks_and_tables(tmp_path: Path) -> None:
    model, root = _model(tmp_path, PYTHON)
    found = {(i.kind, i.name, i.path, i.line) for i in model.interfaces}
    assert found == {
        ("http", "POST /orders", "shop/app.py", _line(root, "shop/app.py", "app.route")),
        (
            "http",
            "GET /orders/<int:order_id>",
            "shop/app.py",
            _line(root, "shop/app.py", "app.get"),
        ),
        ("cli", "main", "shop/cli.py", _line(root, "shop/cli.py", "def main")),
        ("cli", "import-orders", "shop/cli.py", _line(root, "shop/cli.py", "def import_orders")),
        ("task", "send_receipt", "shop/tasks.py", _line(root, "shop/tasks.py", "def send_receipt")),
    }
    tables = {t.name: t for t in model.tables}
    assert set(tables) == {"customers", "orders"}
    assert [c for c, _ in tables["orders"].columns] == ["id", "customer_id"]
    fk_line = _line(root, "shop/models.py", "ForeignKey(")
    assert tables["orders"].foreign_keys == [("customer_id", "customers", fk_line)]
    assert tables["customers"].line == _line(root, "shop/models.py", "class Customer")
    # The app module imports the models module: an edge between the two components.
    comps = {c.path: c for c in model.components}
    assert "shop/models.py" in comps["shop/app.py"].depends_on
    assert {i.provider for i in model.integrations} == {"Celery"}


def test_typescript_routes_and_entities(tmp_path: Path) -> None:
    model, root = _model(tmp_path, TYPESCRIPT)
    assert {(i.kind, i.name) for i in model.interfaces} == {
        ("http", "GET /users"),
        ("http", "POST /users/:id/posts"),
    }
    tables = {t.name: t for t in model.tables}
    assert set(tables) == {"users", "posts"}
    assert [c for c, _ in tables["users"].columns] == ["id", "name"]
    assert tables["posts"].foreign_keys == [
        ("author", "User", _line(root, "src/entities/Post.ts", "author: User"))
    ]


def test_go_handlers_commands_and_sql_tables(tmp_path: Path) -> None:
    model, root = _model(tmp_path, GO)
    assert {(i.kind, i.name, i.line) for i in model.interfaces} == {
        ("http", "/health", _line(root, "cmd/svc/main.go", '"/health"')),
        ("http", "/items", _line(root, "cmd/svc/main.go", '"/items"')),
        ("cli", "serve", _line(root, "cmd/svc/root.go", "Use:")),
    }
    tables = {t.name: t for t in model.tables}
    assert set(tables) == {"owners", "items"}
    assert [c for c, _ in tables["items"].columns] == ["id", "owner_id"]
    ref = _line(root, "migrations/001_init.sql", "REFERENCES")
    assert tables["items"].foreign_keys == [("owner_id", "owners", ref)]
    comps = {c.path: c for c in model.components}
    assert "store" in comps["cmd"].depends_on
    assert comps["store"].summary == "Package store keeps the items."
    kinds = {f.kind: f for f in model.facts}
    assert kinds["web-framework"].name.startswith("Go standard library net/http")


def test_rust_workspace_crates_subcommands_and_routes(tmp_path: Path) -> None:
    model, root = _model(tmp_path, RUST)
    assert {(i.kind, i.name) for i in model.interfaces} == {
        ("cli", "init"),
        ("cli", "log-show"),
        ("http", "GET /status"),
    }
    comps = {c.path: c for c in model.components}
    assert set(comps) == {"core", "cli"}
    assert comps["cli"].package == "demo-cli"
    assert "core" in comps["cli"].depends_on
    assert [d.name for d in comps["core"].definitions] == ["Store"]
    style = next(f for f in model.facts if f.kind == "architecture-style")
    assert style.name.startswith("Modular workspace of 2 member packages/crates")
    assert style.citation == f"Cargo.toml:{_line(root, 'Cargo.toml', 'members')}"


def test_generated_and_unparsable_files_are_skipped_with_a_count(tmp_path: Path) -> None:
    files = dict(PYTHON)
    files["shop/bundle.min.js"] = "var a=1;" * 400 + "\n"
    files["shop/broken.py"] = "def (:\n  class ]]]\n"
    files["shop/gen.go"] = "// Code generated by protoc. DO NOT EDIT.\npackage shop\n"
    files["shop/legacy.rb"] = "class Legacy\nend\n"
    # A library copied in under its release's name is not the project's code.
    files["shop/static/cm-editor-6.0.1.js"] = "export function editorFromTextArea() {}\n"
    files["shop/static/app-v2.js"] = "export function start() {}\n"
    root = _repo(tmp_path / "repo", files)
    index = build_index(root)
    assert index.stats.skipped["generated or minified"] == 3
    assert "shop/static/app-v2.js" in index.paths()
    model = index.model
    assert model.skipped == {
        "no tree-sitter grammar (ruby)": 1,
        "parsed with syntax errors (what could be read is kept)": 1,
    }
    assert len(model.tables) == 2  # the broken file neither crashed nor added anything


def test_structure_fills_stack_fields_with_exact_citations(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo", PYTHON)
    index = build_index(root)
    template = load_template("architecture-overview")
    answers = static_answers(template, index)
    style = answers[
        "system-architecture-service-decomposition.high-level-architecture.architecture-style"
    ]
    comm = answers[
        "system-architecture-service-decomposition.high-level-architecture.communication-patterns"
    ]
    assert style.value == (
        "Monolithic web application (one codebase serving 2 HTTP routes, e.g. `POST /orders`)"
    )
    assert comm.value == (
        "Synchronous HTTP request/response (2 routes, e.g. `POST /orders`), "
        "Asynchronous jobs over Celery (1 task or queue)"
    )
    patterns = "system-architecture-service-decomposition.service-communication-patterns"
    sync = answers[f"{patterns}.synchronous-communication"]
    asyn = answers[f"{patterns}.asynchronous-communication"]
    assert sync.value.startswith("Synchronous HTTP") and asyn.value.startswith("Asynchronous jobs")
    # Inferred from structure: shown, and flagged for a human.
    assert comm.reasons and style.reasons
    cited = {f.citation for f in comm.facts}
    route_line = _line(root, "shop/app.py", "app.route")
    assert f"shop/app.py:{route_line}" in cited


def test_map_command_json_and_mermaid(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo", GO)
    out_dir = tmp_path / "diagrams"
    result = runner.invoke(app, ["map", str(root), "--json", "--mermaid", str(out_dir)])
    assert result.exit_code == 0, result.output
    assert '"interfaces"' in result.output and '"owners"' in result.output
    er = (out_dir / "er.mmd").read_text(encoding="utf-8")
    assert '"items" }o--|| "owners"' in er
    assert (out_dir / "components.mmd").read_text(encoding="utf-8").startswith("flowchart LR")
    bad = runner.invoke(app, ["map", str(root), "--mermaid", str(root / "go.mod")])
    assert bad.exit_code == 2 and "--mermaid" in bad.output


_NODE = re.compile(r'^    c\d+\["(?:[^"\[\]{}<>|`#]|#\w+;)*"\]$')
_EDGE = re.compile(r"^    c\d+ --> c\d+$")


def test_mermaid_escapes_every_name(tmp_path: Path) -> None:
    nasty = dict(GO)
    nasty['we"ird]dir/x.go'] = (
        'package weird\n\nimport "example.com/svc/store"\n\nvar _ = store.New\n'
    )
    model, _ = _model(tmp_path, nasty)
    graph = component_graph(model.components).rstrip("\n").split("\n")
    assert graph[0] == "flowchart LR"
    assert all(_NODE.match(line) or _EDGE.match(line) for line in graph[1:]), graph
    assert label('a "b" <c>') == '"a #quot;b#quot; #lt;c#gt;"'
    er = er_diagram(model.tables)
    assert all(
        re.match(
            r"^(erDiagram|    \"\w+\" \{|        col \w+|    \}|    \"\w+\" \}o--\|\| \"\w+\" : \"[^\"]*\")$",
            ln,
        )
        for ln in er.rstrip("\n").split("\n")
    ), er


def test_component_document_locations_and_schema_from_the_model(tmp_path: Path) -> None:
    files = dict(GO)
    files["config/config.go"] = (
        '// Package config reads the settings.\npackage config\n\nimport "os"\n\n'
        '// Load reads the environment.\nfunc Load() string { return os.Getenv("SVC_ADDR") }\n'
    )
    root = _repo(tmp_path / "repo", files)
    index = build_index(root)
    template = load_template("architecture-component")
    config = static_answers(template, index, topic="configuration")
    rows = config["code-locations.backend-api.backend-api"].rows
    assert rows is not None
    assert [r["location_s"] for r in rows] == ["`config/config.go`"]
    assert rows[0]["type"] == "Configuration" and rows[0]["notes"].startswith("`Load` (function)")
    assert config["code-locations.backend-api.backend-api"].reasons  # flagged: a choice
    # A topic that names the tables gets their ER diagram and their own DDL.
    schema = static_answers(template, index, topic="items and owners")
    er = schema["database-schema.relationships.relationships-mermaid"]
    assert er.value.startswith("erDiagram") and '"items" }o--|| "owners"' in er.value
    sql = schema["database-schema.core-models-tables.sql-postgresql-supabase-drizzle"]
    assert sql.value.split("\n")[0] == "CREATE TABLE owners ("
    assert sql.spans[0] == ("migrations/001_init.sql", 1, 4)
    # No Prisma schema here: that block stays for the model or a human.
    assert "database-schema.core-models-tables.prisma" not in schema


ROUTES = [
    (
        "python",
        "shop/urls.py",
        'urlpatterns = [path("orders/<int:pk>/", views.order)]',
        "/orders/<int:pk>/",
    ),
    ("python", "shop/routes.py", 'config.add_route("order", "/orders/{id}")', "/orders/{id}"),
    ("python", "shop/app.py", 'app.router.add_route("GET", "/items", handler)', "GET /items"),
    ("python", "shop/app.py", 'routes = [Route("/health", endpoint=health)]', "/health"),
    ("go", "srv/main.go", 'r.GET("/users/:id", getUser)', "GET /users/:id"),
    ("go", "srv/main.go", 'r.Delete("/users/{id}", deleteUser)', "DELETE /users/{id}"),
    ("rust", "srv/main.rs", '#[get("/users")]', "GET /users"),
    ("java", "Api.java", '    @PostMapping("/orders")', "POST /orders"),
]


def test_route_patterns_of_each_framework() -> None:
    for language, path, line, expected in ROUTES:
        found = [i.name for i in interfaces(path, [line], language, [])]
        assert found == [expected], (path, line, found)
    # Next.js: the file is the route.
    assert [i.name for i in interfaces("app/api/users/route.ts", [""], "ts", [])] == ["/api/users"]
    assert interfaces("server/app/helpers/myroute.ts", [""], "ts", []) == []
    # An HTTP client's call and an Express setting are not routes.
    client = ['export const getUsers = () => api.get("/users");', 'app.get("env");']
    assert interfaces("src/api.ts", client, "ts", []) == []


def test_python_route_decorators_each_at_its_line() -> None:
    text = (
        "@limiter.limit('5/minute')\n@app.route('/a')\n@app.route('/b', methods=['POST'])\n"
        "def view():\n    pass\n\n\n@mock.patch('os.getcwd')\ndef helper():\n    pass\n"
    )
    syms, _ = symbols("shop/views.py", text, "python")
    found = [
        (i.name, i.line) for i in interfaces("shop/views.py", text.split("\n"), "python", syms)
    ]
    assert found == [("/a", 2), ("POST /b", 3)]


def test_ddl_dialects_and_exact_lines() -> None:
    sql = [
        "CREATE TABLE t (",
        "  user_id INT REFERENCES users(id),",
        "  id INT PRIMARY KEY,",
        "  note TEXT DEFAULT ')',",
        "  org_id INT,",
        "  FOREIGN KEY (org_id) REFERENCES orgs(id)",
        ");",
        "CREATE TABLE [dbo].[people] ([id] int);",
        "CREATE TABLE `m` (`id` int NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;",
    ]
    found = {t.name: t for t in tables("db.sql", sql, "sql", [])}
    assert set(found) == {"t", "people", "m"}
    assert found["t"].columns == [("user_id", 2), ("id", 3), ("note", 4), ("org_id", 5)]
    assert found["t"].foreign_keys == [("user_id", "users", 2), ("org_id", "orgs", 6)]


def test_orm_models_django_sqlalchemy_typescript() -> None:
    py = (
        "class Base(models.Model):\n    x = models.CharField()\n\n    class Meta:\n"
        "        abstract = True\n\n\nclass Post(models.Model):\n    title = models.CharField()\n"
        '    author = models.ForeignKey(\n        "auth.User", on_delete=models.CASCADE)\n\n'
        '    class Meta:\n        db_table = "blog_posts"\n\n\nclass Order(Base):\n'
        '    __tablename__ = "orders"\n    items: Mapped[list["Item"]] = relationship()\n'
        '    org_id = Column(\n        Integer,\n        ForeignKey("public.orgs.id"),\n    )\n'
    )
    syms, _ = symbols("m.py", py, "python")
    found = {t.name: t for t in tables("m.py", py.split("\n"), "python", syms)}
    assert set(found) == {"blog_posts", "orders"}
    assert found["blog_posts"].foreign_keys == [("author", "User", 10)]
    assert found["orders"].columns == [("org_id", 20)]
    assert found["orders"].foreign_keys == [("org_id", "orgs", 20)]
    ts = (
        '@Table({ tableName: "users" })\nclass User extends Model {\n  @Length({\n    max: 255,\n'
        "  })\n  @Column\n  name: string;\n\n  @Column(DataType.JSONB) flags: object;\n\n"
        "  @ForeignKey(() => Team)\n  @Column(DataType.UUID)\n  teamId: string;\n\n  helper: string;\n}\n"
    )
    syms, _ = symbols("u.ts", ts, "ts")
    (user,) = tables("u.ts", ts.split("\n"), "ts", syms)
    assert user.columns == [("name", 7), ("flags", 9), ("teamId", 13)]
    assert user.foreign_keys == [("teamId", "Team", 13)]


def test_java_and_javascript_definitions() -> None:
    java = (
        "/** Orders over HTTP. */\n@RestController\npublic class OrderApi {\n"
        "    public Order get(long id) { return null; }\n    private void hidden() {}\n}\n"
    )
    syms, errors = symbols("OrderApi.java", java, "java")
    assert not errors
    assert [(s.name, s.kind, s.line, s.exported) for s in syms] == [
        ("OrderApi", "class", 3, True),
        ("get", "method", 4, True),
        ("hidden", "method", 5, False),
    ]
    assert syms[0].doc == "Orders over HTTP." and syms[0].decorators == ["@RestController"]
    js = "export class Cart {}\nexport const total = (c) => 0;\nfunction local() {}\n"
    syms, _ = symbols("cart.js", js, "js")
    assert [(s.name, s.kind, s.exported) for s in syms] == [
        ("Cart", "class", True),
        ("total", "function", True),
        ("local", "function", False),
    ]


def test_a_docs_generator_is_cited_at_the_line_that_builds_the_docs() -> None:
    from agent.ingest.manifests import manifest_facts

    rtd = (
        "version: 2\nbuild:\n  os: ubuntu-24.04\n  commands:\n    - sphinx-build -b html docs out\n"
    )
    [fact] = [f for f in manifest_facts(".readthedocs.yaml", rtd) if f.kind == "documentation"]
    assert (fact.name, fact.line) == ("Read the Docs (`.readthedocs.yaml`)", 5)
    bare = "version: 2\n"
    [fact] = [f for f in manifest_facts(".readthedocs.yml", bare) if f.kind == "documentation"]
    assert fact.line == 1


def test_blueprint_and_router_prefixes_are_part_of_the_route() -> None:
    src = (
        "from flask import Blueprint\n"
        'bp = Blueprint("auth", __name__, url_prefix="/auth")\n'
        'router: APIRouter = APIRouter(prefix="/api/users/", tags=["users"])\n\n'
        '@bp.route("/login", methods=("GET", "POST"))\ndef login():\n    pass\n\n'
        '@router.get("")\ndef all_users():\n    pass\n\n'
        '@app.get("/health")\ndef health():\n    pass\n\n'
        'admin = APIRouter(\n    tags=["admin"],\n    prefix="/admin",\n)\n\n'
        '@admin.post("/users")\ndef add_user():\n    pass\n'
    )
    syms, _ = symbols("shop/auth.py", src, "python")
    found = [(i.name, i.line) for i in interfaces("shop/auth.py", src.split("\n"), "python", syms)]
    assert found == [
        ("GET /auth/login", 5),
        ("GET /api/users", 9),
        ("GET /health", 13),
        ("POST /admin/users", 22),  # the router's arguments over several lines
    ]


GORM_DIESEL = {
    "go.mod": "module example.com/shop\n\ngo 1.22\n\nrequire gorm.io/gorm v1.25.0\n",
    "store/models.go": 'package store\n\nimport "gorm.io/gorm"\n\n'
    "type User struct {\n\tgorm.Model\n\tName  string\n"
    '\tEmail string `gorm:"column:email_address"`\n\tOrders []Order\n}\n\n'
    "type Order struct {\n\tID     uint\n\tUserID uint\n\tUser   User\n"
    '\tSecret string `gorm:"-"`\n}\n\n'
    'type OrderItem struct {\n\tID uint `gorm:"primaryKey"`\n\tOrderID uint\n\tOrder Order\n}\n\n'
    'func (OrderItem) TableName() string { return "line_items" }\n\n'
    "type Plain struct {\n\tX int\n}\n",
    # Inflection (Person -> people), a named type is a column, an embedded struct is not an
    # association, a lowercase foreignkey tag, a renamed key column, a schema-qualified name.
    "store/people.go": "package store\n\ntype Status string\n\n"
    'type Person struct {\n\tID uint `gorm:"primaryKey"`\n\tRole Status\n'
    '\tAudit Audit `gorm:"embedded"`\n\tBossRef uint `gorm:"column:boss_id"`\n'
    '\tBoss *User `gorm:"foreignkey:BossRef"`\n}\n\n'
    'type Account struct {\n\tID uint `gorm:"primaryKey"`\n}\n\n'
    'func (a *Account) TableName() string {\n\treturn "public.app_accounts"\n}\n',
    "Cargo.toml": '[package]\nname = "blog"\nversion = "0.1.0"\n\n[dependencies]\ndiesel = "2"\n',
    "src/schema.rs": "// @generated automatically by Diesel CLI.\n\ndiesel::table! {\n"
    "    posts (id) {\n        id -> Int4,\n        author_id -> Int4,\n        title -> Varchar,\n"
    "    }\n}\n\ndiesel::table! {\n    authors (id) {\n        id -> Int4,\n        name -> Text,\n"
    "    }\n}\n\ndiesel::joinable!(posts -> authors (author_id));\n",
    "src/main.rs": "mod schema;\n\nfn main() {}\n",
}


def test_gorm_models_and_diesel_schemas_give_tables_and_foreign_keys(tmp_path: Path) -> None:
    model, root = _model(tmp_path, GORM_DIESEL)
    found = {
        t.name: (t.source, t.path, t.line, [c for c, _ in t.columns], t.foreign_keys)
        for t in model.tables
    }
    go, rs = "store/models.go", "src/schema.rs"
    assert found == {
        # gorm.Model gives id and the three timestamps; a column tag renames; `gorm:"-"` is none.
        "users": (
            "GORM",
            go,
            5,
            ["id", "created_at", "updated_at", "deleted_at", "name", "email_address"],
            [],
        ),
        "orders": (
            "GORM",
            go,
            12,
            ["id", "user_id"],
            [("user_id", "User", _line(root, go, "UserID"))],
        ),
        # TableName() overrides the plural of the struct's name.
        "line_items": (
            "GORM",
            go,
            19,
            ["id", "order_id"],
            [("order_id", "Order", _line(root, go, "OrderID"))],
        ),
        "people": (
            "GORM",
            "store/people.go",
            5,
            ["id", "role", "boss_id"],
            [("boss_id", "User", 9)],
        ),
        "public.app_accounts": ("GORM", "store/people.go", 13, ["id"], []),
        "posts": (
            "Diesel",
            rs,
            4,
            ["id", "author_id", "title"],
            [("author_id", "authors", _line(root, rs, "joinable"))],
        ),
        "authors": ("Diesel", rs, 12, ["id", "name"], []),
    }
    er = er_diagram(model.tables)
    assert '"orders" }o--|| "users"' in er and '"line_items" }o--|| "orders"' in er
    assert '"posts" }o--|| "authors"' in er


def test_generated_mermaid_parses_with_the_real_mermaid_parser(tmp_path: Path) -> None:
    nasty = dict(GO)
    nasty['we"ird]dir/x.go'] = (
        'package weird\n\nimport "example.com/svc/store"\n\nvar _ = store.New\n'
    )
    nasty["schema/odd.sql"] = (
        'CREATE TABLE "Ünïcode_ß" ("my id" INTEGER, "note {x}" TEXT, "end" INTEGER,\n'
        "  owner INTEGER REFERENCES owners(id));\n"
        'CREATE TABLE "end" (id INTEGER, "graph" TEXT, u INTEGER REFERENCES "Ünïcode_ß"(id));\n'
    )
    diagrams: list[str] = []
    for n, files in enumerate((PYTHON, TYPESCRIPT, GO, RUST, GORM_DIESEL, nasty)):
        model, _ = _model(tmp_path / str(n), files)
        diagrams.append(component_graph(model.components))
        if model.tables:
            diagrams.append(er_diagram(model.tables))
    # The diagram a component draft writes: its Relationships block for the tables a topic names.
    index = build_index(_repo(tmp_path / "drafted", nasty))
    schema = static_answers(load_template("architecture-component"), index, topic="items owners")
    drafted = [schema["database-schema.relationships.relationships-mermaid"].value]
    assert len(diagrams) >= 8
    results = mermaid_parser.parse(diagrams + drafted)
    assert [r.get("error") for r in results] == [None] * len(results), results
    kinds = {r["type"] for r in results}
    assert {"flowchart-v2", "er"} <= kinds
    # The parser is real: the unescaped label docagent never writes is rejected.
    assert "error" in mermaid_parser.parse(["flowchart LR\n    c1[x (y)] --> c2"])[0]


MESSAGING = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["kafka-python", "requests"]\n\n'
    '[project.scripts]\nshop = "shop.cli:main"\n\n'
    '[project.entry-points."flask.commands"]\nsync = "shop.cli:sync"\n\n'
    '[project.entry-points.pytest11]\nshop_fixtures = "shop.testing"\n',
    "shop/events.py": "from kafka import KafkaConsumer, KafkaProducer\n\n"
    'consumer = KafkaConsumer("orders.created", bootstrap_servers="k:9092")\n\n\n'
    "def emit(producer: KafkaProducer, order: dict) -> None:\n"
    '    producer.send("orders.shipped", order)\n',
    # An HTTP session's `send` names no topic.
    "shop/client.py": "import requests\n\n\ndef call(s: requests.Session, r: object) -> None:\n"
    '    s.send("not-a-topic")\n',
    "worker/main.go": 'package main\n\nimport "github.com/nats-io/nats.go"\n\nfunc main() {\n'
    '\tnc, _ := nats.Connect(nats.DefaultURL)\n\tnc.Subscribe("stock.low", func(m *nats.Msg) {})\n'
    '\tnc.Publish("stock.checked", nil)\n}\n',
    "web/notify.ts": 'import { Kafka } from "kafkajs";\n\nconst kafka = new Kafka({ brokers: [] });\n'
    "export async function run() {\n  const consumer = kafka.consumer({ groupId: 'web' });\n"
    '  await consumer.subscribe({ topic: "orders.shipped" });\n}\n',
    "setup.cfg": "[options.entry_points]\nconsole_scripts =\n    tool = shop.cli:main\n"
    "datasette =\n    shop_plugin = shop.plugin\n",
    # No messaging client: `natsort` is not `nats`, a docstring naming Kafka imports nothing.
    "shop/sorting.py": "from natsort import natsorted\nimport requests\n\n\n"
    'def get(u: str) -> object:\n    return requests.request("GET", u)\n',
    "shop/sock.py": '"""Helpers to read events from Kafka."""\nimport socket\n\n\n'
    'def hello(s: socket.socket) -> None:\n    s.send("hello")\n',
    # Go's grouped imports; kafka-go's reader names its topic in a struct literal.
    "worker/reader.go": 'package main\n\nimport (\n\t"fmt"\n\n\tkafka "github.com/segmentio/kafka-go"\n)\n\n'
    'var r = kafka.NewReader(kafka.ReaderConfig{Topic: "orders.created"})\n\n'
    "func show() { fmt.Println(r) }\n",
}


def test_message_topics_and_plugin_entry_points(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, MESSAGING)
    found = sorted((i.kind, i.name, i.framework, i.path, i.line) for i in model.interfaces)
    assert found == [
        ("plugin", "datasette: shop_plugin", "entry point", "setup.cfg", 5),
        ("plugin", "flask.commands: sync", "entry point", "pyproject.toml", 9),
        ("plugin", "pytest11: shop_fixtures", "entry point", "pyproject.toml", 12),
        ("queue", "orders.created", "Kafka", "shop/events.py", 3),
        ("queue", "orders.created", "Kafka", "worker/reader.go", 9),
        ("queue", "orders.shipped", "Kafka", "shop/events.py", 7),
        ("queue", "orders.shipped", "Kafka", "web/notify.ts", 6),
        ("queue", "stock.checked", "NATS", "worker/main.go", 8),
        ("queue", "stock.low", "NATS", "worker/main.go", 7),
    ]
    talk = [f.name for f in model.facts if f.kind == "communication"]
    # Each topic once, however many files name it.
    assert "Messages over Kafka (topics `orders.created`, `orders.shipped`)" in talk, talk
    assert "Messages over NATS (topics `stock.low`, `stock.checked`)" in talk, talk


MOUNTED = {
    "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["flask", "fastapi"]\n',
    "shop/__init__.py": "from flask import Flask\n\nfrom . import auth\nfrom .admin import bp as admin_bp\n"
    "from .api.users import router as users_router\n\n\ndef create_app() -> Flask:\n"
    "    app = Flask(__name__)\n"
    '    app.register_blueprint(auth.bp, url_prefix="/auth")\n'
    '    app.register_blueprint(admin_bp, url_prefix="/admin")\n'
    "    return app\n\n\ndef mount(api):\n"
    '    api.include_router(users_router, prefix="/api")\n'
    # Mounted twice: answers under both prefixes; a call over several lines.
    '    api.include_router(status.router, prefix="/a")\n'
    '    api.include_router(\n        status.router,\n        prefix="/b",\n    )\n'
    '    api.include_router(items.router, prefix="/v1")\n'
    "\n\nfrom .api import status\nfrom .v1 import items\nfrom .v2 import items as items2\n",
    "shop/api/status.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
    '@router.get("/status")\ndef status():\n    return {}\n',
    # Two modules named items: only the one mounted gets the prefix.
    "shop/v1/__init__.py": "",
    "shop/v1/items.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
    '@router.get("/items")\ndef items():\n    return []\n',
    "shop/v2/__init__.py": "",
    "shop/v2/items.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
    '@router.get("/things")\ndef things():\n    return []\n',
    "shop/auth.py": "from flask import Blueprint\n\n"
    'bp = Blueprint("auth", __name__, url_prefix="/ignored")\n\n\n'
    '@bp.route("/login", methods=["POST"])\ndef login():\n    return ""\n',
    "shop/admin.py": 'from flask import Blueprint\n\nbp = Blueprint("admin", __name__)\n\n\n'
    '@bp.get("/")\ndef home():\n    return ""\n',
    "shop/api/__init__.py": "",
    "shop/api/users.py": "from fastapi import APIRouter\n\n"
    'router = APIRouter(prefix="/users")\n\n\n'
    '@router.get("/{user_id}")\ndef user(user_id: int):\n    return {}\n',
    # A router nobody mounts keeps the path its file gives it.
    "shop/api/health.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n"
    '@router.get("/health")\ndef health():\n    return {}\n',
}


def test_a_prefix_given_where_a_blueprint_or_router_is_mounted_applies(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, MOUNTED)
    routes = sorted((i.name, i.path, i.line) for i in model.interfaces if i.kind == "http")
    assert routes == [
        # Flask: the prefix given at registration replaces the blueprint's own.
        ("GET /a/status", "shop/api/status.py", 6),
        ("GET /admin/", "shop/admin.py", 6),
        ("GET /api/users/{user_id}", "shop/api/users.py", 6),
        ("GET /b/status", "shop/api/status.py", 6),
        ("GET /health", "shop/api/health.py", 6),
        ("GET /things", "shop/v2/items.py", 6),
        ("GET /v1/items", "shop/v1/items.py", 6),
        ("POST /auth/login", "shop/auth.py", 6),
    ]


def test_index_counts_definitions_interfaces_and_tables_per_language(tmp_path: Path) -> None:
    from agent.ingest.repomodel.repomap import counts

    model, _ = _model(tmp_path, {**MESSAGING, **GORM_DIESEL})
    by = counts(model)["by_language"]
    assert by["go"]["queue"] == 3 and by["go"]["tables"] == 5  # NATS, kafka-go; GORM models
    assert by["python"]["queue"] == 2 and by["toml"]["plugin"] == 2
    assert by["rust"]["tables"] == 2 and by["ts"]["queue"] == 1
    assert by["python"]["symbols"] == sum(
        len(s) for p, s in model.by_file.items() if p.endswith(".py")
    )
    result = runner.invoke(app, ["index", str(_repo(tmp_path / "cli", MESSAGING))])
    assert result.exit_code == 0 and "definitions" in result.output and "2 queue" in result.output


def test_the_code_shows_where_it_deploys_stores_and_migrates(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "pub"\ndependencies = ["click"]\n',
        "pub/cloud.py": "from subprocess import check_call\n\n\ndef publish(image):\n"
        '    check_call(f"gcloud builds submit --tag {image}", shell=True)\n'
        '    check_call(f"gcloud run deploy --image {image}", shell=True)\n',
        "pub/paas.py": "from subprocess import call\n\n\ndef publish(name):\n"
        '    call(["heroku", "plugins"])\n    call(["heroku", "apps:create", name])\n',
        "pub/db.py": "from sqlite_utils import Database, Migrations\n\nmigrations = Migrations('pub')\n",
        # Tests and examples are not the project's own code; prose in code deploys nothing.
        "tests/test_deploy.py": 'CMD = "fly deploy"\n',
        "pub/notes.py": 'def publish():\n    """Run `fly deploy` by hand."""\n\n\n'
        "# compiled on the fly deploy-time, then mmap.mmap'd\n"
        "from .migrations import Migrations\nfrom pub.models import Migration\n",
    }
    model, root = _model(tmp_path, files)
    found = {(f.kind, f.name): (f.path, f.line, f.detail) for f in model.facts}
    cloudrun = ("cloud", "Google Cloud Run (the code runs its deploy command)")
    assert found[cloudrun] == (
        "pub/cloud.py",
        _line(root, "pub/cloud.py", "run deploy"),
        "inferred",
    )
    heroku = ("cloud", "Heroku (the code runs its deploy command)")
    assert found[heroku][:2] == ("pub/paas.py", _line(root, "pub/paas.py", "apps:create"))
    assert not any("Fly.io" in name for _, name in found)
    assert [name for kind, name in found if kind == "migrations"] == ["sqlite-utils Migrations"]
    assert found[("migrations", "sqlite-utils Migrations")][:2] == ("pub/db.py", 1)
    # No storage signal here; a memory-mapped index file is one, a git library is another.
    assert not any(kind == "storage" for kind, _ in found)
    go = {
        "go.mod": "module example.com/idx\n\ngo 1.22\n",
        "shard/file.go": 'package shard\n\nimport "syscall"\n\n'
        "func open(fd int, n int) ([]byte, error) {\n"
        "\treturn syscall.Mmap(fd, 0, n, syscall.PROT_READ, syscall.MAP_SHARED)\n}\n",
    }
    model, root = _model(tmp_path / "go", go)
    [storage] = [f for f in model.facts if f.kind == "storage"]
    assert storage.name == "Files on local disk, memory-mapped (mmap)"
    assert (storage.path, storage.line) == ("shard/file.go", 6)
    rust = {
        "Cargo.toml": '[package]\nname = "vcs"\nedition = "2021"\n\n[dependencies]\n'
        'gix = { version = "0.66", default-features = false }\n\n[dev-dependencies]\ngit2 = "0.19"\n',
        "src/lib.rs": "pub fn open() {}\n",
    }
    model, _ = _model(tmp_path / "rust", rust)
    [storage] = [f for f in model.facts if f.kind == "storage"]
    assert storage.name == "Git repositories, through gitoxide (gix)"
    assert (storage.path, storage.line) == ("Cargo.toml", 6)


def test_a_workspace_member_inherits_its_rust_edition_from_the_root() -> None:
    from agent.ingest.manifests import manifest_facts

    root = '[workspace]\nmembers = ["cli"]\n\n[workspace.package]\nedition = "2024"\n'
    member = '[package]\nname = "cli"\nedition = { workspace = true }\n'
    assert [
        (f.value, f.line) for f in manifest_facts("Cargo.toml", root) if f.kind == "runtime"
    ] == [("2024", 5)]
    # A table is no edition: nothing is stated rather than "{'workspace': True}".
    assert [f for f in manifest_facts("cli/Cargo.toml", member) if f.kind == "runtime"] == []


def test_a_git_library_used_only_by_tests_is_no_storage(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "tool"\nedition = "2021"\n\n[dev-dependencies]\n'
        'git2 = "0.19"\n',
        "src/lib.rs": "pub fn run() {}\n",
    }
    model, _ = _model(tmp_path, files)
    assert [f for f in model.facts if f.kind == "storage"] == []


def test_ddl_sqlglot_cannot_read_is_skipped_not_a_crash() -> None:
    # From sqlglot's own sources: the tree it builds has a reference with no name.
    lines = ["    # CREATE TABLE foo (bar TEXT UNIQUE REFERENCES baz ...)", "    x = 1"]
    assert tables("m.py", lines, "python", []) == []


def test_a_component_env_table_lists_what_its_own_configuration_files_read(tmp_path: Path) -> None:
    env_field = "configuration.environment-variables.environment-variables"
    root = _repo(
        tmp_path / "docs-app",
        {
            "package.json": '{"name": "docs-app", "dependencies": {"koa": "2"}}\n',
            # The project's environment module, read as `environment.NAME` (outline's pattern).
            "server/utils/environment.ts": "const environment = { ...process.env };\n"
            "export default environment;\n",
            "server/env.ts": 'import environment from "./utils/environment";\n\n'
            "export class Env {\n"
            '  public SECRET_KEY = environment.SECRET_KEY ?? "";\n'
            "  public REDIS_URL = environment.REDIS_URL;\n"
            "  public isProduction = environment.nodeEnv;\n"
            "}\n",
            "server/mailer.ts": "export const from = process.env.SMTP_FROM;\n",
            ".env.sample": "REDIS_URL=redis://localhost:6379\nSMTP_FROM=bot@example.com\n",
            "server/routes.ts": "export const port = process.env.PORT;\n",
        },
    )
    index = build_index(root)
    reads = {(f.name, f.path, f.line) for f in index.facts if f.kind == "env-var"}
    assert {r for r in reads if r[1] == "server/env.ts"} == {
        ("SECRET_KEY", "server/env.ts", 4),
        ("REDIS_URL", "server/env.ts", 5),
    }
    template = load_template("architecture-component")
    scoped = static_answers(template, index, topic="server configuration")[env_field]
    assert [r["variable"] for r in scoped.rows or []] == ["`REDIS_URL`", "`SECRET_KEY`"]
    # The example env file still gives the example of a variable the topic's files read.
    assert [r["example"] for r in scoped.rows or []] == ["`redis://localhost:6379`", "—"]
    assert scoped.reasons == []
    # No file is named for the topic: every variable, flagged for a human to narrow.
    unscoped = static_answers(template, index, topic="billing")[env_field]
    assert len(unscoped.rows or []) == 4 and unscoped.reasons


def test_an_env_module_counts_only_if_it_reads_the_environment(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "app",
        {
            # Reads the environment itself, imported through an alias.
            "server/env.ts": "export default { ...process.env };\n",
            "server/mailer.ts": 'import env from "@server/env";\nexport const f = env.SMTP_FROM;\n',
            # Reads it through a module that does (two steps, relative imports).
            "web/utils/environment.ts": "export default process.env;\n",
            "web/env.ts": 'import environment from "./utils/environment";\n'
            "export const port = environment.PORT;\n",
            "web/app.ts": 'import env from "./env";\nexport const u = env.BASE_URL;\n',
            # A constants module that happens to be called env: its members are no variables.
            "shared/config/env.ts": "export default { MAX_ITEMS: 5, PAGE_SIZE: 20 };\n",
            "shared/list.ts": 'import env from "../shared/config/env";\n'
            'import limits from "./config/env";\nexport const n = limits.MAX_ITEMS + env.PAGE_SIZE;\n',
        },
    )
    reads = {(f.name, f.path) for f in build_index(root).facts if f.kind == "env-var"}
    assert reads == {
        ("SMTP_FROM", "server/mailer.ts"),
        ("PORT", "web/env.ts"),
        ("BASE_URL", "web/app.ts"),
    }


def test_a_component_env_table_adds_what_the_functions_it_calls_read(tmp_path: Path) -> None:
    env_field = "configuration.environment-variables.environment-variables"
    root = _repo(
        tmp_path / "web",
        {
            "web/cli.py": "import os\n\nfrom web.helpers import get_debug_flag, get\n\n\n"
            "def main():\n    app = os.environ.get('WEB_APP')\n"
            "    return app, get_debug_flag(), get('x')\n",
            "web/helpers.py": "import os\n\n\ndef get_debug_flag():\n"
            "    return os.environ.get('WEB_DEBUG') == '1'\n\n\n"
            "def get(key):\n    return os.environ.get('WEB_' + key.upper(), os.getenv('WEB_HOME'))\n\n\n"
            "def unrelated_setting():\n    return os.environ.get('WEB_THEME')\n",
        },
    )
    index = build_index(root)
    template = load_template("architecture-component")
    rows = static_answers(template, index, topic="command line interface")[env_field].rows or []
    # WEB_DEBUG through get_debug_flag(); not WEB_HOME (read in `get`, too common a name to
    # be sure it is this `get`), nor WEB_THEME (no topic file calls unrelated_setting).
    assert [r["variable"] for r in rows] == ["`WEB_APP`", "`WEB_DEBUG`"]
    assert "web/helpers.py:5" in rows[1]["description"]


def test_an_env_table_row_says_required_default_and_where_from_the_read(tmp_path: Path) -> None:
    from agent.draft.env_table import env_rows

    root = _repo(
        tmp_path / "svc",
        {
            "svc/config.py": "import os\n\nDB = os.environ['SVC_DB']\n"
            "RETRIES = int(os.getenv('SVC_RETRIES', '5'))\n",
            ".env.example": "SVC_DB=sqlite:///svc.db\n",
        },
    )
    index = build_index(root)
    found = env_rows(
        ["variable", "required", "default", "description", "example"], index.facts, index
    )
    assert found is not None
    assert found[0] == [
        {
            "variable": "`SVC_DB`",
            "required": "✓",
            "default": "—",
            "description": "Read at svc/config.py:3",
            "example": "`sqlite:///svc.db`",
        },
        {
            "variable": "`SVC_RETRIES`",
            "required": "✗",
            "default": "`'5'`",
            "description": "Read at svc/config.py:4",
            "example": "—",
        },
    ]


def test_own_cache_types_and_a_documented_api_fill_caching_and_api_framework(
    tmp_path: Path,
) -> None:
    files = {
        "go.mod": "module example.com/search\n\ngo 1.22\n",
        "index/cache.go": "package index\n\ntype docMatchTreeCache struct{}\n\n"
        "type shardCache struct{}\n",
        "index/cachekey.go": "package index\n\ntype CacheKey string\n",  # not a cache
        "web/server.go": 'package web\n\nimport "net/http"\n\n'
        'func Serve() { http.HandleFunc("/api/search", nil) }\n',
        "docs/api.md": "# JSON API\n\nEvery page is also JSON.\n",
        "tests/cache_test.go": "package tests\n\ntype fakeCache struct{}\n",
    }
    model, _ = _model(tmp_path, files)
    found = {f.kind: f for f in model.facts if f.kind in ("cache", "api-framework")}
    assert found["cache"].name == "In-process caches (`docMatchTreeCache`, `shardCache`)"
    assert (found["cache"].path, found["cache"].line, found["cache"].detail) == (
        "index/cache.go",
        3,
        "inferred",
    )
    api = found["api-framework"]
    assert api.name == "JSON API, served by the project's own HTTP views (no API framework)"
    assert (api.path, api.line, api.detail) == ("docs/api.md", 1, "inferred")
    # A cache the manifests name answers the field; no routes, no API claim.
    model, _ = _model(
        tmp_path / "lib",
        {
            "pyproject.toml": '[project]\nname = "lib"\ndependencies = ["cachetools"]\n',
            "lib/store.py": "class LRUCache:\n    pass\n",
            "docs/index.rst": "REST API\n========\n\nNone served here.\n",
        },
    )
    assert not [f for f in model.facts if f.kind in ("cache", "api-framework")]
