"""HTML entities and escaped markup in flattened-text input.

Wire and scraped text often carries its markup escaped (`&lt;A HREF=...&gt;AGN.N&lt;/A&gt;`,
`&amp;amp;`), or entities that lost their `&` on the way (`Women #39;s`, `S amp;P`,
` quot;Most`, `#36;25`: the AG News corpus has thousands). `unescape_text` decodes both and
then drops the markup the decoding revealed, keeping what a reader would see (the anchor
text of a link, a line break for a paragraph tag).

Bounded: every step is one regex pass, a decoding never makes the text longer, and the
number of decoding passes is fixed. No entity is resolved against anything but the HTML5
table (no DTD, no external entity).
"""

from __future__ import annotations

import re
from html import unescape

__all__ = ["unescape_text"]

# Named entities that turn up without their `&`. Only these are read as fragments: an
# ordinary word before a `;` ("noon;") is left alone.
_FRAGMENT_NAMES = (
    "quot|amp|lt|gt|apos|nbsp|hellip|mdash|ndash|lsquo|rsquo|ldquo|rdquo|laquo|raquo|"
    "bull|middot|deg|euro|pound|copy|reg|trade|eacute|egrave|aacute|agrave|oacute|uacute|"
    "iacute|ntilde|ccedil|uuml|ouml|auml"
)
# A fragment: a numeric reference (`#39;`, `#x2014;`) or a listed name, not preceded by `&`
# (that is a whole entity) nor, for names, by a letter ("Lamp;" is no entity). The
# optional space before it is where the `&` was lost, in the AG style.
_FRAGMENT_RE = re.compile(
    rf"(?P<space> ?)(?<![&#\w])(?<!amp;)(?P<ref>#[0-9]{{2,5}};|#[xX][0-9a-fA-F]{{2,5}};"
    rf"|(?:{_FRAGMENT_NAMES});)(?=(?P<next>.?))",
)
# `amp;amp;amp;`: an `&amp;` escaped several times, each time losing the `&`.
_AMP_RUN_RE = re.compile(r"&?amp;(?:amp;)+")
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Code points a fragment may decode to: printable, never a control character.
_MIN_CODEPOINT = 0x20
UNESCAPE_PASSES = 3

# Markup a text field should never show. Only real HTML element names are tags: a ticker
# in angle brackets (Reuters' "<AKLM.PK>") or "a < b" is text.
_DROP_ELEMENT_RE = re.compile(
    r"<(script|style|noscript|iframe|object)\b[^<>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|table|blockquote|hr|pre|section|article)\b[^<>]*>",
    re.IGNORECASE,
)
_INLINE_TAG_RE = re.compile(
    r"</?(?:a|b|i|u|s|em|strong|font|span|img|sup|sub|small|big|tt|code|q|cite|abbr|"
    r"center|td|th|tbody|thead|strike|del|ins|mark|wbr|nobr|embed|param|"
    r"script|style|noscript|iframe|object)\b(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"[ \t\u00a0]+")


def _fragment(match: re.Match[str]) -> str:
    """One `#39;` / `amp;` / `quot;` fragment as a whole entity, with the lost `&`'s space
    dropped where the character joins words ("Women's", "S&P", a closing quote)."""
    ref, nxt, space = match.group("ref"), match.group("next"), match.group("space")
    char = unescape("&" + ref)
    if char == "&" + ref or any(ord(c) < _MIN_CODEPOINT for c in char):
        return match.group(0)  # not a reference after all ("#12;" in "issue #12;")
    joins_next = bool(nxt) and not nxt.isspace()
    if char in "'’" and nxt.isalpha():
        space = ""  # an apostrophe inside a word: "Women #39;s" -> "Women's"
    elif char == "&" and joins_next:
        space = ""  # "S amp;P" -> "S&P", "AT amp;T" -> "AT&T"
    elif char in "\"”" and not (nxt.isalnum() or nxt in "'‘"):
        space = ""  # a closing quote: "blog quot; the word" -> "blog\" the word"
    return f"{space}&{ref}"


def _has_escapes(text: str) -> bool:
    return "&" in text or ";" in text and ("#" in text or _FRAGMENT_RE.search(text) is not None)


def unescape_text(text: str) -> str:
    """Decode HTML entities (whole or missing their `&`) and drop the markup they revealed.

    Text without `&` and without fragments comes back unchanged, as the same object."""
    if not _has_escapes(text):
        return text
    out = _AMP_RUN_RE.sub("&amp;", text)
    out = _FRAGMENT_RE.sub(_fragment, out)
    for _ in range(UNESCAPE_PASSES):  # `&amp;lt;` is `<` escaped twice
        if not _ENTITY_RE.search(out):
            break
        out = unescape(out)
    if "<" in out:
        out = _DROP_ELEMENT_RE.sub("", out)
        out = _BLOCK_TAG_RE.sub("\n", out)
        out = _INLINE_TAG_RE.sub("", out)
    if out == text:
        return text
    return "\n".join(_SPACES_RE.sub(" ", line).strip() for line in out.split("\n"))
