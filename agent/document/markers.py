"""docagent's markers in an output file: how they are written and how they are read back.

Every drafted value sits between `<!-- da:FIELD-ID STATE HASH -->` and `<!-- /da -->` (README,
"Human edits are kept"). STATE is `draft` as written, `reviewed` once a human pins the value; HASH is
the short hash of the value as written, so a value a human edited shows. The markers decide which text
is docagent's to refresh and which is a human's to keep, so they are read strictly: a marker counts
only in exactly this form, for a field the template has, with a well-formed hash, closed before the
next one opens. Anything else that looks like a marker is reported as damaged and never decides
anything. Values never contain a marker: repository text and model output are escaped before they
are written (escape.py).

The document and its three companions also carry a generation id, so that files of different runs
(a run killed between two writes) are never read as one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

OPEN_RE = re.compile(
    r"<!-- da:(?P<id>[\w.\-]+) (?P<state>draft|reviewed) (?P<hash>[0-9a-f]{8}) -->"
)
CLOSE = "<!-- /da -->"
# Whatever a reader could take for a marker, well-formed or not (a marker never spans lines).
TOKEN_RE = re.compile(r"<!--\s*/?\s*da\b[^\n]*?(?:-->|$)", re.I | re.M)
# Matched anywhere, not only as a line of its own: a line a human joined to it must not make a run
# take it for text and add one more each time.
GENERATION_RE = re.compile(r"<!-- docagent generation (?P<id>[0-9a-f]{12}) -->\n?")


def body_hash(body: str) -> str:
    """The short hash recorded in a marker (surrounding whitespace ignored)."""
    return hashlib.sha1(body.strip().encode()).hexdigest()[:8]


def wrap_inline(fid: str, content: str) -> str:
    """A value inside one line."""
    return f"<!-- da:{fid} draft {body_hash(content)} -->{content}{CLOSE}"


def wrap_block(fid: str, lines: list[str], indent: str) -> list[str]:
    """Lines of a value, the markers on lines of their own."""
    body = "\n".join(lines)
    return [f"{indent}<!-- da:{fid} draft {body_hash(body)} -->", *lines, f"{indent}{CLOSE}"]


@dataclass
class Marker:
    """A well-formed marker and the value it holds, as found in a file."""

    id: str
    state: str
    hash: str
    body: str
    start: int  # offset of the opening marker
    end: int  # offset just past the closing marker
    indent: str  # the whitespace before the opening marker, when it starts its line
    text: str  # the whole marker-wrapped text

    @property
    def untouched(self) -> bool:
        """Still as docagent wrote it: docagent may refresh it."""
        return self.state == "draft" and body_hash(self.body) == self.hash

    @property
    def reason(self) -> str:
        """Why it is kept."""
        return "marked reviewed" if self.state == "reviewed" else "edited by a human"


@dataclass
class Damage:
    """Something that looks like a marker but is not a usable one."""

    line: int  # 1-based line of the file
    marker: str  # the marker-like text as found
    problem: str


@dataclass
class FoundMarkers:
    """What the markers of a file say."""

    markers: dict[str, Marker] = field(default_factory=dict)  # for fields of the template
    orphans: dict[str, Marker] = field(default_factory=dict)  # for ids the template lacks
    damaged: list[Damage] = field(default_factory=list)

    @property
    def kept(self) -> dict[str, Marker]:
        """Values a human reviewed or edited."""
        return {fid: m for fid, m in self.markers.items() if not m.untouched}

    @property
    def any(self) -> bool:
        """Whether the file has anything marker-like at all."""
        return bool(self.markers or self.orphans or self.damaged)


def find_markers(text: str, known: set[str] | None = None) -> FoundMarkers:
    """Read the markers of a file strictly; `known` is the template's field and group ids."""
    found = FoundMarkers()
    pending: tuple[re.Match[str], re.Match[str]] | None = None

    def damage(token: re.Match[str], problem: str) -> None:
        line = text.count("\n", 0, token.start()) + 1
        found.damaged.append(Damage(line, token.group(0)[:120], problem))

    # A malformed opening marker: its closing marker is not reported a second time.
    malformed_open = False
    for token in TOKEN_RE.finditer(text):
        if token.group(0) == CLOSE:
            if pending:
                start, started = pending
                pending = None
                _add(found, _marker(text, start, started, token), known, damage, start)
            elif malformed_open:
                malformed_open = False
            else:
                damage(token, "closes no marker")
            continue
        if pending:
            damage(pending[0], f"is not closed by `{CLOSE}` before the next marker")
            pending = None
        opening = OPEN_RE.fullmatch(token.group(0))
        malformed_open = False
        if opening:
            pending = (token, opening)
        else:
            damage(
                token,
                "is not a well-formed marker (`<!-- da:FIELD-ID draft HASH -->` with an 8-digit "
                f"hex HASH, or `{CLOSE}`)",
            )
            malformed_open = not re.match(r"<!--\s*/", token.group(0))
    if pending:
        damage(pending[0], f"has no closing `{CLOSE}`")
    return found


def _add(
    found: FoundMarkers,
    marker: Marker,
    known: set[str] | None,
    damage: Callable[[re.Match[str], str], None],
    start: re.Match[str],
) -> None:
    if known is not None and marker.id not in known:
        found.orphans.setdefault(marker.id, marker)
    elif marker.id in found.markers:
        damage(start, f"repeats the marker of `{marker.id}`")
    else:
        found.markers[marker.id] = marker


def _marker(
    text: str, start: re.Match[str], opening: re.Match[str], close: re.Match[str]
) -> Marker:
    line_start = text.rfind("\n", 0, start.start()) + 1
    before = text[line_start : start.start()]
    return Marker(
        id=opening.group("id"),
        state=opening.group("state"),
        hash=opening.group("hash"),
        body=text[start.end() : close.start()],
        start=start.start(),
        end=close.end(),
        indent=before if not before.strip() else "",
        text=text[start.start() : close.end()],
    )


def generation_of(document: str, rendered: str) -> str:
    """The id of the four files one run writes: a hash of the document and of docagent's own
    rendering of it, so files that name one id describe the same document and an unchanged re-run
    writes the same bytes."""
    return hashlib.sha1(f"{document}\0{rendered}".encode()).hexdigest()[:12]


def generation_line(generation: str) -> str:
    """The invisible line that names a Markdown file's generation."""
    return f"<!-- docagent generation {generation} -->\n"


def find_generation(text: str) -> str | None:
    """The generation a Markdown file names (the last one, if a human copied lines around)."""
    found = GENERATION_RE.findall(text)
    return found[-1] if found else None


def strip_generation(text: str) -> str:
    """The file without its generation line."""
    return GENERATION_RE.sub("", text)
