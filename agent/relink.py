"""`docagent check --fix-moved`: point moved citations at their new lines, in the document and its
record, atomically. A value docagent still owns keeps an untouched marker (its hash follows the new
text); a reviewed or edited one keeps its state and hash.
"""

from __future__ import annotations

import json
import re

from agent.document.markers import body_hash, find_markers
from agent.draft.check import CheckReport, load_record
from agent.draft.outputs import companion_paths, write_atomic
from agent.draft.report import sources


def fix_moved(report: CheckReport, link_base: str) -> int:
    """Rewrite moved citations in the document and its record (atomically, markers kept);
    returns how many citations moved."""
    text, data = load_record(report.document)
    document = data.get("document") if isinstance(data.get("document"), str) else None
    moved = {
        (c.citation.path, c.citation.start_line, c.citation.end_line): c
        for f in report.fields
        for c in f.citations
        if c.state == "moved" and c.moved_to
    }
    if not moved:
        return 0
    found = find_markers(text)
    markers = {**found.orphans, **found.markers}
    by_field = {f.id: f for f in report.fields}
    pieces: list[tuple[int, int, str]] = []
    links: dict[str, str] = {}
    for c in (c for f in report.fields for c in f.citations):
        if c.state == "moved" and c.moved_to is not None:
            new = c.citation.model_copy(
                update={"start_line": c.moved_to[0], "end_line": c.moved_to[1]}
            )
            links[sources([c.citation], link_base)[2:-1]] = sources([new], link_base)[2:-1]
    # One pass over each text, so a rewritten link is never rewritten again (5->6, then 6->7).
    pattern = re.compile("|".join(re.escape(k) for k in sorted(links, key=len, reverse=True)))

    def relink(text: str) -> str:
        return pattern.sub(lambda m: links[m.group(0)], text)

    rewritten_spans: set[tuple[str, int, int]] = set()
    for fid, marker in markers.items():
        if fid not in by_field:
            continue
        body = relink(marker.body)
        if body == marker.body:
            continue
        for c in by_field[fid].citations:
            if c.state == "moved" and sources([c.citation], link_base)[2:-1] in marker.body:
                rewritten_spans.add((c.citation.path, c.citation.start_line, c.citation.end_line))
        # docagent's own untouched value stays docagent's: its hash follows the new text.
        state_hash = body_hash(body) if marker.untouched else marker.hash
        opening = f"<!-- da:{fid} {marker.state} {state_hash} -->"
        rewritten = marker.text.replace(marker.text[: marker.text.index("-->") + 3], opening, 1)
        rewritten = rewritten.replace(marker.body, body, 1)
        pieces.append((marker.start, marker.end, rewritten))
    if document is not None:
        document = relink(document)
    for start, end, new_text in sorted(pieces, reverse=True):
        text = text[:start] + new_text + text[end:]
    for result in data["fields"]:
        for holder in [result, *(result.get("items") or [])]:
            for c in holder.get("citations") or []:
                key = (c.get("path"), c.get("start_line"), c.get("end_line"))
                hit = moved.get(key) if key in rewritten_spans else None
                if hit is not None and hit.moved_to is not None:
                    c["start_line"], c["end_line"] = hit.moved_to
    if document is not None:
        data["document"] = document
    companion = companion_paths(report.document)["draft_json"]
    write_atomic(
        {
            report.document: text,
            companion: json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        }
    )
    return len(rewritten_spans)
