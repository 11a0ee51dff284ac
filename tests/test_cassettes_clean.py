"""No cassette may hold a credential: auth headers are filtered at record time; this proves it."""

from __future__ import annotations

import re

import pytest

from tests.cassettes import CASSETTES, FILTERED_HEADERS

KEY_LIKE = re.compile(
    r"Bearer\s+[A-Za-z0-9._-]{12,}|\bsk-[A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bAIza[0-9A-Za-z_-]{35}\b|\bxox[abposr]-[A-Za-z0-9-]{10,}"
)
FILES = sorted(CASSETTES.rglob("*.yaml"))


def test_there_are_cassettes() -> None:
    assert FILES, "cassettes/ is empty"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_key_or_auth_header(path: object) -> None:
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert not KEY_LIKE.search(text), f"{path}: key-like string"
    for header in FILTERED_HEADERS:
        assert not re.search(rf"^\s+{re.escape(header)}:", text, re.M | re.I), (
            f"{path}: {header} header"
        )
