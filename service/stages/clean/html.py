"""Main-content extraction from HTML: trafilatura for quality, resiliparse for speed.

Both run on untrusted markup, so every third-party exception becomes ExtractionFailed
here, at the boundary. Neither library fetches URLs or resolves external entities:
trafilatura parses with lxml's HTML parser (no DTD/entity loading) and resiliparse with
lexbor, which has no network code. Input size is capped by the caller (clean.py).

Markup is also capped by shape before either library sees it: libxml2 (under lxml and
trafilatura) silently drops everything nested deeper than 256 elements, lexbor's extractor
is quadratic in depth (50,000 nested divs took 86 s), and trafilatura costs about 75 us
per element. `over_limits` measures depth and element count in one linear scan that stops
at the caps; a page over them is `flatten`ed to text in linear time and goes through the
line cleaner instead, like a flattened page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from typing import Literal

import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree
from trafilatura.settings import Document

from service.errors import ExtractionFailed
from service.stages.clean.metadata import PageMeta, from_html, parse_date, split_tags

# Real pages sit far below these: 181 benchmark pages had at most 1,587 elements and
# nesting 51 deep (median 742 and 16).
MAX_ELEMENTS = 25_000
MAX_DEPTH = 200

# One token per tag start or comment; names are bounded so a match never runs far.
_TAG_START_RE = re.compile(r"<(?:(!--)|(/?)([a-zA-Z][a-zA-Z0-9:-]{0,30}))")
# Elements whose content is text to the parser, not markup: skip to their end tag.
_RAW_TEXT = frozenset(
    "script style textarea title xmp noscript template iframe noembed noframes".split()
)
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr keygen frame".split()
)
# End tags are optional for these: a new one closes an open one of the same name.
_SELF_CLOSING = frozenset("p li td th tr option dt dd rt rp optgroup tbody thead tfoot".split())
_LOOKBACK = 32
# What `flatten` throws away with its content, and the tags that end a line.
_DROP_NAMES = ("script", "style", "noscript", "template", "svg", "head", "textarea", "select")
_DROP_START_RE = re.compile(r"<(?:(!--)|(" + "|".join(_DROP_NAMES) + r")\b)", re.IGNORECASE)
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|section|article|aside|header"
    r"|footer|nav|main|blockquote|pre|figure|figcaption|form|address|details|summary)\b[^<>]*>",
    re.IGNORECASE,
)
# An XML declaration and a DOCTYPE with an internal subset (entity definitions): lxml's
# HTML parser turns the subset into text and trafilatura then finds nothing, so it goes.
_PROLOGUE_RE = re.compile(
    r"\A\s*(?:<\?xml[^>]{0,500}>\s*)?<!DOCTYPE[^\[>]{0,500}\[[^\]]{0,200000}\]\s*>"
    r"|\A\s*<\?xml[^>]{0,500}>",
    re.IGNORECASE,
)
# `[^<>]*` stops at the next "<", so every attempt is short and the pass stays linear.
_ANY_TAG_RE = re.compile(r"<[a-zA-Z/!?][^<>]*>")


@dataclass
class HtmlResult:
    text: str
    meta: PageMeta


def _failed(exc: Exception) -> ExtractionFailed:
    return ExtractionFailed(f"{type(exc).__name__}: {exc}"[:300])


def extract_quality(html: str) -> HtmlResult:
    """trafilatura with favor_precision (F1 0.964 vs 0.960 default on the benchmark)."""
    try:
        doc = trafilatura.bare_extraction(
            html, include_comments=False, favor_precision=True, with_metadata=True
        )
    except Exception as exc:  # noqa: BLE001 - third-party errors become a rejection here
        raise _failed(exc) from None
    if not isinstance(doc, Document):
        return HtmlResult(text="", meta=PageMeta())
    # The meta-tag pass keeps the publication *time* (trafilatura keeps only the date).
    cheap = from_html(html)
    tags = split_tags([t for t in (doc.tags or []) if isinstance(t, str)])
    meta = PageMeta(
        title=doc.title or cheap.title,
        byline=doc.author or cheap.byline,
        published_at=cheap.published_at or parse_date(doc.date),
        tags=tags or cheap.tags,
    )
    return HtmlResult(text=doc.text or "", meta=meta)


def extract_fast(html: str) -> HtmlResult:
    """resiliparse main-content text (about 13x faster) plus cheap meta-tag metadata."""
    try:
        tree = HTMLTree.parse(html)
        text = extract_plain_text(tree, main_content=True, alt_texts=False)
        meta = from_html(html, tree.title)
    except Exception as exc:  # noqa: BLE001 - third-party errors become a rejection here
        raise _failed(exc) from None
    return HtmlResult(text=text or "", meta=meta)


def strip_prologue(html: str) -> str:
    """The page without an XML declaration or a DOCTYPE internal subset (never expanded)."""
    return _PROLOGUE_RE.sub("", html, count=1)


def over_limits(
    html: str, max_elements: int = MAX_ELEMENTS, max_depth: int = MAX_DEPTH
) -> str | None:
    """Why this markup is too big a shape for the extractors, or None when it is not.

    An approximation of the HTML parser's tree (raw-text elements skipped, void elements
    and optional end tags honoured) that stops as soon as a cap is passed."""
    stack: list[str] = []
    elements = 0
    for tokens, (kind, name) in enumerate(_tag_tokens(html), start=1):
        if tokens > 2 * max_elements:
            return f"more than {2 * max_elements} tags"
        if kind == "end":
            _pop_to(stack, name, _LOOKBACK)
        elif kind == "start":
            elements += 1
            if elements > max_elements:
                return f"more than {max_elements} elements"
            if _open(stack, name) > max_depth:
                return f"elements nested more than {max_depth} deep"
    return None


def _tag_tokens(html: str) -> Iterator[tuple[Literal["comment", "end", "start"], str]]:
    """The page's comments, end tags and start tags in order, names lower-cased.

    The body of a comment or of a raw-text element is skipped, not scanned; the tokens stop
    at one left unterminated, as the parser would read the rest of the page into it."""
    lower: str | None = None
    pos = 0
    while (match := _TAG_START_RE.search(html, pos)) is not None:
        pos = match.end()
        if match.group(1):
            yield "comment", ""
            pos = html.find("-->", pos)
            if pos < 0:
                return
            pos += 3
            continue
        name = match.group(3).lower()
        yield ("end" if match.group(2) else "start"), name
        if name in _RAW_TEXT and not match.group(2):
            lower = html.lower() if lower is None else lower
            pos = lower.find("</" + name, pos)
            if pos < 0:
                return


def _open(stack: list[str], name: str) -> int:
    """Open element `name` on the stack (unless it has no content to nest); the new depth."""
    if name in _RAW_TEXT or name in _VOID:
        return len(stack)
    if name in _SELF_CLOSING:
        _pop_to(stack, name, 4)
    stack.append(name)
    return len(stack)


def _pop_to(stack: list[str], name: str, lookback: int) -> None:
    for k in range(len(stack) - 1, max(len(stack) - 1 - lookback, -1), -1):
        if stack[k] == name:
            del stack[k:]
            return


def flatten(html: str) -> str:
    """Markup to text in linear time: no DOM, block tags become line breaks.

    For pages over `over_limits`; the line cleaner then finds the body among the lines."""
    lower = html.lower()
    kept: list[str] = []
    pos = 0
    while True:
        match = _DROP_START_RE.search(html, pos)
        if match is None:
            kept.append(html[pos:])
            break
        kept.append(html[pos:match.start()])
        closer = "-->" if match.group(1) else "</" + match.group(2).lower()
        end = lower.find(closer, match.end())
        if end < 0:
            break  # unclosed: the rest of the page is inside it, as a browser would see it
        pos = end + len(closer)
        if not match.group(1):
            gt = html.find(">", pos)
            pos = pos if gt < 0 else gt + 1
    text = _BLOCK_TAG_RE.sub("\n", "".join(kept))
    return unescape(_ANY_TAG_RE.sub("", text))
