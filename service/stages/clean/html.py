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
from dataclasses import dataclass
from functools import lru_cache
from html import unescape

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
# Where a raw-text element ends: its end tag in any ASCII case.
_RAW_TEXT_END = {name: re.compile("</" + name, re.IGNORECASE | re.ASCII) for name in _RAW_TEXT}
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


def extract_fast(html: str, tree: HTMLTree | None = None) -> HtmlResult:
    """resiliparse main-content text (about 13x faster) plus cheap meta-tag metadata;
    `tree` is the page already parsed (`parse_within_limits`)."""
    try:
        tree = HTMLTree.parse(html) if tree is None else tree
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
    and optional end tags honoured) that stops as soon as a cap is passed.

    One `finditer` pass in C: tags inside a comment or a raw-text element are matched
    too, and passed over by position (a match never spans the `>` or `<` a skip lands
    on, so the next one kept is the one a search from there finds). A skip finds its end
    with a case-blind search, not in a lower-cased copy of the page, which cost a third
    of the scan and misplaces offsets after a character whose lower case is longer."""
    stack: list[str] = []
    elements = tokens = skip = 0
    for match in _TAG_START_RE.finditer(html):
        if match.start() < skip:
            continue
        tokens += 1
        if tokens > 2 * max_elements:
            return f"more than {2 * max_elements} tags"
        name = (match.group(3) or "").lower()
        if match.group(2):
            _pop_to(stack, name, _LOOKBACK)
            continue
        if name:
            elements += 1
            if elements > max_elements:
                return f"more than {max_elements} elements"
            if _open(stack, name) > max_depth:
                return f"elements nested more than {max_depth} deep"
        skip = _markup_resumes(html, match, name)
        if skip < 0:  # unterminated: the parser reads the rest of the page into it
            return None
    return None


def _markup_resumes(html: str, match: re.Match[str], name: str) -> int:
    """Where markup resumes after a tag start: past a comment's end, at a raw-text
    element's end tag, else right after it; -1 when that end never comes."""
    if not name:  # a comment
        end = html.find("-->", match.end())
        return end + 3 if end >= 0 else -1
    if name in _RAW_TEXT:
        closer = _RAW_TEXT_END[name].search(html, match.end())
        return closer.start() if closer is not None else -1
    return match.end()


def parse_within_limits(
    html: str, max_elements: int = MAX_ELEMENTS, max_depth: int = MAX_DEPTH
) -> tuple[HTMLTree | None, str | None]:
    """The fast path's guard: the page parsed by lexbor and None, or None and why its
    shape is too big (`over_limits`' reasons).

    A page with at most `max_elements` "<" cannot hold more elements than that (every
    real benchmark page has under 3,300), and lexbor's parser is linear in depth (400,000
    nested divs in 84 ms; its extractor is not), so the page is parsed, the parse is
    kept for the extractor, and lexbor's own tree says how deep it is: about a quarter of
    the cost of `over_limits`' scan. Larger pages still get the scan first, which also
    keeps a parser's worst cases (tens of thousands of `<option>`s) off lexbor. Depth
    counts the `html` and `body` lexbor always builds."""
    if html.count("<") > max_elements:
        reason = over_limits(html, max_elements, max_depth)
        if reason is not None:
            return None, reason
        return _parse(html), None
    tree = _parse(html)
    if tree.document is not None and tree.document.query_selector(_deeper_than(max_depth)):
        return None, f"elements nested more than {max_depth} deep"
    return tree, None


def _parse(html: str) -> HTMLTree:
    try:
        return HTMLTree.parse(html)
    except Exception as exc:  # noqa: BLE001 - third-party errors become a rejection here
        raise _failed(exc) from None


@lru_cache(maxsize=4)
def _deeper_than(depth: int) -> str:
    """A selector for an element with `depth` ancestors: one nested deeper than `depth`."""
    return "* > " * depth + "*"


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
