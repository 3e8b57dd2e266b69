"""Cheap page metadata (title, byline, published date, tags) from meta tags, JSON-LD, <time>.

Used by the fast HTML path (regexes over the markup, no trafilatura) and to fill what the
quality path's extractor missed. Nothing here fetches anything: JSON-LD is parsed as
plain JSON, never as linked data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from typing import Any

MAX_JSONLD_CHARS = 200_000
MAX_TAGS = 30
_ARTICLE_TYPES = ("article", "newsarticle", "reportagenewsarticle", "blogposting", "webpage")

_TITLE_KEYS = ("og:title", "twitter:title", "title", "headline", "dc.title")
_AUTHOR_KEYS = (
    "author", "article:author", "byl", "dc.creator", "parsely-author", "sailthru.author",
)
_DATE_KEYS = (
    "article:published_time", "og:published_time", "datepublished", "publishdate", "pubdate",
    "date", "dc.date", "dc.date.issued", "parsely-pub-date", "sailthru.date", "publish-date",
)
_TAG_KEYS = ("article:tag", "news_keywords", "keywords", "parsely-tags")
_TAG_SPLIT_RE = re.compile(r"\s*[,;]\s*")
_META_RE = re.compile(r"<meta\b[^>]{0,2000}>", re.IGNORECASE)
_TIME_RE = re.compile(r"<time\b[^>]{0,500}\bdatetime\s*=[^>]{0,500}>", re.IGNORECASE)
_ATTR_RE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Only the opening tag: the end is found with str.find, since a lazy `(.*?)</script>`
# rescans to the end of the page for every unclosed opening tag (quadratic).
_JSONLD_OPEN_RE = re.compile(
    r"<script\b[^>]{0,300}application/ld\+json[^>]{0,300}>", re.IGNORECASE
)
MAX_JSONLD_BLOCKS = 20
_SCRIPT_END_RE = re.compile("</script", re.IGNORECASE | re.ASCII)


@dataclass
class PageMeta:
    title: str | None = None
    byline: str | None = None
    published_at: datetime | None = None
    tags: list[str] = field(default_factory=list)


def parse_date(value: object) -> datetime | None:
    """ISO 8601 / RFC 3339 (or a bare date) to an aware UTC datetime; None if unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)  # +0300 -> +03:00
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if not 1990 <= parsed.year <= 2100:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def split_tags(values: list[str]) -> list[str]:
    """Comma-joined tag strings to distinct, trimmed tags, order kept, bounded."""
    seen: dict[str, str] = {}
    for value in values:
        for tag in _TAG_SPLIT_RE.split(value):
            tag = " ".join(tag.split())
            if tag and len(tag) <= 80 and tag.casefold() not in seen:
                seen[tag.casefold()] = tag
    return list(seen.values())[:MAX_TAGS]


def _jsonld_objects(html: str) -> Iterator[dict[str, Any]]:
    """The article objects (by `@type`) in the page's JSON-LD blocks, in document order."""
    for raw in _jsonld_blocks(html):
        if len(raw) > MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # deep nesting exhausts json's recursion
            continue
        yield from _article_nodes(data)


def _jsonld_blocks(html: str) -> Iterator[str]:
    """The text of the first MAX_JSONLD_BLOCKS JSON-LD script elements that are closed."""
    pos = 0
    for _ in range(MAX_JSONLD_BLOCKS):
        match = _JSONLD_OPEN_RE.search(html, pos)
        if match is None:
            return
        # Case-blind search, not a lower-cased copy of the page: that copy was a tenth
        # of the fast path's time, and its offsets drift after a character whose lower
        # case is longer (İ).
        end = _SCRIPT_END_RE.search(html, match.end())
        if end is None:
            return
        yield html[match.end():end.start()]
        pos = end.start()


def _article_nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Objects of an article type anywhere in lists and `@graph`s, without recursion."""
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if "@graph" in node:
                stack.append(node["@graph"])
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds):
                yield node


def _attrs(tag: str) -> dict[str, str]:
    """A tag's attributes, names lower-cased, values unescaped; the last of a repeated name.

    `findall` gives "" for the two value forms not used, so `a or b or c` is the value
    (all "" when it is an empty quoted one): half the cost of a Match object apiece."""
    out: dict[str, str] = {}
    for name, a, b, c in _ATTR_RE.findall(tag):
        value = a or b or c
        out[name.lower()] = unescape(value) if "&" in value else value
    return out


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for item in value for n in _names(item)]
    return []


def from_html(html: str, title: str | None = None) -> PageMeta:
    """Metadata by regex over the raw markup (no DOM walk: the fast path parses once).

    `title` is the <title> the caller's parser already found, used as a last resort."""
    metas: dict[str, list[str]] = {}
    for match in _META_RE.finditer(html):
        attrs = _attrs(match.group(0))
        key = attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or ""
        content = attrs.get("content", "").strip()
        if key and content:
            metas.setdefault(key.strip().lower(), []).append(content)

    def first(keys: tuple[str, ...]) -> str | None:
        return next((metas[k][0] for k in keys if k in metas), None)

    meta = PageMeta()
    ld = next(_jsonld_objects(html), None) or {}
    headline = ld.get("headline")
    meta.title = (headline if isinstance(headline, str) else None) or first(_TITLE_KEYS)
    meta.title = meta.title or (title.strip() if title else None) or None
    authors = [a for a in _names(ld.get("author")) if a and "://" not in a]
    author = ", ".join(authors) if authors else first(_AUTHOR_KEYS)
    meta.byline = author if author and "://" not in author else None
    meta.published_at = parse_date(ld.get("datePublished")) or parse_date(first(_DATE_KEYS))
    if meta.published_at is None:
        time_tag = _TIME_RE.search(html)
        when = _attrs(time_tag.group(0)).get("datetime") if time_tag else None
        meta.published_at = parse_date(when)
    tags: list[str] = []
    for key in _TAG_KEYS:
        tags.extend(metas.get(key, []))
    keywords = ld.get("keywords")
    tags.extend(_names(keywords) if not isinstance(keywords, str) else [keywords])
    meta.tags = split_tags(tags)
    return meta
