"""Scores one draft against a repository's truth, without a model.

Every figure is lexical and re-reads the repository itself: docagent's own verifier is not trusted
to grade its own citations. The rules (hand-worked examples in tests/test_quality_score.py):

- stack: a drafted value is correct when it contains one of the truth's keywords (whole words,
  case-insensitive); a `null` truth is correct when the draft says not found / not applicable / none.
  A stated value that is wrong (or stated where the truth is `null`) is a **false claim**.
- modules: a truth component is recalled when one of its names appears in the draft's Service/Module
  Decomposition items.
- rationale: a truth reason is recalled when all its keyword groups appear together in one drafted
  field or group item.
- citations: a shown citation is valid when its lines exist and, with the value's other citations,
  hold at least half of the value's content words.
- existence: the share of backticked paths and identifiers in the draft that exist in the repository.
- evidence sufficiency: whether the truth's `path:line` lay inside the evidence of the call that fills
  its field (read from the plan in .draft.json; facts count their own citations).

A value that only repeats the template's placeholder text counts as not answered.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from bench.quality_truth import ComponentTruth, RepoTruth, keyword_alternatives, parse_at

# Overview template field ids (suffixes) of the stack keys.
STACK_FIELDS = {
    "language": "backend-technology-stack.language",
    "framework": "backend-technology-stack.framework",
    "orm": "backend-technology-stack.orm-database-layer",
    "api_framework": "backend-technology-stack.api-framework",
    "validation": "backend-technology-stack.validation-serialization",
    "frontend": "frontend-technology-stack-if-applicable.framework",
    "database": "database-storage.database",
    "migrations": "database-storage.migration-tool",
    "storage": "database-storage.storage-solution",
    "caching": "database-storage.caching",
    "containers": "infrastructure-deployment.containerization",
    "cloud": "infrastructure-deployment.cloud-platform",
    "ci_cd": "infrastructure-deployment.ci-cd",
    "test_framework": "development-tools.testing-framework",
    "code_quality": "development-tools.code-quality",
    "documentation": "development-tools.documentation",
    "architecture_style": "high-level-architecture.architecture-style",
    "deployment_model": "high-level-architecture.deployment-model",
    "communication_patterns": "high-level-architecture.communication-patterns",
}
DECOMPOSITION = "service-module-decomposition.service-module"
ENV_TABLE = "environment-variables.environment-variables"
LOCATION_TABLES = (
    "code-locations.backend-api.backend-api",
    "code-locations.frontend-client.frontend-client",
)

_NONE_RE = re.compile(
    r"^\W*(none|n/a|na|not (found|applicable|used|present|recorded)|no\b[^.]{0,40}$)(\b|$)"
    r"|^\W*$",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+#.-]*[A-Za-z0-9+#]|[A-Za-z0-9]+")
_STOP = set(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "is",
        "are",
        "be",
        "as",
        "at",
        "it",
        "its",
        "this",
        "that",
        "from",
        "into",
        "via",
        "uses",
        "use",
        "used",
        "using",
        "which",
        "when",
        "where",
        "what",
        "how",
        "why",
        "not",
        "no",
        "all",
        "any",
        "each",
        "per",
        "their",
        "there",
        "these",
        "those",
        "has",
        "have",
        "was",
        "were",
        "can",
        "will",
        "may",
        "than",
        "then",
        "also",
        "etc",
        "e.g",
        "i.e",
    ]
)
_META_KEYS = {"citations", "flagged", "reasons", "confidence", "model_confidence", "basis", "note"}
_BACKTICK_RE = re.compile(r"`([^`\n]+)`")
_FILE_EXT_RE = re.compile(
    r"\.(py|pyi|ts|tsx|js|jsx|mjs|go|rs|rb|java|kt|md|rst|toml|json|ya?ml|txt|cfg|ini|sh|sql|html|"
    r"css|vue|svelte|lock|proto)$"
)
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?$")
_PATHISH_RE = re.compile(r"^[\w.@-]+(?:/[\w.@*-]*)+/?$|^[\w@-]+\.[A-Za-z0-9]{1,6}$")


def _normalized(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return " ".join(w for w in words if w not in ("etc", "e", "g", "eg"))


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text without stop words, crudely stemmed ("caching" and "cache",
    "databases" and "database" meet); paths and dotted names count by their parts."""
    words = set()
    for token in _WORD_RE.findall(text.lower()):
        for w in re.split(r"[./_-]+", token):
            if len(w) < 2 or w in _STOP:
                continue
            words.add(_stem(w) if w.isalpha() else w)
    return words


def has_keyword(text: str, alternative: str) -> bool:
    """Whether a whole-word (or whole-phrase) occurrence is in the text, case-insensitive."""
    # A hyphen joins a name ("typst-library" is not "typst"); a slash or dot ends it.
    pattern = r"(?<![\w-])" + re.escape(alternative.strip()) + r"(?![\w-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def any_keyword(text: str, keywords: list[str]) -> bool:
    """Any alternative of any keyword group occurs."""
    return any(has_keyword(text, alt) for alt in keyword_alternatives(keywords))


def all_groups(text: str, keywords: list[str]) -> bool:
    """Every keyword group (each 'a|b' being alternatives) occurs."""
    return all(
        any(has_keyword(text, alt) for alt in group.split("|") if alt.strip()) for group in keywords
    )


def flatten(value: Any) -> str:
    """All text of a drafted value (strings, lists, table rows, group items), meta keys left out."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(flatten(v) for k, v in value.items() if k not in _META_KEYS)
    if isinstance(value, list):
        return "\n".join(flatten(v) for v in value)
    return str(value)


@dataclass
class Draft:
    """A draft as docagent wrote it: its .draft.json and its Markdown."""

    fields: dict[str, dict[str, Any]]
    plan: list[dict[str, Any]]
    markdown: str
    summary: dict[str, Any]
    placeholders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(
        cls, data: dict[str, Any], markdown: str, placeholders: dict[str, str] | None = None
    ) -> Draft:
        """From the parsed .draft.json and the Markdown file."""
        return cls(
            {f["id"]: f for f in data.get("fields", [])},
            data.get("plan", []),
            markdown,
            data.get("summary", {}),
            placeholders or {},
        )

    def find(self, suffix: str) -> dict[str, Any] | None:
        """The field result whose id ends with this suffix."""
        for fid, result in self.fields.items():
            if fid == suffix or fid.endswith("." + suffix):
                return result
        return None

    def copies_placeholder(self, fid: str, text: str) -> bool:
        """Whether the text repeats the template's placeholder for this field ("Docker,
        Kubernetes, etc.") rather than answering it; naming one of the template's example options
        ("Docker") is an answer."""
        own = _normalized(self.placeholders.get(fid, ""))
        value = _normalized(text)
        if not own or not value:
            return False
        if len(own.split()) >= 3 and own in value:
            return True
        return SequenceMatcher(None, value, own).ratio() >= 0.85

    def item_copies_placeholder(self, item: dict[str, Any]) -> bool:
        """Whether every value of a group item repeats its field's placeholder."""
        values = [
            (k, flatten(v).strip())
            for k, v in item.items()
            if k not in _META_KEYS and flatten(v).strip()
        ]
        return bool(values) and all(self.copies_placeholder(k, v) for k, v in values)

    def claim(self, result: dict[str, Any] | None) -> tuple[str, bool]:
        """The value a reader sees as an answer ("" when the field says not found, not
        applicable or none), and whether it only repeats the template's placeholder."""
        if result is None or result.get("status") != "answered":
            return "", False
        text = flatten(result.get("value")).strip()
        if not text or _NONE_RE.match(text):
            return "", False
        return text, self.copies_placeholder(result["id"], text)

    def stated(self, result: dict[str, Any] | None) -> str:
        """The value as an answer; "" when there is none or it copies the placeholder."""
        text, copied = self.claim(result)
        return "" if copied else text

    def texts(self) -> list[tuple[str, str]]:
        """Each answered field's text, and each group item's text, separately."""
        out = []
        for fid, result in self.fields.items():
            if result.get("status") != "answered":
                continue
            if result.get("items"):
                for item in result["items"]:
                    if not self.item_copies_placeholder(item):
                        out.append((fid, flatten(item)))
            else:
                text = self.stated(result)
                if text:
                    out.append((fid, text))
        return out

    def evidence_of(self, fid: str) -> list[str]:
        """The `path:start-end` spans shown to the call that filled a field (facts: citations)."""
        spans = []
        for call in self.plan:
            if fid in call.get("field_ids", []):
                spans += call.get("evidence_spans", [])
        result = self.fields.get(fid)
        if result and result.get("source") == "facts":
            cites = list(result.get("citations", []))
            cites += [c for item in result.get("items", []) for c in item.get("citations", [])]
            spans += [f"{c['path']}:{c['start_line']}-{c['end_line']}" for c in cites]
        return spans

    def all_evidence(self) -> list[str]:
        """Every evidence span of every call."""
        return [s for call in self.plan for s in call.get("evidence_spans", [])]


def _inside(at: str, spans: Iterable[str]) -> bool:
    path, start, end = parse_at(at)
    for span in spans:
        if ":" not in span:
            continue
        try:
            p, s, e = parse_at(span)
        except ValueError:
            continue
        if p == path and s <= end and start <= e:
            return True
    return False


class RepoFiles:
    """The repository a draft was made from, read independently of docagent's index."""

    def __init__(self, root: Path) -> None:
        self.root = root
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=False
        )
        self.paths = {p for p in out.stdout.decode("utf-8", "replace").split("\0") if p}
        self.dirs = {str(Path(p).parent) for p in self.paths} | {
            "/".join(p.split("/")[:n]) for p in self.paths for n in range(1, p.count("/") + 1)
        }
        self.names = {p.rsplit("/", 1)[-1] for p in self.paths}
        self._lines: dict[str, list[str] | None] = {}
        self._idents: dict[str, bool] = {}
        self._texts: dict[str, bool] = {}

    def lines(self, path: str) -> list[str] | None:
        """A file's lines, or None."""
        if path not in self._lines:
            try:
                text = (self.root / path).read_text(encoding="utf-8", errors="replace")
                self._lines[path] = text.split("\n")
            except OSError:
                self._lines[path] = None
        return self._lines[path]

    def commit_message(self, ref: str) -> str | None:
        """A commit's message, or None."""
        proc = subprocess.run(
            ["git", "-C", str(self.root), "log", "-1", "--format=%B", ref],
            capture_output=True,
            check=False,
        )
        return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None

    def path_exists(self, path: str) -> bool:
        """A file or directory, or a file name that some file has."""
        p = path.strip().strip("/").removeprefix("./")
        p = re.sub(r":\d+(-\d+)?$", "", p)
        return (
            p in self.paths
            or p in self.dirs
            or p in self.names
            or any(x.endswith("/" + p) for x in self.paths)
        )

    def text_exists(self, text: str) -> bool:
        """Whether a tracked file holds the text as written."""
        if text not in self._texts:
            # As a whole name: `example.com/pkg/api` is not in `example.com/pkg/api.go`.
            bounded = r"(?<![\w./-])" + re.escape(text) + r"(?![\w.-])"
            proc = subprocess.run(
                ["git", "-C", str(self.root), "grep", "-q", "-P", "-I", "-e", bounded],
                capture_output=True,
                check=False,
            )
            self._texts[text] = proc.returncode == 0
        return self._texts[text]

    def identifier_exists(self, ident: str) -> bool:
        """Whether the identifier (its last dotted part) occurs as a word in a tracked file."""
        name = re.split(r"\.|::", ident.removesuffix("()"))[-1]
        if name not in self._idents:
            proc = subprocess.run(
                ["git", "-C", str(self.root), "grep", "-q", "-w", "-F", "-I", "-e", name],
                capture_output=True,
                check=False,
            )
            self._idents[name] = proc.returncode == 0
        return self._idents[name]


def score_stack(truth: RepoTruth, draft: Draft) -> dict[str, Any]:
    """Stack accuracy and false claims, per key."""
    per: dict[str, str] = {}
    for key, suffix in STACK_FIELDS.items():
        entry = truth.stack[key]
        text, copied = draft.claim(draft.find(suffix))
        if copied:
            # The template's own example list is shown as if it were the answer.
            per[key] = "false"
        elif entry is None:
            per[key] = "false" if text else "correct"
        elif not text:
            per[key] = "missed"
        else:
            per[key] = "correct" if any_keyword(text, entry.keywords) else "false"
    correct = sum(v == "correct" for v in per.values())
    return {
        "accuracy": correct / len(per),
        "correct": correct,
        "false_claims": sum(v == "false" for v in per.values()),
        "missed": sum(v == "missed" for v in per.values()),
        "fields": per,
    }


def score_modules(truth: RepoTruth, draft: Draft) -> dict[str, Any]:
    """Share of the maintainers' components named in the decomposition."""
    text = "\n".join(t for fid, t in draft.texts() if fid.endswith(DECOMPOSITION))
    found = [c.name for c in truth.components if any_keyword(text, c.keywords)]
    return {"recall": len(found) / len(truth.components), "found": found}


def score_rationale(truth: RepoTruth, draft: Draft) -> dict[str, Any]:
    """Share of documented reasons whose keywords appear together in one field or item."""
    texts = [t for _, t in draft.texts()]
    found = [r.why for r in truth.rationale if any(all_groups(t, r.keywords) for t in texts)]
    return {"recall": len(found) / len(truth.rationale), "found": found}


INFERRED_REASON = "inferred from the code's structure"


def _citations(draft: Draft) -> Iterable[tuple[str, list[dict[str, Any]], bool]]:
    """Each answered value with its citations, and whether docagent states it as an inference
    from the code's structure (a style, a deployment model ...) rather than a quote or a fact."""
    for result in draft.fields.values():
        if result.get("status") != "answered":
            continue
        if result.get("items"):
            for item in result["items"]:
                inferred_item = any(INFERRED_REASON in r for r in item.get("reasons") or [])
                yield flatten(item), item.get("citations", []), inferred_item
        else:
            inferred = result.get("source") == "facts" and any(
                INFERRED_REASON in r for r in result.get("reasons") or []
            )
            yield flatten(result.get("value")), result.get("citations", []), inferred


def score_citations(draft: Draft, repo: RepoFiles) -> dict[str, Any]:
    """Shown citations whose lines exist and, together, hold half the value's content words.

    A value inferred from structure ("Monolithic web application (34 HTTP routes)") is not stated
    by any line; its citations point at what it was inferred from. They are counted apart
    (`inferred_validity`: each cited line exists and shares a word with the value) and also,
    unchanged, in `validity_all` under the quoting rule, so the figures stay comparable."""
    shown = valid = 0
    bad: list[str] = []
    inferred_shown = inferred_valid = 0
    all_shown = all_valid = 0
    for value, cites, inferred in _citations(draft):
        words = content_words(value)
        texts = []
        exists = []
        for c in cites:
            path = c["path"]
            if path.startswith("commit:"):
                body = repo.commit_message(path.removeprefix("commit:"))
            else:
                lines = repo.lines(path)
                ok = lines is not None and 1 <= c["start_line"] <= c["end_line"] <= len(lines)
                body = "\n".join(lines[c["start_line"] - 1 : c["end_line"]]) if ok else None  # type: ignore[index]
            exists.append(body is not None)
            texts.append(body or "")
        # The cited file's own path supports a value that names it ("`src/flask/ctx.py`").
        cited_words = content_words("\n".join(texts + [c["path"] for c in cites]))
        supported = not words or len(words & cited_words) >= 0.5 * len(words)
        for c, ok, body in zip(cites, exists, texts, strict=True):
            shares = not words or bool(words & content_words(f"{body} {c['path']}"))
            quoted_ok = ok and supported and shares
            all_shown += 1
            all_valid += quoted_ok
            if inferred:
                inferred_shown += 1
                inferred_valid += ok and shares
                continue
            shown += 1
            if quoted_ok:
                valid += 1
            else:
                bad.append(f"{c['path']}:{c['start_line']}-{c['end_line']}")
    return {
        "validity": valid / shown if shown else None,
        "shown": shown,
        "invalid": bad[:20],
        "inferred_validity": inferred_valid / inferred_shown if inferred_shown else None,
        "inferred_shown": inferred_shown,
        "validity_all": all_valid / all_shown if all_shown else None,
    }


def score_existence(draft: Draft, repo: RepoFiles, template_text: str) -> dict[str, Any]:
    """Share of backticked paths and identifiers (not from the template) that exist: as a path, or
    as a word in a tracked file (`datasette.client`, `Store.open()`)."""
    own = set(_BACKTICK_RE.findall(template_text))
    checked = present = 0
    missing: list[str] = []
    for raw in _BACKTICK_RE.findall(draft.markdown):
        span = re.sub(r":\d+(-\d+)?$", "", raw.strip())
        if raw in own or span in own:
            continue
        if re.fullmatch(r"[0-9a-f]{7,40}", span):
            # A commit reference.
            ok = repo.commit_message(span) is not None
            checked += 1
            present += ok
            if not ok:
                missing.append(span)
            continue
        pathish = bool(_PATHISH_RE.match(span)) and not span.replace(".", "").isdigit()
        # A name ending in a file extension is a path, never an identifier.
        ident = bool(_IDENT_RE.match(span)) and len(span) > 2 and not _FILE_EXT_RE.search(span)
        if not (pathish or ident):
            continue
        # A Go module or import path (`cloud.google.com/go/profiler`) names a package, not a file:
        # it exists when a tracked file writes it.
        module = bool(
            pathish
            and "/" in span
            # A host (Go), or an npm scope (`@sentry/node`).
            and re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+|@[a-z0-9][\w.-]*", span.split("/")[0])
        )
        ok = (
            (pathish and repo.path_exists(span))
            or (ident and repo.identifier_exists(span))
            or (module and repo.text_exists(span))
        )
        checked += 1
        present += ok
        if not ok:
            missing.append(span)
    return {
        "ratio": present / checked if checked else None,
        "checked": checked,
        "missing": missing[:20],
    }


def _span_texts(spans: Iterable[str], repo: RepoFiles) -> list[str]:
    texts = []
    for span in spans:
        if span.startswith("commit:"):
            texts.append(repo.commit_message(span.removeprefix("commit:")) or "")
            continue
        try:
            path, start, end = parse_at(span)
        except ValueError:
            continue
        lines = repo.lines(path) or []
        texts.append("\n".join(lines[start - 1 : end]))
    return texts


def score_sufficiency(truth: RepoTruth, draft: Draft, repo: RepoFiles) -> dict[str, Any]:
    """Share of truth entries that reached the call filling their field: the truth's own lines,
    or an evidence item stating the same thing (its keywords), were shown to that call."""
    reached: dict[str, bool] = {}
    for key, suffix in STACK_FIELDS.items():
        entry = truth.stack[key]
        result = draft.find(suffix)
        if entry is None or result is None:
            continue
        spans = draft.evidence_of(result["id"])
        # A value read from facts or the repository model that states the truth had what it
        # needed, whatever lines it cites (a model's answer must show its evidence).
        stated, copied = draft.claim(result)
        from_facts = result.get("source") == "facts"
        reached[f"stack.{key}"] = (
            (from_facts and bool(stated) and not copied and any_keyword(stated, entry.keywords))
            or (repo.path_exists(parse_at(entry.at)[0]) and _inside(entry.at, spans))
            or any(any_keyword(t, entry.keywords) for t in _span_texts(spans, repo))
        )
    group = draft.find(DECOMPOSITION)
    if group is not None:
        spans = draft.evidence_of(group["id"])
        texts = _span_texts(spans, repo)
        for c in truth.components:
            code = any(
                s.split(":")[0] == p or s.split(":")[0].startswith(p.rstrip("/") + "/")
                for s in spans
                for p in c.paths
            )
            named = any(any_keyword(t, c.keywords) for t in texts)
            reached[f"component.{c.name}"] = code or named
    everything = draft.all_evidence()
    for r in truth.rationale:
        target = draft.find(r.field) if r.field else None
        spans = draft.evidence_of(target["id"]) if target else everything
        reached[f"rationale.{r.why}"] = (
            repo.path_exists(parse_at(r.at)[0]) and _inside(r.at, spans)
        ) or any(all_groups(t, r.keywords) for t in _span_texts(spans, repo))
    n = len(reached)
    return {
        "share": sum(reached.values()) / n if n else None,
        "entries": n,
        "missed": [k for k, v in reached.items() if not v],
    }


def score_static(draft: Draft) -> dict[str, Any]:
    """A plan without a model: the fields (and group items) docagent answered on its own."""
    answered = [r for r in draft.fields.values() if r.get("status") == "answered"]
    return {
        "answered": len(answered),
        "flagged": sum(1 for r in answered if r.get("flagged")),
        "items": sum(len(r.get("items") or []) for r in answered),
    }


def score_coverage(draft: Draft) -> dict[str, Any]:
    """Fields answered / flagged / not found / not drafted, and the run's cost."""
    s = draft.summary
    seconds = s.get("seconds") or 0.0
    return {
        "answered": s.get("answered", 0),
        "flagged": s.get("flagged", 0),
        "not_found": s.get("not_found", 0) + s.get("not_applicable", 0),
        "not_drafted": s.get("errors", 0),
        "calls": s.get("model_calls", 0),
        "cache_hits": s.get("cache_hits", 0),
        "prompt_tokens": s.get("prompt_tokens", 0),
        "completion_tokens": s.get("completion_tokens", 0),
        "minutes": round(seconds / 60, 2),
        "model_share": round(s.get("model_seconds", 0.0) / seconds, 3) if seconds else None,
    }


def _first_cells(rows: Any) -> list[str]:
    names = []
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and row:
            first = flatten(next(iter(row.values()))).strip().strip("`").strip()
            if first and not _NONE_RE.match(first):
                names.append(first)
    return names


def _paths_in(rows: Any) -> list[str]:
    """Paths in a table's location column (or, without one, in any cell that is only a path)."""
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        cells = [v for k, v in row.items() if re.search(r"location|path|file", k, re.I)] or list(
            row.values()
        )
        for cell in cells:
            for token in re.split(r"[\s`,|()]+", flatten(cell)):
                token = re.sub(r":\d+(-\d+)?$", "", token.removeprefix("./")).rstrip("/")
                if "/" in token or re.match(r"^\.?[\w-]+\.[A-Za-z]{1,5}$", token):
                    found.append(token)
    return found


def score_component(truth: ComponentTruth, draft: Draft) -> dict[str, Any]:
    """Recall and precision of the Environment Variables and Code Locations tables."""
    env = draft.find(ENV_TABLE)
    drafted = _first_cells(env.get("value")) if env and env.get("status") == "answered" else []
    names = {v.name for v in truth.env_vars}
    env_hits = {n for n in drafted if n in names}
    paths: list[str] = []
    for suffix in LOCATION_TABLES:
        result = draft.find(suffix)
        if result and result.get("status") == "answered":
            paths += _paths_in(result.get("value"))
    wanted = sorted({loc.path.strip("/") for loc in truth.code_locations})

    def matches(drafted_path: str, truth_path: str) -> bool:
        return drafted_path == truth_path or drafted_path.startswith(truth_path + "/")

    loc_found = [t for t in wanted if any(matches(p, t) for p in paths)]
    loc_right = [p for p in paths if any(matches(p, t) for t in wanted)]
    return {
        "env_recall": len(env_hits) / len(names) if names else None,
        "env_precision": len(env_hits) / len(drafted) if drafted else None,
        "env_drafted": len(drafted),
        "locations_recall": len(loc_found) / len(wanted),
        "locations_precision": len(loc_right) / len(paths) if paths else None,
        "locations_drafted": len(paths),
    }
