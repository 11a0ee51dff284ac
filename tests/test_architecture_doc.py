"""docs/ARCHITECTURE.md lists every module of agent/: a newcomer's map must not go stale."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_module_is_listed() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`(\w+\.py)`", text))
    modules = {p.name for p in (ROOT / "agent").glob("*.py")}
    assert modules - listed == set(), "add these modules to docs/ARCHITECTURE.md"
    assert listed - modules == set(), "docs/ARCHITECTURE.md names modules that no longer exist"
