"""Property tests: the decoder and the cleaners raise nothing but a `Rejection`, and what
they let through keeps the output invariants (non-empty, NFC, no control characters,
paragraphs separated by exactly one blank line)."""

from __future__ import annotations

import unicodedata

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import Rejection
from service.models import CleanedArticle, RawArticle
from service.settings import CleanConfig, DecodeConfig
from service.stages.clean import clean, decode
from service.stages.clean.html import extract_fast, flatten, over_limits, parse_within_limits
from service.stages.clean.text import clean_lines, filter_extracted, normalise, split_lines

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECODE = DecodeConfig(max_bytes=64 * 1024)
CLEAN = CleanConfig(min_text_chars=20, learn_boilerplate=False)

PROSE = st.sampled_from([
    "The council approved the new budget on Tuesday after a long debate.",
    "Residents said the flooding had damaged more than forty homes.",
    "Le conseil municipal a voté le budget mardi soir après un long débat.",
    "市议会周二晚上经过长时间辩论后通过了新预算。",
    "Home", "Subscribe", "Share this article", "By Jane Doe", "Tags: a, b, c",
    "LONDON (Reuters) - Prices rose again.",
])
WEIRD = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60
) | st.sampled_from(["\x00", "\u202e", "\ufeff", "\u200b", "\r\n", "\n\n\n", "\t", "\x1b[0m",
                     "e\u0301", "\U0001f600", "\u00a0", "<", "&amp;", "]]>"])
TEXT = st.lists(st.one_of(PROSE, WEIRD), max_size=25).map("\n".join)
TAGS = st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<script>", "</script>", "<br>",
                        "<!--", "-->", "<a href='x'>", "</a>", "<h1>", "<style>", "<li>",
                        "<!DOCTYPE x [<!ENTITY e 'v'>]>", "<?xml version='1.0'?>", "<"])
HTML = st.lists(st.one_of(TAGS, PROSE, WEIRD), max_size=40).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["id", "url", "html", "text", "title", "source", "fetched_at",
                          "language", "section", "meta", "extra"])
DOCUMENTS = st.dictionaries(FIELDS, JSON_VALUES | TEXT, max_size=6)


def check_article(article: CleanedArticle) -> None:
    text = article.text
    assert text and text.strip() == text
    assert "\n\n\n" not in text
    assert unicodedata.is_normalized("NFC", text)
    for paragraph in text.split("\n\n"):
        assert paragraph and "\n" not in paragraph
    forbidden = {c for c in text if unicodedata.category(c) == "Cc" and c != "\n"}
    assert not forbidden, forbidden
    assert not {"\u202e", "\ufeff", "\u200b"} & set(text)


@FUZZ
@given(st.binary(max_size=2048))
def test_decode_raises_only_rejections_on_bytes(payload: bytes) -> None:
    try:
        decode(payload, DECODE)
    except Rejection:
        pass


@FUZZ
@given(DOCUMENTS)
def test_decode_and_clean_any_json_object(document: dict[str, object]) -> None:
    payload = orjson.dumps(document)
    try:
        raw = decode(payload, DECODE)
        check_article(clean(raw, CLEAN))
    except Rejection:
        pass


@FUZZ
@given(TEXT, st.one_of(st.none(), PROSE))
def test_text_cleaning_keeps_the_invariants(text: str, title: str | None) -> None:
    try:
        check_article(clean(RawArticle(text=text, title=title), CLEAN))
    except Rejection:
        pass


@FUZZ
@given(HTML, st.sampled_from(["quality", "fast"]))
def test_html_cleaning_keeps_the_invariants(html: str, mode: str) -> None:
    cfg = CleanConfig(mode=mode, min_text_chars=20, learn_boilerplate=False)  # type: ignore[arg-type]
    try:
        check_article(clean(RawArticle(html=html), cfg))
    except Rejection:
        pass


@FUZZ
@given(TEXT)
def test_line_cleaners_never_return_empty_or_unnormalised_paragraphs(text: str) -> None:
    normal = normalise(text)
    assert unicodedata.is_normalized("NFC", normal)
    lines = split_lines(normal)
    assert all(lines)
    for result in (clean_lines(lines), filter_extracted(lines)):
        assert all(p.strip() for p in result.paragraphs)


@FUZZ
@given(HTML)
def test_html_helpers_never_raise(html: str) -> None:
    over_limits(html, max_elements=5, max_depth=3)
    flatten(html)
    try:
        parse_within_limits(html, max_elements=5, max_depth=3)
    except Rejection:
        pass
    try:
        extract_fast(html)
    except Rejection:
        pass
