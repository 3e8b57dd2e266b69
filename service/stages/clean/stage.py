"""Clean stage: the article body and its metadata, with the page chrome removed.

HTML goes through a main-content extractor (html.py: trafilatura in "quality" mode,
resiliparse in "fast" mode) and then a light line filter; flattened text goes through
the line-level cleaner (text.py). Both paths share normalisation (ftfy, NFC, whitespace)
and, when a `BoilerplateMemory` is given, per-source learned boilerplate.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable

from courlan import normalize_url
from url_normalize import url_normalize

from service.errors import EmptyContent, ExtractionTimeout, NoArticle, PayloadTooLarge
from service.models import CleanedArticle, CleaningReport, RawArticle
from service.settings import CleanConfig
from service.stages.clean.boilerplate import BoilerplateMemory, source_key
from service.stages.clean.html import (
    HtmlResult,
    extract_fast,
    extract_quality,
    flatten,
    parse_within_limits,
    strip_prologue,
)
from service.stages.clean.metadata import PageMeta, from_html
from service.stages.clean.text import (
    TextResult,
    clean_lines,
    filter_extracted,
    normalise,
    split_lines,
)

__all__ = ["BoilerplateMemory", "Deadline", "article_id", "canonical_url", "clean"]

# Everything but letters (of any script): what is left is what a reader reads.
_NON_LETTERS_RE = re.compile(r"[\W\d_]+")


class Deadline:
    """The clean stage's time budget, checked between steps and inside line loops.

    Cooperative: a C extension (lxml, lexbor) cannot be interrupted, so the input caps
    bound each step and this catches the sum of them on a slow or overloaded machine.
    `clock` gives the time in seconds (monotonic by default; tests pass a fake one)."""

    __slots__ = ("clock", "limit", "started")

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = seconds
        self.clock = clock
        self.started = clock()

    def check(self, step: str = "cleaning") -> None:
        elapsed = self.clock() - self.started
        if elapsed > self.limit:
            raise ExtractionTimeout(f"{elapsed:.2f}s at {step}, over the {self.limit:g}s deadline")


# What the source's learned boilerplate says of a page's lines (None: nothing learned).
Learned = Callable[[list[str]], list[bool] | None]


def clean(
    raw: RawArticle,
    cfg: CleanConfig,
    memory: BoilerplateMemory | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> CleanedArticle:
    """One raw page to a cleaned article, or a Rejection saying why not.

    HTML first; the text body when there is no HTML, or when the HTML gave no paragraphs."""
    deadline = Deadline(cfg.deadline_seconds, clock)
    html, text = _bodies(raw, cfg)
    learned = _learner(memory if cfg.learn_boilerplate else None, source_key(raw.source, raw.url))
    meta, result = PageMeta(), None
    if html:
        meta, result = _clean_html(html, raw.title, cfg, learned, deadline)
    kind = "html"
    if result is None or (not result.paragraphs and text):
        kind = "text" if text else "html"
        result = _clean_text(text, raw.title, learned, deadline)
    deadline.check("line cleaning")
    body = _body(result, cfg)
    return _article(raw, meta, result, body, kind)


def _bodies(raw: RawArticle, cfg: CleanConfig) -> tuple[str, str]:
    """The HTML and the normalised text, each within the size cap; one must be non-empty."""
    html, text = (raw.html or "").strip(), (raw.text or "").strip()
    for name, body in (("HTML", html), ("text", text)):
        # One cap for either body: past it no step's cost is bounded any more.
        if len(body) > cfg.max_html_chars:
            raise PayloadTooLarge(f"{len(body)} {name} chars, limit {cfg.max_html_chars}")
    text = normalise(text).strip() if text else ""
    if not html and not text:
        raise EmptyContent()
    return html, text


def _learner(memory: BoilerplateMemory | None, key: str | None) -> Learned:
    def learned(lines: list[str]) -> list[bool] | None:
        return memory.observe(key, lines) if memory and lines else None

    return learned


def _clean_html(
    html: str, title: str | None, cfg: CleanConfig, learned: Learned, deadline: Deadline
) -> tuple[PageMeta, TextResult | None]:
    """Main-content extraction and the light line filter; or, for a page too deep or with
    too many elements for a DOM, the page flattened and read like a flattened page."""
    html = strip_prologue(html)
    tree, too_big = parse_within_limits(html)
    if too_big is not None:
        meta = from_html(html)
        lines = split_lines(normalise(flatten(html)), tick=deadline.check)
        deadline.check("flattening")
        if not lines:
            return meta, None
        return meta, clean_lines(
            lines, title_hint=title or meta.title, learned=learned(lines), tick=deadline.check
        )
    extracted: HtmlResult = (
        extract_fast(html, tree) if cfg.mode == "fast" else extract_quality(html, tree)
    )
    deadline.check("extraction")
    meta = extracted.meta
    lines = [ln for ln in normalise(extracted.text).split("\n") if ln]
    if not lines:
        return meta, None
    return meta, filter_extracted(
        lines, title_hint=title or meta.title, learned=learned(lines), tick=deadline.check
    )


def _clean_text(
    text: str, title: str | None, learned: Learned, deadline: Deadline
) -> TextResult:
    """The line cleaner on the text body (no lines at all when there is none)."""
    lines = split_lines(text, tick=deadline.check) if text else []
    return clean_lines(lines, title_hint=title, learned=learned(lines), tick=deadline.check)


def _body(result: TextResult, cfg: CleanConfig) -> str:
    """The paragraphs joined, or NoArticle when too little of a reader's text is left."""
    body = "\n\n".join(result.paragraphs)
    if not body:
        raise NoArticle(f"no body left after removing {sum(result.removed.values())} lines")
    if len(body) < cfg.min_text_chars:
        raise NoArticle(f"{len(body)} chars of body left, under the {cfg.min_text_chars} minimum")
    need = max(1, cfg.min_text_chars // 2)
    # Letters are counted on a prefix first: enough there is enough in the whole body.
    if _letters(body[: 4 * need]) < need and (letters := _letters(body)) < need:
        raise NoArticle(f"only {letters} letters in {len(body)} chars of body")
    return body


def _letters(text: str) -> int:
    return len(_NON_LETTERS_RE.sub("", text))


def _article(
    raw: RawArticle, meta: PageMeta, result: TextResult, body: str, kind: str
) -> CleanedArticle:
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


# A URL both libraries would hand back as it is (an empty path gains its "/"): lower-case
# host labels, no port, query, fragment or escapes, path segments of unreserved characters
# and none that is only dots. Most scraped article URLs are this plain, and the two
# libraries cost about 70 us a URL (tests/stages/clean/test_clean.py checks the two agree).
_PLAIN_URL_RE = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
    r"(?:/(?!\.{1,2}(?:/|$))[A-Za-z0-9._~-]+)*/?"
)


def canonical_url(url: str | None) -> str | None:
    """Lower-cased host, default port and tracking parameters (utm_*, fbclid...) dropped,
    query sorted, fragment removed: one URL per page for id derivation and dedup."""
    if not url:
        return None
    url = url.strip()
    if _PLAIN_URL_RE.fullmatch(url):
        return url if url.count("/") > 2 else url + "/"
    return _normalised(url)


def _normalised(url: str) -> str | None:
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        # url-normalize resolves case, ports, dot segments and escaping; courlan drops
        # tracking parameters and sorts the query.
        return str(normalize_url(str(url_normalize(url)))).split("#", 1)[0]
    except Exception:  # noqa: BLE001 - a bad URL is kept as given, never fatal
        return None


def article_id(given: str | None, canonical: str | None, body: str) -> str:
    """The scraper's id, else one derived from the canonical URL, else from the content."""
    if given:
        return given
    basis = f"url:{canonical}" if canonical else f"text:{body}"
    return hashlib.blake2b(basis.encode("utf-8"), digest_size=12).hexdigest()
