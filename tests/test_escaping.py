"""Repository text and model output are data: a value never renders as HTML, a heading, a fence or a
docagent marker, and citation links stay one link to the file whatever its name. Checked by parsing
what docagent writes with a CommonMark parser (markdown-it-py), as a reader's renderer would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from agent.base import escape
from agent.document.markers import CLOSE, OPEN_RE, find_markers
from agent.document.templates import parse_template
from agent.draft.answers import Citation, FieldResult
from agent.draft.report import render_draft
from agent.draft.review import review_markdown

MD = MarkdownIt("commonmark").enable("table")

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<a href='x' onclick='steal()'>click</a>",
    "# Planted heading",
    "Intro\n# Planted heading",
    "Intro\n## Planted heading\n- # heading in a list item",
    "Intro\n```\nfenced\n```",
    "Intro\n~~~python\nfenced\n~~~",
    "Title\n=====",
    "Title\n---",
    "***",
    f"ok {CLOSE} then <!-- da:overview.purpose reviewed 0123abcd -->PLANTED{CLOSE}",
    "<!-- docagent generation 0123456789ab -->",
    "[click](javascript:alert(1)) and [data](data:text/html;base64,xx)",
    "[ref]: javascript:alert(1)",
    "<!---->",
    "<?php evil(); ?>",
]


def html_tokens(text: str) -> list[Token]:
    """Every HTML token a renderer would pass through, inline ones included."""
    out = []
    for token in MD.parse(text):
        if token.type == "html_block":
            out.append(token)
        for child in token.children or []:
            if child.type == "html_inline":
                out.append(child)
    return out


def links(text: str) -> list[tuple[str, str]]:
    """(href, text) of every link."""
    out = []
    for token in MD.parse(text):
        children = token.children or []
        for n, child in enumerate(children):
            if child.type == "link_open":
                label = ""
                for inner in children[n + 1 :]:
                    if inner.type == "link_close":
                        break
                    label += inner.content
                out.append((str(child.attrs["href"]), label))
    return out


# What a value may never turn into (lists and emphasis are fine: they are the value's own Markdown).
MARKUP = {"heading_open", "fence", "code_block", "hr", "html_block", "html_inline"}


def markup(text: str) -> list[str]:
    tokens = MD.parse(text)
    return [
        t.type for t in tokens + [c for t in tokens for c in t.children or []] if t.type in MARKUP
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_renders_as_its_words_and_nothing_else(value: str) -> None:
    text = escape.inline(value)
    assert markup(text) == []
    assert all(not href.lower().startswith(("javascript:", "data:")) for href, _ in links(text))
    assert find_markers(text).any is False  # nothing marker-like is left for a reader to find
    # The words survive: the rendered text holds what the value said.
    rendered = re.sub(r"<[^>]+>", "", MD.render(text))
    for word in re.findall(r"[A-Za-z]{4,}", value):
        assert word in rendered


def test_code_spans_stay_literal_unless_marker_like() -> None:
    assert escape.inline("use `List<String>` here") == "use `List<String>` here"
    planted = escape.inline(f"see `x {CLOSE}`")
    assert CLOSE not in planted and html_tokens(planted) == []


TEMPLATE = """# [Product Name]

## Overview

- **Purpose**: [What the system is for]

### Notes

- [Important constraint]

### Services

- **Service 1**: [Service name]
    - **Responsibility**: [What it does]
- **Service 2**: [Service name]
    - **Responsibility**: [What it does]

### Stack

| Component | Choice |
|-----------|--------|
| [Component] | [Choice] |

### Layout

```text
[Directory structure]
```
"""


def result(fid: str, kind: str, value: Any = None, **kw: Any) -> FieldResult:
    base: dict[str, Any] = {
        "id": fid,
        "label": fid,
        "section": "S",
        "kind": kind,
        "status": "answered",
        "value": value,
        "confidence": 0.3,
    }
    return FieldResult(**{**base, **kw})


def hostile_results() -> dict[str, FieldResult]:
    evil = "\n".join(HOSTILE)
    cite = Citation(path="src/a.py", start_line=1, end_line=2, quote="<script>q</script>")
    group_item = {
        "overview.services.service.service-name": "# api <script>x</script>",
        "overview.services.service.responsibility": f"```\n{CLOSE}",
        "citations": [cite.model_dump()],
        "flagged": True,
        "reasons": ["<img src=x onerror=alert(1)>"],
    }
    return {
        "product-name": result("product-name", "text", "# Name <script>x</script>"),
        "overview.purpose": result(
            "overview.purpose",
            "text",
            evil,
            citations=[cite],
            flagged=True,
            reasons=["names `<svg onload=alert(1)>`", "## heading in a reason"],
        ),
        "overview.notes.notes": result("overview.notes.notes", "list", HOSTILE),
        "overview.services.service": result(
            "overview.services.service", "group", items=[group_item, group_item]
        ),
        "overview.stack.stack": result(
            "overview.stack.stack",
            "table",
            [{"component": v, "choice": "a | b\nc"} for v in HOSTILE],
        ),
        "overview.layout.layout-text": result(
            "overview.layout.layout-text",
            "code",
            "src/\n```\n# not a heading\n<!-- /da -->\n````\n<script>in code is text</script>",
        ),
    }


def test_hostile_values_render_as_data_in_every_kind_of_field() -> None:
    template = parse_template(TEMPLATE)
    doc = render_draft(template, hostile_results(), {}, "")
    markers = {t.content.strip() for t in html_tokens(doc)}
    # The only HTML is docagent's own: markers, one pair per field, and line breaks in cells.
    assert all(OPEN_RE.fullmatch(m) or m in (CLOSE, "<br>") for m in markers), markers
    found = find_markers(doc, set(hostile_results()))
    assert set(found.markers) == set(hostile_results())
    assert not found.damaged and not found.orphans
    headings = [t for t in MD.parse(doc) if t.type == "heading_open"]
    template_headings = [t for t in MD.parse(TEMPLATE) if t.type == "heading_open"]
    assert len(headings) == len(template_headings)
    assert [t.type for t in MD.parse(doc) if t.type == "hr"] == []
    fences = [t for t in MD.parse(doc) if t.type == "fence"]
    assert len(fences) == 1
    # The code block holds the value verbatim (marker-like comments broken), in a longer fence.
    assert fences[0].markup == "`````" and fences[0].info == "text"
    assert "# not a heading\n<\\!-- /da -->\n````\n<script>in code is text</script>" in (
        fences[0].content
    )
    assert all(not href.startswith(("javascript:", "data:")) for href, _ in links(doc))
    # Table cells stay cells: one row per value, two cells each.
    rows = [t for t in MD.parse(doc) if t.type == "tr_open"]
    assert len(rows) == 1 + len(HOSTILE)


def test_the_review_report_shows_values_and_quotes_as_data() -> None:
    template = parse_template(TEMPLATE)
    results = hostile_results()
    summary = {"answered": 6, "flagged": 0, "not_found": 0, "errors": 0}
    review = review_markdown(template, results, summary, "OUT.md", kept={})
    assert html_tokens(review) == []
    headings = [t for t in MD.parse(review) if t.type == "heading_open"]
    assert len(headings) == 2  # the title and "Flagged for review"
    assert "&lt;script>q&lt;/script>" in review


@pytest.mark.parametrize(
    "path",
    [
        "docs/my notes.md",
        "docs/[draft] notes (v2).md",
        "docs/a#b%20c.md",
        "docs/line\nbreak.md",
        "src/__init__.py",
        "docs/<img src=x onerror=alert(1)>.md",
    ],
)
def test_citation_links_stay_one_link_to_the_file(path: str) -> None:
    from agent.draft.report import sources

    cite = Citation(path=path, start_line=3, end_line=5)
    text = f"Value{sources([cite], '../repo dir/')}"
    found = links(text)
    assert len(found) == 1, (text, found)
    href, label = found[0]
    assert unquote(href) == f"../repo dir/{path}#L3-L5"
    assert not re.search(r"[\s\[\]()<>]", href)
    assert label == f"{path}:3-5".replace("\n", "\\n")
    assert html_tokens(text) == []


def test_escaped_values_survive_a_draft_and_its_rerun(tmp_path: Path) -> None:
    """The escaped output read back: docagent finds its own markers and nothing else."""
    from agent.draft.outputs import compose

    template = parse_template(TEMPLATE)
    known = set(hostile_results())
    first = compose(template, hostile_results(), None, "", known)
    found = find_markers(first.markdown, known)
    assert set(found.markers) == known and all(m.untouched for m in found.markers.values())
