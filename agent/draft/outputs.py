"""The four files a draft writes, read back and written so that nothing a human wrote is lost.

The document (-o), its review report (.review.md, .review.json) and the machine-readable draft
(.draft.json) carry one generation id. .draft.json also keeps docagent's own rendering of the
document: the base a later run merges a human's edits against (merge.py). Files of different
generations are never read as one: a run killed between two writes leaves the old document with new
companions (the document is written last), and the next run then merges against a base rebuilt
from the document's own markers. Just before writing, the document is read again: if a human saved
it while the draft ran, their version is merged instead and nothing of it is overwritten.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.base.errors import (
    OutputError,
    OutputPathError,
)
from agent.document.markers import (
    Damage,
    FoundMarkers,
    Marker,
    find_generation,
    find_markers,
    generation_line,
    generation_of,
    strip_generation,
)
from agent.document.merge import Unplaced, keep_human_text
from agent.document.templates import Template
from agent.draft.answers import FieldResult
from agent.draft.report import field_counts, render_draft
from agent.draft.review import review_markdown

# How often the document may change under a run before it gives up rather than overwrite.
WRITE_ATTEMPTS = 3


def companion_paths(output: Path) -> dict[str, Path]:
    """The review report (Markdown, JSON) and the machine-readable draft next to the output."""
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return {
        "review_md": output.with_name(f"{stem}.review.md"),
        "review_json": output.with_name(f"{stem}.review.json"),
        "draft_json": output.with_name(f"{stem}.draft.json"),
    }


@dataclass
class Existing:
    """An output file as a run found it."""

    raw: str  # exactly as read ("" when there is none)
    text: str  # without its generation line
    generation: str | None
    found: FoundMarkers
    base: str | None  # docagent's rendering last time, when the companions belong to this file


def read_existing(output: Path, known: set[str]) -> Existing:
    """An earlier output and what its markers say; raises if docagent did not write it."""
    raw = _read(output)
    text = strip_generation(raw)
    found = find_markers(text, known)
    generation = find_generation(raw)
    if raw.strip() and generation is None and not found.any:
        raise OutputError(
            f"{output} exists and was not written by docagent (it has no docagent markers).",
            hint="Choose another -o path, or pass --force to replace it.",
        )
    return Existing(raw, text, generation, found, stored_base(output, generation))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError as exc:
        raise OutputError(
            f"{path} is not UTF-8 text ({exc.reason}), so docagent cannot keep its edits.",
            hint="Choose another -o path, or pass --force to replace it.",
        ) from exc


def stored_base(output: Path, generation: str | None) -> str | None:
    """docagent's own rendering of the document, if .draft.json is of the same generation."""
    if generation is None:
        return None
    data = _json(companion_paths(output)["draft_json"])
    document = data.get("document")
    return document if data.get("generation") == generation and isinstance(document, str) else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def generations(output: Path) -> dict[Path, str | None]:
    """The generation each of the four files names (None: missing or none named)."""
    side = companion_paths(output)
    found: dict[Path, str | None] = {}
    for path in (output, side["review_md"]):
        try:
            found[path] = find_generation(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            found[path] = None
    for path in (side["review_json"], side["draft_json"]):
        value = _json(path).get("generation")
        found[path] = value if isinstance(value, str) else None
    return found


@dataclass
class Composed:
    """The document to write and what it kept of a human's text."""

    markdown: str  # without its generation line
    rendered: str  # docagent's own rendering: the base of the next run
    kept: dict[str, Marker] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    damaged: list[Damage] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    not_written: dict[str, Marker] = field(default_factory=dict)


def compose(
    template: Template,
    results: dict[str, FieldResult],
    existing: Existing | None,
    link_base: str,
    known: set[str],
) -> Composed:
    """This run's document, with every change a human made to the earlier one kept."""
    if existing is None or not existing.text.strip():
        rendered = _document(render_draft(template, results, {}, link_base))
        return Composed(rendered, rendered)
    markers = existing.found.markers
    kept = existing.found.kept
    # A failed call never replaces what an earlier run drafted (unless that was itself a failure).
    stale = {
        fid
        for fid, r in results.items()
        if r.source == "error"
        and fid in markers
        and markers[fid].untouched
        and "_Not drafted: " not in markers[fid].body
    }
    # Fields not drafted this time (--sections) stay as the last output had them.
    carried = {fid: m for fid, m in markers.items() if fid not in results or fid in stale}
    rendered = _document(render_draft(template, results, {**carried, **kept}, link_base, stale))
    base = existing.base
    if base is None:
        # No base of this generation: what docagent would have written for these markers.
        base = _document(render_draft(template, {}, markers, link_base))
    merged = keep_human_text(base, existing.text, rendered, known)
    return Composed(
        merged.text,
        rendered,
        kept,
        stale,
        existing.found.damaged,
        merged.unplaced,
        merged.not_written,
    )


def _document(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def annotate_stale(results: dict[str, FieldResult], stale: set[str]) -> dict[str, FieldResult]:
    """Results as reported: a failed field whose earlier value was kept says so."""
    out = dict(results)
    for fid in stale:
        r = results[fid]
        out[fid] = r.model_copy(
            update={
                "flagged": True,
                "reasons": [
                    "could not be refreshed, the value from an earlier run is kept: "
                    + "; ".join(r.reasons)
                ],
            }
        )
    return out


@dataclass
class DraftFiles:
    """What write_draft wrote."""

    composed: Composed
    results: dict[str, FieldResult]
    review: str
    generation: str
    changed_during_run: bool = False
    written: list[Path] = field(default_factory=list)


def write_draft(
    output: Path,
    template: Template,
    results: dict[str, FieldResult],
    existing: Existing | None,
    link_base: str,
    known: set[str],
    summary: dict[str, Any],
    extra: dict[str, Any],
) -> DraftFiles:
    """Write the document and its companions, merging a human's edits, including edits saved
    while the draft ran; `extra` goes into .draft.json (repository, plan)."""
    changed = False
    for _ in range(WRITE_ATTEMPTS):
        composed = compose(template, results, existing, link_base, known)
        shown = annotate_stale(results, composed.stale)
        summary.update(field_counts(results, composed.kept))
        summary.update(
            kept_human=len(composed.kept),
            not_refreshed=len(composed.stale),
            damaged_markers=len(composed.damaged),
            unplaced=len(composed.unplaced),
            not_written=len(composed.not_written),
            changed_during_run=changed,
        )
        generation = generation_of(composed.markdown, composed.rendered)
        review = review_markdown(
            template,
            shown,
            summary,
            output.name,
            kept=composed.kept,
            stale=composed.stale,
            damaged=composed.damaged,
            unplaced=composed.unplaced,
            not_written=composed.not_written,
        )
        files = _files(output, composed, shown, summary, review, generation, extra)
        expected = existing.raw if existing is not None else None
        if write_atomic(files, unchanged=None if expected is None else (output, expected)):
            written = [output, *(p for p in files if p != output)]
            return DraftFiles(composed, shown, review, generation, changed, written)
        # A human saved the document while the draft ran: merge their version instead.
        changed = True
        existing = read_existing(output, known)
    raise OutputError(
        f"{output} kept changing while docagent was writing it; it was left as it is.",
        hint="Save your edits, then run the draft again.",
    )


def _files(
    output: Path,
    composed: Composed,
    results: dict[str, FieldResult],
    summary: dict[str, Any],
    review: str,
    generation: str,
    extra: dict[str, Any],
) -> dict[Path, str]:
    side = companion_paths(output)
    draft_json = {
        "generation": generation,
        "template": extra.get("template"),
        "template_source": extra.get("template_source"),
        "repository": extra.get("repository"),
        "commit": extra.get("commit"),
        "summary": summary,
        "fields": [r.model_dump(mode="json") for r in results.values()],
        "plan": extra.get("plan", []),
        "document": composed.rendered,
    }
    review_json = {
        "generation": generation,
        "summary": summary,
        "flagged": [
            r.model_dump(mode="json")
            for r in results.values()
            if r.flagged or any(i.get("flagged") for i in r.items)
        ],
        "kept": sorted(composed.kept),
        "not_refreshed": sorted(composed.stale),
        "damaged": [d.__dict__ for d in composed.damaged],
        "unplaced": [u.__dict__ for u in composed.unplaced],
        "not_written": {fid: m.body for fid, m in composed.not_written.items()},
    }
    # The document last: a run killed before it leaves the old document, whose generation then
    # differs from the companions', so the next run does not trust their base.
    return {
        side["review_md"]: _document(review) + "\n" + generation_line(generation),
        side["review_json"]: json.dumps(review_json, indent=2),
        side["draft_json"]: json.dumps(draft_json, indent=2, ensure_ascii=False),
        output: _document(composed.markdown) + generation_line(generation),
    }


def write_atomic(files: dict[Path, str], unchanged: tuple[Path, str] | None = None) -> bool:
    """Write several files, in order, so that each is either the old or the complete new version.
    With `unchanged` (a path and its text as last read), nothing is written if the file no longer
    holds that text; returns whether the files were written."""
    for path in files:
        remove_stale_temps(path)
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _temp_path(path, os.getpid())
            temps.append((tmp, path))
            with tmp.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        if unchanged is not None and _read(unchanged[0]) != unchanged[1]:
            return False
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
    return True


def _temp_path(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.{pid}.tmp")


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files a killed run left next to `path` (their process is gone)."""
    removed = []
    prefix = f".{path.name}."
    for name in glob.glob(glob.escape(str(path.with_name(prefix))) + "*.tmp"):
        temp = Path(name)
        pid = temp.name[len(prefix) : -len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            removed.append(temp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of this process: nothing of it is being written now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def check_output(output: Path) -> None:
    """Fail before any model call when the draft could not be written: the output or one of its
    companion files is a directory, a file stands where a folder should be, or the folder it would
    be written to cannot be written. Nothing is created here."""
    try:
        str(output).encode("utf-8")
    except UnicodeEncodeError:
        raise OutputPathError(
            f"-o {output!r}: the path is not valid UTF-8.", hint="Choose an output path in UTF-8."
        ) from None
    for path in (output, *companion_paths(output).values()):
        if path.is_dir():
            raise OutputPathError(
                f"-o {output}: {path} is a directory.",
                hint=f"Give a file path, e.g. -o {output / 'ARCHITECTURE.md'}.",
            )
    folder = output.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(
            f"-o {output}: {folder} is a file, not a folder.", hint="Choose another output path."
        )
    try:
        # os.access says yes to root and ignores read-only mounts: only a real write is sure.
        handle, probe = tempfile.mkstemp(prefix=".docagent-write-check-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(
            f"-o {output}: cannot write in {folder} ({exc.strerror or exc}).",
            hint="Choose a writable folder with -o, or fix its permissions.",
        ) from None
