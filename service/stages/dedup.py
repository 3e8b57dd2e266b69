"""Dedup stage: first seen wins; later exact copies point at it."""

from __future__ import annotations

import re
from typing import Any, Protocol

import xxhash

from service.models import Dedup, TaggedArticle
from service.settings import DedupConfig

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


class DedupIndex(Protocol):
    """A key-value store of JSON-able values: a dict in batch mode, a faust Table in the worker."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def __setitem__(self, key: str, value: Any) -> None: ...

    def __delitem__(self, key: str) -> None: ...


def body_fingerprint(text: str) -> str:
    """Lowercased, punctuation and whitespace stripped, then xxh3-128."""
    normalised = _NON_WORD.sub("", text.lower())
    return xxhash.xxh3_128_hexdigest(normalised.encode("utf-8"))


def deduplicate(article: TaggedArticle, index: DedupIndex, cfg: DedupConfig) -> Dedup:
    key = f"x:{body_fingerprint(article.text)}"
    first = index.get(key)
    if first is not None and first != article.id:
        return Dedup(status="duplicate", duplicate_of=first, similarity=1.0)
    index[key] = article.id
    return Dedup(status="unique")
