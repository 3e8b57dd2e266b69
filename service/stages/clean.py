"""Clean stage: the article body and its metadata, with the page chrome removed.

HTML goes through a main-content extractor (html.py: trafilatura in "quality" mode,
resiliparse in "fast" mode) and then a light line filter; flattened text goes through
the line-level cleaner (text.py). Both paths share normalisation (ftfy, NFC, whitespace)
and, when a `BoilerplateMemory` is given, per-source learned boilerplate.
"""

from __future__ import annotations

import hashlib

from url_normalize import url_normalize

from service.errors import EmptyContent, NoArticle, PayloadTooLarge
from service.models import CleanedArticle, CleaningReport, RawArticle
from service.settings import CleanConfig
from service.stages.boilerplate import BoilerplateMemory, source_key
from service.stages.html import HtmlResult, extract_fast, extract_quality
from service.stages.metadata import PageMeta
from service.stages.text import TextResult, clean_lines, filter_extracted, normalise, split_lines

__all__ = ["BoilerplateMemory", "article_id", "canonical_url", "clean"]


def clean(
    raw: RawArticle, cfg: CleanConfig, memory: BoilerplateMemory | None = None
) -> CleanedArticle:
    """One raw page to a cleaned article, or a Rejection saying why not."""
    html, text = (raw.html or "").strip(), (raw.text or "").strip()
    if not html and not text:
        raise EmptyContent()
    learn = memory if cfg.learn_boilerplate else None
    key = source_key(raw.source, raw.url)
    meta = PageMeta()
    result: TextResult | None = None
    kind: str = "html"
    if html:
        if len(html) > cfg.max_html_chars:
            raise PayloadTooLarge(f"{len(html)} HTML chars, limit {cfg.max_html_chars}")
        extracted: HtmlResult = (extract_fast if cfg.mode == "fast" else extract_quality)(html)
        meta = extracted.meta
        lines = [ln for ln in normalise(extracted.text).split("\n") if ln]
        if lines:
            learned = learn.observe(key, lines) if learn else None
            result = filter_extracted(lines, title_hint=raw.title or meta.title, learned=learned)
    if result is None or (not result.paragraphs and text):
        kind = "text" if text else "html"
        lines = split_lines(normalise(text)) if text else []
        learned = learn.observe(key, lines) if learn and lines else None
        result = clean_lines(lines, title_hint=raw.title, learned=learned)

    body = "\n\n".join(result.paragraphs)
    if not body:
        raise NoArticle(f"no body left after removing {sum(result.removed.values())} lines")
    if len(body) < cfg.min_text_chars:
        raise NoArticle(f"{len(body)} chars of body left, under the {cfg.min_text_chars} minimum")
    canonical = canonical_url(raw.url)
    report = CleaningReport(
        input_kind="html" if kind == "html" else "text",
        lines_kept=result.lines_kept,
        lines_removed=sum(result.removed.values()),
        removed=dict(result.removed),
    )
    return CleanedArticle(
        id=article_id(raw.id, canonical, body),
        url=raw.url,
        canonical_url=canonical,
        source=raw.source or result.dateline_source,
        title=raw.title or result.title or meta.title,
        text=body,
        dateline=result.dateline,
        byline=result.byline or meta.byline,
        published_at=meta.published_at,
        tags=result.tags or meta.tags,
        fetched_at=raw.fetched_at,
        cleaning=report,
        language_hint=raw.language,
        section_hint=raw.section,
    )


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
