"""Components read from a repository's code: the planted modules, their imports and descriptions,
in Python, TypeScript, Go and Rust."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.draft.decomposition import decomposition_items, is_decomposition
from agent.ingest.index import build_index
from agent.ingest.repomodel.components import find_components


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def body(n: int, line: str = "x = 1") -> str:
    return "\n".join([line] * n) + "\n"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCAGENT_HOME", str(tmp_path / "home"))


def test_python_package_under_src(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "shop",
        {
            "src/shop/__init__.py": '"""Shop."""\n',
            "src/shop/orders/__init__.py": '"""Orders: taking and tracking customer orders."""\n'
            + body(5),
            "src/shop/orders/service.py": "from shop.billing.invoices import Invoice\n"
            "from ..stock import reserve\n\n\nclass OrderService:\n    pass\n" + body(120),
            "src/shop/billing/__init__.py": "",
            "src/shop/billing/invoices.py": '"""Invoices and their PDF rendering."""\n\n\n'
            "class Invoice:\n    pass\n" + body(90),
            "src/shop/stock.py": "def reserve():\n    pass\n" + body(60),
            "tests/test_orders.py": body(400),  # tests are not a component
            "docs/conf.py": body(300),
        },
    )
    comps = {c.path: c for c in find_components(build_index(repo))}
    assert list(comps) == ["src/shop/orders", "src/shop/billing", "src/shop/stock.py"]
    orders = comps["src/shop/orders"]
    assert orders.summary == "Orders: taking and tracking customer orders."
    assert orders.summary_at == ("src/shop/orders/__init__.py", 1, 1)
    assert [d.name for d in orders.definitions] == ["OrderService"]
    assert orders.depends_on == {
        "src/shop/billing": ("src/shop/orders/service.py", 1),
        "src/shop/stock.py": ("src/shop/orders/service.py", 2),
    }
    # An empty package __init__ gives no description; a module's docstring is not the package's.
    assert comps["src/shop/billing"].summary == ""
    assert comps["src/shop/stock.py"].depends_on == {}


def test_typescript_aliases_and_relative_imports(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "app",
        {
            "tsconfig.json": '{"compilerOptions": {"paths": {\n"@server/*": ["./server/*"]\n}}}\n',
            "server/routes/api.ts": 'import { User } from "@server/models/User";\n'
            'import { log } from "../utils/log";\n'
            "export function listUsers() {}\n" + body(100, "const a = 1;"),
            "server/models/User.ts": "/** A person who can sign in. */\nexport class User {}\n"
            + body(80, "const b = 1;"),
            "server/utils/log.ts": "export function log() {}\n" + body(40, "const c = 1;"),
        },
    )
    comps = {c.path: c for c in find_components(build_index(repo))}
    assert set(comps) == {"server/routes", "server/models", "server/utils"}
    assert set(comps["server/routes"].depends_on) == {"server/models", "server/utils"}
    assert [d.name for d in comps["server/models"].definitions] == ["User"]


def test_go_packages_with_package_docs(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "search",
        {
            "go.mod": "module example.com/search\n\ngo 1.22\n",
            "index/doc.go": "// Copyright 2020 Someone.\n\n// Package index builds the trigram index.\npackage index\n",
            "index/builder.go": "package index\n\ntype Builder struct{}\n\nfunc NewBuilder() *Builder { return nil }\n"
            + body(150, "var _ = 1"),
            "query/parse.go": "// parse.go holds the parser.\npackage query\n\nimport (\n"
            '\t"fmt"\n\t"example.com/search/index"\n)\n\nfunc Parse() {}\n'
            + body(100, "var _ = 1"),
        },
    )
    comps = {c.path: c for c in find_components(build_index(repo))}
    assert list(comps) == ["index", "query"]
    assert comps["index"].summary == "Package index builds the trigram index."
    assert comps["index"].summary_at == ("index/doc.go", 3, 3)
    # A comment about one file is not the package's description.
    assert comps["query"].summary == ""
    assert comps["query"].depends_on == {"index": ("query/parse.go", 6)}
    assert [d.name for d in comps["index"].definitions] == ["Builder", "NewBuilder"]


def test_rust_workspace_crates_named_from_their_manifests(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "vcs",
        {
            "Cargo.toml": '[workspace]\nmembers = ["lib", "cli"]\n',
            "lib/Cargo.toml": '[package]\nname = "vcs-lib"\n',
            "lib/src/lib.rs": "//! The version control library.\npub mod store;\n",
            "lib/src/store.rs": "//! Content-addressed storage of commits.\npub struct Store;\n"
            + body(200, "const A: u8 = 1;"),
            "cli/Cargo.toml": '[package]\nname = "vcs-cli"\n',
            "cli/src/main.rs": "use vcs_lib::store::Store;\nfn main() {}\n"
            + body(150, "const B: u8 = 1;"),
        },
    )
    comps = {c.path: c for c in find_components(build_index(repo))}
    assert list(comps)[:2] == ["lib", "cli"]
    assert comps["lib"].package == "vcs-lib" and comps["cli"].package == "vcs-cli"
    assert comps["cli"].depends_on == {"lib": ("cli/src/main.rs", 1)}
    labels = {"g.name": "Name", "g.resp": "Responsibility", "g.deps": "Dependencies"}
    assert is_decomposition("Service/Module", labels)
    assert not is_decomposition("Pattern", {"p.name": "Name"})
    items = decomposition_items(build_index(repo), labels, list(comps.values()))
    assert items[0]["g.name"] == "vcs-lib (`lib/`)"
    assert items[1]["g.name"] == "vcs-cli (`cli/`)"
    assert items[1]["_citations"] == [("cli/src/main.rs", 1, 1)]


def test_imports_the_patterns_cannot_place_are_no_edges(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "odd",
        {
            # More leading dots than directories (here inside a docstring): no edge, no crash.
            "pkg/a.py": '"""Example:\n    from ....nowhere import x\n"""\n' + body(80),
            "pkg/b.py": "from pkg import a\n" + body(60),
            "one/Cargo.toml": '[package]\nname = "one"\n',
            "one/src/lib.rs": "//! The first crate.\n" + body(90, "const A: u8 = 1;"),
            "two/Cargo.toml": '[package]\nname = "two"\n',
            # A path in a comment is not an import.
            "two/src/lib.rs": "// moved from one::thing\nfn f() {}\n"
            + body(70, "const B: u8 = 1;"),
        },
    )
    comps = {c.path: c for c in find_components(build_index(repo))}
    assert set(comps) == {"one", "two", "pkg"}
    assert comps["one"].summary == "The first crate."
    assert comps["two"].depends_on == {}


def test_skipped_languages_and_no_code(tmp_path: Path) -> None:
    repo = write(tmp_path / "notes", {"README.md": "# Notes\n", "data.csv": "a,b\n"})
    assert find_components(build_index(repo)) == []


def test_key_parts_the_design_document_names_rank_above_helpers_everything_uses(
    tmp_path: Path,
) -> None:
    helpers = {
        f"core/src/{name}.rs": f"pub struct {name.title()}Id;\n" + body(40, "// x")
        for name in ("hex", "hash", "ids")
    }
    users = {
        f"core/src/user{i}.rs": "use crate::hex::HexId;\nuse crate::hash::HashId;\n"
        "use crate::ids::IdsId;\n" + body(40, "// x")
        for i in range(6)
    }
    repo = write(
        tmp_path / "vcs",
        {
            "Cargo.toml": '[package]\nname = "vcs"\nedition = "2021"\n',
            "core/src/lib.rs": "pub mod hex;\n",
            "core/src/transaction.rs": "pub struct Transaction;\n" + body(40, "// x"),
            **helpers,
            **users,
            # A design document names the transaction in code; a user guide naming a helper
            # does not weigh.
            "docs/architecture.md": "# Architecture\n\nEvery change goes through a `Transaction`.\n",
            "docs/guide/usage.md": "# Usage\n\nPrint a `HexId`.\n",
            "other/src/main.rs": "fn main() {}\n" + body(600, "// x"),
            "third/src/lib.rs": "pub fn run() {}\n" + body(600, "// x"),
        },
    )
    model = build_index(repo).model
    core = next(c for c in model.components if c.path == "core")
    parts = [p for p, _ in core.parts]
    assert parts[0] == "core/src/transaction.rs"
    assert set(parts[1:4]) == {"core/src/hex.rs", "core/src/hash.rs", "core/src/ids.rs"}


def test_a_directory_of_programs_shows_every_program_it_builds(tmp_path: Path) -> None:
    programs = {
        f"cmd/tool-{i:02}/main.go": "package main\n\nfunc main() {}\n" + body(30, "// x")
        for i in range(11)
    }
    repo = write(
        tmp_path / "tools",
        {
            "go.mod": "module example.com/tools\n\ngo 1.22\n",
            **programs,
            "cmd/flags.go": "package cmd\n\nfunc Flags() {}\n",
            "lib/lib.go": "package lib\n\nfunc Run() {}\n" + body(600, "// x"),
            "web/web.go": "package web\n\nfunc Serve() {}\n" + body(300, "// x"),
        },
    )
    model = build_index(repo).model
    cmd = next(c for c in model.components if c.path == "cmd")
    parts = [p for p, _ in cmd.parts]
    # All eleven programs (more than the eight key parts a component shows), before the rest.
    assert sorted(parts[:11]) == [f"cmd/tool-{i:02}" for i in range(11)]
    assert parts[11:] == []
