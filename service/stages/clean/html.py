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
line cleaner instead, like a flattened page. Both modes take the guard from
`parse_within_limits` (the scan only for pages with more "<" than the element cap, else
lexbor's parse and its depth), and both reuse that parse: `fast` for its text, `quality`
for resiliparse's reading (the gate on trafilatura's comparison step), the title and the
byline search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from html import unescape
from itertools import islice

import trafilatura
from htmldate import find_date
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import DOMNode, ElementNode, HTMLTree, NodeType
from trafilatura.external import SANITIZED_XPATH
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import METANAME_AUTHOR, PROPERTY_AUTHOR, extract_url
from trafilatura.settings import Document
from trafilatura.utils import load_html

from service.errors import ExtractionFailed
from service.stages.clean.metadata import PageMeta, from_html, parse_date
from service.stages.clean.text import ends_sentence, fold, words

# Real pages sit far below these: 181 benchmark pages had at most 1,587 elements and
# nesting 51 deep (median 742 and 16).
MAX_ELEMENTS = 25_000
MAX_DEPTH = 200
# When `extract_quality` runs trafilatura's comparison step (see `_needs_comparison`): a
# fast result under trafilatura's MIN_EXTRACTED_SIZE, or resiliparse finding this many
# times as much text (readability replaces trafilatura's text at twice as much).
COMPARE_MIN_CHARS = 250
COMPARE_ALT_RATIO = 1.5
# `complete_from`: a prose line has this many words and ends a sentence; a continuation is
# at least MIN_CONTINUATION of them.
PROSE_MIN_WORDS = 10
MIN_CONTINUATION = 2
# `drop_top_chrome`: where the headline and a timestamp line are looked for, and what a
# timestamp line is.
HEADLINE_LINES = 3
STAMP_LINES = 2
MAX_STAMP_CHARS = 80
MAX_STAMP_WORDS = 12
_YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")
_STAMP_RE = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}\b")
# A line that is a link to another story: a lead-in, then a colon or dash, then the
# headline, the line no longer than MAX_RELATED_CHARS.
_RELATED_LINE_RE = re.compile(
    r"\s*\W{0,3}(?:related(?: posts?| articles?| stories| story| content| coverage| reading)?"
    r"|read more|read also|also read|see also|also on [\w.-]+|don'?t miss|you may also like"
    r"|more on this(?: story)?)\s*[:\-\u2013\u2014|]",
    re.IGNORECASE,
)
_RELATED_HINT_RE = re.compile(r"related|read|see also|also on|miss|also like|more on", re.I)
MAX_RELATED_CHARS = 250
# `or_disjoint_alt`: resiliparse's text replaces trafilatura's when over this many times as
# long and sharing none of its lines (matched on MATCH_CHARS, MAX_MATCH_LINES looked for).
DISJOINT_RATIO = 4.0
MATCH_CHARS = 80
MAX_MATCH_LINES = 50

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


def extract_quality(html: str, tree: HTMLTree | None = None) -> HtmlResult:
    """trafilatura with favor_precision (F1 0.964 vs 0.960 default on the benchmark), its
    external comparison run only when resiliparse's reading says it may matter, plus cheap
    meta-tag metadata; `tree` is the page already parsed by lexbor (`parse_within_limits`).

    trafilatura's comparison step (readability, then jusText) costs about 40 % of its time
    and changes the result only when its own extraction is short, has no paragraph text,
    is table-dominated or still holds page chrome, or when readability finds over twice as
    much text. `fast=True` skips that step (and keeps teaser blocks on its short-page
    recovery path); the full run is then made only when the fast result shows one of those
    signs, with resiliparse's main-content text (from the parse the guard made) standing in
    for readability's length: on the benchmark's development half the full run changed 5 of
    90 pages, all among the 14 this gate sends to it.

    The text is then resiliparse's when trafilatura's took a side block (`or_disjoint_alt`),
    completed from resiliparse's when trafilatura stopped short (`complete_from`), without
    the headline or a timestamp at its top (`drop_top_chrome`) and without links to other
    stories among its paragraphs (`drop_related_links`). Metadata comes from the meta tags
    and JSON-LD (`from_html`), htmldate only for a page without a date tag, and the byline
    search on the lexbor parse (`byline_in_page`), not from trafilatura's metadata pass
    (htmldate on every page and a deep copy of the tree for its author XPaths: a quarter
    of the time)."""
    try:
        tree = HTMLTree.parse(html) if tree is None else tree
        alt = extract_plain_text(tree, main_content=True, alt_texts=False) or ""
        doc = _trafilatura(html, fast=True)
        if doc is None or _needs_comparison(doc, len(alt)):
            doc = _trafilatura(html, fast=False)
        text = complete_from(or_disjoint_alt(doc.text or "", alt) if doc else "", alt)
        text = drop_related_links(drop_top_chrome(text, _first_h1(tree)))
        meta = from_html(html, tree.title)
        if meta.published_at is None:
            meta.published_at = _htmldate(html)
        # Names normalised as trafilatura does ("By Ann Lee" -> "Ann Lee", "; " between).
        meta.byline = (normalize_authors(None, meta.byline) if meta.byline else None) or (
            byline_in_page(tree)
        )
    except Exception as exc:  # noqa: BLE001 - third-party errors become a rejection here
        raise _failed(exc) from None
    return HtmlResult(text=text, meta=meta)


# trafilatura's author search (AUTHOR_XPATHS, most specific first) as lexbor selectors: its
# regex tests on class and id are substring tests, here `*=`. Candidates inside what its
# AUTHOR_DISCARD_XPATHS prune (comments, sidebars, quotes, figures, times...) are skipped,
# by a walk up from each of the few candidates looked at: as a `:not(:is(...) *)` in the
# selector the test ran against every ancestor of every element (11,400 nested matches:
# 127 ms a query against 0.5 ms), and lexbor re-runs the query for each item taken from a
# result, so iterating all of them took minutes.
_AUTHOR_SELECTORS = (
    ":is(a, address, div, link, p, span, strong):is([rel=author], [id=author], "
    "[class=author], [itemprop='author name'], [data-testid=AuthorCard], "
    "[data-testid=AuthorURL], [class*=author-name], [class*=authorname], "
    "[class*=AuthorName], [class*=authorName]), author",
    ":is(a, div, h3, h4, p, span):is([class=byline], [class=username], [class=byl], "
    "[class=BBL], [itemprop*=author], [id*=author], [id*=zuozhe], [id*=bianji], "
    "[id*=xiaobian], [class*=author], [class*=channel-name], [class*=zuozhe], "
    "[class*=bianji], [class*=xiaobian], [class*=submitted-by], [class*=posted-by], "
    "[class*=journalist-name])",
    "[data-component*=Byline], [itemprop*=author], [id*=author], [id*=Author], "
    "[class*=author], [class*=Author], [class*=screenname], [class*=writer], "
    "[class*=byline], [class*=Byline]",
)
_DISCARD_ALWAYS = frozenset({"time", "figure"})
_DISCARD_TAGS = frozenset({"a", "div", "section", "span"})
_DISCARD_ID_RE = re.compile(r"^comments|comment-?list|ProductReviews")
_DISCARD_CLASS_RE = re.compile(
    r"^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    r"|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
# The author meta names trafilatura reads beyond `from_html`'s (its examine_meta).
_AUTHOR_META = ", ".join(
    f"meta[{attr}='{name}'][content]"
    for attr, names in (("name", METANAME_AUTHOR), ("property", PROPERTY_AUTHOR))
    for name in sorted(names)
) + ", meta[itemprop=author][content]"
MAX_AUTHOR_CHARS = 120
# Candidates looked at per selector (trafilatura takes the first with a short text): each
# item of a lexbor result costs a new run of its query (11,000 matches: 26 ms an item).
MAX_AUTHOR_CANDIDATES = 4


def byline_in_page(tree: HTMLTree) -> str | None:
    """The author named in the page's meta tags or byline markup, for a page whose meta
    tags `from_html` reads name none: trafilatura's author search, run on the lexbor
    parse (its own deep-copies the lxml tree and tests regexes in XPath, 3-5 ms a page),
    names normalised as it does."""
    if tree.document is None or tree.body is None:
        return None
    for elem in islice(tree.document.query_selector_all(_AUTHOR_META), MAX_AUTHOR_CANDIDATES):
        content = " ".join((elem.getattr("content") or "").split())
        if " " in content and (author := normalize_authors(None, content)):
            return author
    for selector in _AUTHOR_SELECTORS:
        for elem in islice(tree.body.query_selector_all(selector), MAX_AUTHOR_CANDIDATES):
            if 2 < len(" ".join((elem.text or "").split())) < MAX_AUTHOR_CHARS and not (
                _in_discarded(elem)
            ):
                return normalize_authors(None, _spaced_text(elem)) or None
    return None


def _in_discarded(elem: ElementNode) -> bool:
    """Whether the element or an ancestor is one trafilatura's author search prunes."""
    node: ElementNode | None = elem
    for _ in range(MAX_DEPTH + 8):
        if node is None or node.tag in ("body", "html"):
            return False
        tag = node.tag
        if tag in _DISCARD_ALWAYS:
            return True
        if tag in _DISCARD_TAGS:
            ident, cls = node.getattr("id") or "", node.getattr("class") or ""
            if (
                ident == "comments" or cls in ("comments", "title", "date")
                or _DISCARD_ID_RE.search(ident) or _DISCARD_CLASS_RE.search(cls)
                or "Figure" in (node.getattr("data-component") or "")
            ):
                return True
        node = node.parent_element
    return False


def _spaced_text(elem: DOMNode) -> str:
    """An element's text nodes joined by spaces (lxml's `" ".join(itertext())`): lexbor's
    `text` runs "Ann Lee</span><span>Staff writer" together."""
    parts: list[str] = []
    stack = [elem]
    while stack:
        node = stack.pop()
        if node.type == NodeType.TEXT:
            parts.append(node.text or "")
        elif node.type == NodeType.ELEMENT:
            stack.extend(reversed(list(node.child_nodes)))
    return " ".join(" ".join(parts).split())


def _htmldate(html: str) -> datetime | None:
    """htmldate's publication date (text, URLs in the markup, ...) for a page whose meta
    tags give none, as trafilatura's metadata pass finds it. The page is parsed here and
    the tree handed over: htmldate downloads a string that looks like a URL. The page's
    URL (og:url, else the canonical link, as trafilatura takes it) is given for a date in
    its path, never fetched."""
    tree = load_html(html)
    if tree is None:
        return None
    og_url = tree.xpath("//head//meta[@property='og:url']/@content")
    url = str(og_url[0]).strip() if og_url else extract_url(tree)
    found = find_date(
        tree, url=url or None, original_date=True, extensive_search=False,
        max_date=datetime.now(UTC).strftime("%Y-%m-%d"),
    )
    return parse_date(found)


def or_disjoint_alt(text: str, alt: str) -> str:
    """trafilatura's text, or another extractor's (resiliparse's) reading of the page when
    that reading is over DISJOINT_RATIO times as long and shares none of trafilatura's
    lines: trafilatura then took a side block (a reprint notice, 260 chars, on a page
    whose article resiliparse reads in full). The result still goes through the line
    filter, like the fast path's text. Lines are matched on their first MATCH_CHARS
    characters, at most MAX_MATCH_LINES of trafilatura's."""
    if not text or len(alt) <= DISJOINT_RATIO * len(text):
        return text
    theirs = "\n".join(_lines(alt))
    lines = _lines(text)[:MAX_MATCH_LINES]
    return text if any(line[:MATCH_CHARS] in theirs for line in lines) else alt


def _lines(text: str) -> list[str]:
    """The text's non-empty lines, white space collapsed: how two readings are compared."""
    return [line for line in (" ".join(ln.split()) for ln in text.split("\n")) if line]


def complete_from(text: str, alt: str) -> str:
    """trafilatura's text, completed from resiliparse's reading of the page when trafilatura
    stopped short: some sites split the article over several body containers and
    trafilatura takes the first. That is taken to be so when `alt` is over
    COMPARE_ALT_RATIO times as long, both start on the same line, and every line of the
    text is in `alt`, in order; the prose `alt` has after the text's last line is then
    appended, if there are at least MIN_CONTINUATION prose lines (one paragraph after the
    end is more often a footer blurb), up to the first two lines in a row that are not
    prose (a lone "Advertisement" is stepped over). The line filter still sees it all."""
    if not text or len(alt) <= COMPARE_ALT_RATIO * len(text):
        return text
    ours, theirs = _lines(text), _lines(alt)
    if not ours or not theirs or ours[0][:MATCH_CHARS] not in theirs[0]:
        return text
    at = 0
    for line in ours:
        key = line[:MATCH_CHARS]
        while at < len(theirs) and key not in theirs[at]:
            at += 1
        if at == len(theirs):
            return text
        at += 1
    added: list[str] = []
    misses = 0
    for line in theirs[at:]:
        if ends_sentence(line) and len(words(line)) >= PROSE_MIN_WORDS:
            added.append(line)
            misses = 0
        else:
            misses += 1
            if misses > 1:
                break
    return "\n".join([text, *added]) if len(added) >= MIN_CONTINUATION else text


def drop_top_chrome(text: str, headline: str | None) -> str:
    """The text without the page's headline (its first <h1>, by words, case-blind) among
    its first HEADLINE_LINES lines, nor a timestamp line (a year with a time or a numeric
    date, short, not a sentence) among its first STAMP_LINES: trafilatura keeps them when
    they sit inside the article container, and a body has neither (the title and the
    date are fields of their own)."""
    key = fold(headline) if headline else ""
    kept: list[str] = []
    seen = 0
    for line in text.split("\n"):
        if line.strip():
            seen += 1
            if seen <= HEADLINE_LINES and key and fold(line) == key:
                seen -= 1
                continue
            if seen <= STAMP_LINES and _is_stamp(line.strip()):
                seen -= 1
                continue
        kept.append(line)
    return "\n".join(kept)


def _is_stamp(line: str) -> bool:
    return (
        len(line) < MAX_STAMP_CHARS and len(line.split()) <= MAX_STAMP_WORDS
        and not line.endswith((".", "!", "?"))
        and _YEAR_RE.search(line) is not None and _STAMP_RE.search(line) is not None
    )


def _first_h1(tree: HTMLTree) -> str | None:
    h1 = tree.body.query_selector("h1") if tree.body is not None else None
    return h1.text if h1 is not None else None


def drop_related_links(text: str) -> str:
    """The text without the links to other stories that sit among its paragraphs ("Read
    more: ...", "Related: ...", "[Related: ...]", "Also on rt.com ..."): trafilatura keeps
    them as paragraphs, and they are not the article."""
    if not _RELATED_HINT_RE.search(text):
        return text
    return "\n".join(
        line for line in text.split("\n")
        if len(line) > MAX_RELATED_CHARS or not _RELATED_LINE_RE.match(line)
    )


def _trafilatura(html: str, *, fast: bool) -> Document | None:
    doc = trafilatura.bare_extraction(
        html, include_comments=False, favor_precision=True, fast=fast
    )
    return doc if isinstance(doc, Document) else None


def _needs_comparison(doc: Document, alt_chars: int) -> bool:
    """Whether trafilatura's comparison step could change this fast-mode result: the
    conditions of its `compare_extraction` in precision mode, with `alt_chars` (another
    extractor's length, given half again as much slack) for readability's."""
    text = doc.text or ""
    body = doc.body
    if len(text) < COMPARE_MIN_CHARS or alt_chars > COMPARE_ALT_RATIO * len(text):
        return True
    if body is None:
        return True
    if not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(body.findall(".//p")):
        return True
    return bool(body.xpath(SANITIZED_XPATH))


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
