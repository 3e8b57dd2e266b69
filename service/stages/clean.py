"""Clean stage: the article body and its metadata, with the page chrome removed."""

from __future__ import annotations

import hashlib
import unicodedata

import trafilatura
from url_normalize import url_normalize

from service.errors import EmptyContent, ExtractionFailed, NoArticle
from service.models import CleanedArticle, CleaningReport, RawArticle
from service.settings import CleanConfig

_UI_LINES = frozenset({"listen live", "get short url", "share", "print", "comments"})


def clean(raw: RawArticle, cfg: CleanConfig) -> CleanedArticle:
    html, text = (raw.html or "").strip(), (raw.text or "").strip()
    if not html and not text:
        raise EmptyContent()
    if html:
        body, report = _extract_html(html), CleaningReport(input_kind="html")
    else:
        body, report = _clean_text(text)
    if not body:
        raise NoArticle()
    canonical = canonical_url(raw.url)
    return CleanedArticle(
        id=article_id(raw.id, canonical, body),
        url=raw.url,
        canonical_url=canonical,
        source=raw.source,
        title=raw.title,
        text=body,
        fetched_at=raw.fetched_at,
        cleaning=report,
        language_hint=raw.language,
        section_hint=raw.section,
    )


def _extract_html(html: str) -> str:
    try:
        body = trafilatura.extract(html, include_comments=False, include_tables=False)
    except Exception as exc:  # noqa: BLE001 - third-party errors become a rejection here
        raise ExtractionFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    return _normalise(body or "")


def _clean_text(text: str) -> tuple[str, CleaningReport]:
    kept, removed = [], 0
    for line in _normalise(text).split("\n\n"):
        if line.lower() in _UI_LINES:
            removed += 1
        else:
            kept.append(line)
    report = CleaningReport(
        input_kind="text", lines_kept=len(kept), lines_removed=removed,
        removed={"ui": removed} if removed else {},
    )
    return "\n\n".join(kept), report


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(line for line in lines if line)


def canonical_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return str(url_normalize(url.strip()))
    except Exception:  # noqa: BLE001 - a bad URL is kept as given, never fatal
        return None


def article_id(given: str | None, canonical: str | None, body: str) -> str:
    """The scraper's id, else one derived from the canonical URL, else from the content."""
    if given:
        return given
    basis = f"url:{canonical}" if canonical else f"text:{body}"
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=12).hexdigest()
