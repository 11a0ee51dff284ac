"""Token counting with tiktoken, offline.

tiktoken downloads its encodings on first use. The `bpe-openai` package ships the same files, so we
place them where tiktoken's own cache looks (named by the sha1 of the URL) and let tiktoken verify
the sha256 it expects. No network, same encodings.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import os
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import tiktoken

from agent.base.config import home
from agent.base.errors import DocAgentError

DEFAULT_ENCODING = "cl100k_base"
_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


@contextlib.contextmanager
def _cache_dir(path: Path) -> Iterator[None]:
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before


def _install(name: str, cache: Path) -> None:
    target = cache / hashlib.sha1(_URL.format(name=name).encode()).hexdigest()
    if target.exists():
        return
    # find_spec locates the package without importing it (its import alone takes over a second).
    spec = importlib.util.find_spec("bpe_openai")
    locations = list(spec.submodule_search_locations or []) if spec else []
    source = Path(locations[0]) / "data" / f"{name}.tiktoken.gz" if locations else Path()
    if not source.is_file():
        raise DocAgentError(
            f"No offline copy of the {name} token encoding.",
            hint="pip install bpe-openai (a docagent dependency) or use cl100k_base / o200k_base.",
        )
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(gzip.decompress(source.read_bytes()))
    tmp.replace(target)


@lru_cache(maxsize=4)
def encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """A tiktoken encoding, loaded without network."""
    cache = home() / "tiktoken"
    _install(name, cache)
    with _cache_dir(cache):
        return tiktoken.get_encoding(name)


def count(text: str, name: str = DEFAULT_ENCODING) -> int:
    """Tokens in one text."""
    return len(encoding(name).encode_ordinary(text))


def count_many(texts: list[str], name: str = DEFAULT_ENCODING) -> list[int]:
    """Tokens in many texts, in one batched pass (much faster than one call each)."""
    if not texts:
        return []
    batches = encoding(name).encode_ordinary_batch(texts, num_threads=os.cpu_count() or 2)
    return [len(b) for b in batches]
