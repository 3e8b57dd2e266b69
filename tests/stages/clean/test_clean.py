"""The clean stage: the seed page exactly, each boilerplate class, HTML modes, rejections."""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import EmptyContent, ExtractionFailed, NoArticle, PayloadTooLarge
from service.models import CleanedArticle, RawArticle
from service.settings import CleanConfig
from service.stages.clean import article_id, canonical_url, clean
from service.stages.clean import html as html_stage
from service.stages.clean import stage as clean_stage
from service.stages.entities import unescape_text

SEED = Path(__file__).resolve().parents[4] / "shared" / "seeds" / "000_ddffc17b4b401ebd.txt"
CFG = CleanConfig()

# Body paragraphs written for these tests (no third-party text).
BODY = [
    "The city council voted on Tuesday to extend the night bus network to the northern "
    "suburbs, ending a two-year campaign by residents who work late shifts.",
    "Officials said the first three routes would start running in the spring, with buses "
    "every twenty minutes between midnight and five in the morning.",
    "The transport committee chair told reporters the plan would cost less than expected "
    "because the depot in the north already had room for the extra vehicles.",
    "Opposition members welcomed the vote but asked for a review after six months to check "
    "whether passenger numbers justified the spending.",
]


def page(*extra_middle: str, before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> str:
    """A flattened page: chrome before, body with `extra_middle` after paragraph 2, chrome after."""
    lines = [*before, *BODY[:2], *extra_middle, *BODY[2:], *after]
    return "\n\n".join(lines)


def run(text: str, **raw: object) -> tuple[str, CleanedArticle]:
    article = clean(RawArticle(text=text, **raw), CFG)  # type: ignore[arg-type]
    return article.text, article


def removed(article: CleanedArticle) -> dict[str, int]:
    assert article.cleaning is not None, "clean() reports what it removed"
    return article.cleaning.removed


# ---------------------------------------------------------------- seed page ----
@pytest.fixture(scope="module")
def seed() -> str:
    if not SEED.exists():
        pytest.skip("../shared/seeds is absent")
    return SEED.read_text(encoding="utf-8")


def test_seed_page_is_exactly_its_eight_body_paragraphs(seed: str) -> None:
    article = clean(RawArticle(id="seed", text=seed), CFG)
    paragraphs = article.text.split("\n\n")
    # The expected paragraphs are the source lines themselves, normalised the same way.
    source_lines = [" ".join(ln.split()) for ln in seed.splitlines() if ln.strip()]
    first = next(i for i, ln in enumerate(source_lines) if ln.startswith("Terrorists in Syria"))
    last = next(i for i, ln in enumerate(source_lines) if ln.startswith("According to the Rus"))
    expected = [ln for ln in source_lines[first : last + 1] if not ln.startswith("Russia Ready")]
    assert expected[1].startswith("BEIJING (Sputnik) — ")
    expected[1] = expected[1].removeprefix("BEIJING (Sputnik) — ")
    assert len(expected) == 8
    assert paragraphs == expected
    assert article.dateline == "BEIJING"
    assert article.source == "Sputnik"
    assert article.tags == ["terror attacks", "John Kerry", "Sergei Lavrov", "United States",
                            "Russia"]
    assert article.id == "seed"
    for chrome in ("Battle Against Daesh", "Listen Live", "short URL", "Community standards",
                   "Russian Navy Finds", "Mutual Respect Basis", "GMT", "\u00a0"):
        assert chrome not in article.text
    report = article.cleaning
    assert report is not None and report.input_kind == "text"
    assert report.lines_kept == 8
    assert report.removed["storyline"] == 2
    assert report.removed["related"] == 9  # 8 headlines after the body, 1 link inside it
    assert report.removed["timestamp"] == 1
    assert report.lines_removed == sum(report.removed.values())


def test_seed_dateline_agency_does_not_override_scraper_source(seed: str) -> None:
    article = clean(RawArticle(text=seed, source="ria-feed"), CFG)
    assert article.source == "ria-feed"
    assert article.dateline == "BEIJING"


# ------------------------------------------------------ boilerplate classes ----
@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Listen Live", "ui"),
        ("Share | Tweet | Email", "ui"),
        ("Community standardsDiscussion", "ui"),
        ("Updated 14:05 GMT, 3 March 2021", "timestamp"),
        ("05:45 GMT13 August 2020", "timestamp"),
        ("Elections in the Northern Provinces (42)", "storyline"),
        ("Sign up to our daily newsletter to get the top stories delivered to your inbox "
         "every morning.", "newsletter"),
        ("We use cookies to improve your experience on our site. By continuing to browse you "
         "agree to our use of cookies.", "cookie"),
        ("Support independent journalism: make a one-off contribution today and help keep our "
         "reporting free for everyone.", "donation"),
        ("Views expressed in this article are those of the author and do not necessarily "
         "reflect the position of the publisher.", "disclaimer"),
        ("Follow us on Telegram for breaking news as it happens, straight to your phone.",
         "social"),
        ("© 2024 Harbour Media Group. All rights reserved.", "footer"),
        ("This material may not be published, broadcast, rewritten or redistributed.", "footer"),
    ],
)
def test_boilerplate_line_inside_body_is_removed(line: str, reason: str) -> None:
    text, article = run(page(line))
    assert text.split("\n\n") == BODY
    assert removed(article)[reason] == 1


@pytest.mark.parametrize(
    "sentence",
    [
        "The bakery said it sold more cookies than ever, and donations to the food bank rose "
        "by a third.",
        "Residents can sign up for the consultation at the town hall, the council said in a "
        "statement.",
        "She said the copyright dispute with the broadcaster had been settled out of court.",
        "The mayor will follow the views of the committee, an aide said.",
    ],
)
def test_body_sentences_that_mention_promo_words_survive(sentence: str) -> None:
    text, _ = run(page(sentence))
    assert sentence in text.split("\n\n")


def test_related_link_inside_body_is_removed_but_sentence_case_subhead_kept() -> None:
    link = "Night Bus Drivers Threaten Strike Over New Rota Plans"
    subhead = "What the new routes mean for shift workers"
    text, article = run(page(link, subhead))
    assert link not in text
    assert subhead in text.split("\n\n")
    assert removed(article)["related"] == 1


def test_related_headline_list_after_body_is_removed_with_or_without_teaser() -> None:
    related = (
        "More Stories",
        "Council Approves New Cycle Lanes on the Ring Road",
        "Harbour Ferry Timetable Changes From Next Week",
        "Library Opening Hours Extended Over the Holidays",
        "Residents Rally to Save the Old Market Hall",
        "A teaser: the market traders say rents doubled in a year.",
        "Why the Tram Extension Is Running Two Years Late",
    )
    text, article = run(page(after=related))
    assert text.split("\n\n") == BODY
    assert removed(article)["related"] >= 5


def test_tag_line_after_body_becomes_tags() -> None:
    _, article = run(page(after=("Related headline One Two Three", "night buses, Northfield, "
                                 "transport, city council")))
    assert article.tags == ["night buses", "Northfield", "transport", "city council"]


def test_menu_and_title_before_body_are_removed_and_title_found() -> None:
    title = "Night Buses to Reach Northern Suburbs From Spring"
    before = ("Home", "News", "Sport", "Local Politics Business Weather", title, "By Jane Doe")
    text, article = run(page(before=before))
    assert text.split("\n\n") == BODY
    assert article.title == title
    assert article.byline == "Jane Doe"


def test_raw_title_line_is_removed_even_with_site_suffix() -> None:
    title = "Night buses to reach northern suburbs from spring"
    text, article = run(page(before=(f"{title} | The Harbour Gazette",)), title=title)
    assert title not in text
    assert article.title == title
    assert removed(article)["title"] == 1


@pytest.mark.parametrize(
    ("prefix", "dateline", "agency"),
    [
        ("LONDON, March 3 (Reuters) - ", "LONDON", "Reuters"),
        ("WASHINGTON — ", "WASHINGTON", None),
        ("NEW YORK (AP) — ", "NEW YORK", "AP"),
    ],
)
def test_dateline_is_cut_into_fields(prefix: str, dateline: str, agency: str | None) -> None:
    text = "\n\n".join([prefix + BODY[0], *BODY[1:]])
    out, article = run(text)
    assert out.split("\n\n") == BODY
    assert article.dateline == dateline
    assert article.source == agency


def test_a_capitalised_first_word_is_not_a_dateline() -> None:
    text = "\n\n".join(["NASA - the space agency - said the launch slipped. " + BODY[0], *BODY[1:]])
    out, article = run(text)
    assert article.dateline is None
    assert out.startswith("NASA - the space agency")


def test_normalisation_fixes_mojibake_nfc_and_whitespace() -> None:
    broken = BODY[0].replace("two-year", "two\u00a0 year") + " The councilâ€™s cafe\u0301 agreed."
    out, _ = run("\n\n".join([broken, *BODY[1:]]))
    first = out.split("\n\n")[0]
    assert "council’s café agreed." in first
    assert "two year" in first
    assert "\u00a0" not in out and "  " not in out


def test_hard_wrapped_paragraphs_are_rejoined() -> None:
    wrapped = BODY[0][:70].rsplit(" ", 1)[0]
    rest = BODY[0][len(wrapped) + 1 :]
    assert rest[0].islower()
    out, _ = run("\n\n".join([f"{wrapped}\n{rest}", *BODY[1:]]))
    assert out.split("\n\n") == BODY


# ---------------------------------------------------------------- rejections ----
def test_whitespace_only_is_empty_content() -> None:
    with pytest.raises(EmptyContent):
        clean(RawArticle(text=" \n\t "), CFG)


def test_chrome_only_page_is_no_article() -> None:
    chrome = "\n".join(["Listen Live", "Get short URL", "05:45 GMT13 August 2020",
                        "Sign up to our daily newsletter to get the top stories delivered to "
                        "your inbox every morning.", "© 2024 Harbour Media Group."])
    with pytest.raises(NoArticle):
        clean(RawArticle(text=chrome), CFG)


def test_short_article_above_minimum_is_kept_and_below_is_rejected() -> None:
    assert clean(RawArticle(text=BODY[0]), CFG).text == BODY[0]
    with pytest.raises(NoArticle):
        clean(RawArticle(text=BODY[0]), CleanConfig(min_text_chars=len(BODY[0]) + 1))


# ---------------------------------------------------------------------- HTML ----
HTML = """<!doctype html><html><head><title>Night buses | The Harbour Gazette</title>
<meta property="og:title" content="Night Buses to Reach Northern Suburbs">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-05T08:30:00+01:00">
<meta property="article:tag" content="transport"><meta property="article:tag" content="night buses">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li></ul></nav>
<div class="cookie">We use cookies to improve your experience on our site.</div>
<article><h1>Night Buses to Reach Northern Suburbs</h1>
{paragraphs}
<p>Sign up to our daily newsletter to get the top stories delivered to your inbox every
morning.</p>
</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Council Approves New Cycle Lanes</a></li>
<li><a href="/b">Harbour Ferry Timetable Changes</a></li></ul></aside>
<footer><p>© 2024 Harbour Media Group. All rights reserved.</p></footer>
</body></html>"""


def html_page() -> str:
    return HTML.replace("{paragraphs}", "\n".join(f"<p>{p}</p>" for p in BODY))


@pytest.mark.parametrize("mode", ["quality", "fast"])
def test_html_modes_extract_body_and_metadata(mode: str) -> None:
    article = clean(RawArticle(html=html_page()), CleanConfig(mode=mode))  # type: ignore[arg-type]
    assert article.text.split("\n\n") == BODY
    assert article.byline == "Jane Doe"
    assert article.published_at is not None and article.published_at.isoformat().startswith(
        "2024-03-05T07:30"
    )
    assert "transport" in article.tags
    assert article.title and article.title.startswith("Night Buses")
    assert article.cleaning is not None and article.cleaning.input_kind == "html"
    assert article.cleaning.removed.get("newsletter") == 1


def test_html_over_the_cap_is_rejected() -> None:
    cfg = CleanConfig(max_html_chars=2048)
    with pytest.raises(PayloadTooLarge):
        clean(RawArticle(html="<p>x</p>" * 400), cfg)


def test_extractor_exception_becomes_extraction_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(html_stage.trafilatura, "bare_extraction", boom)
    with pytest.raises(ExtractionFailed, match="RecursionError"):
        clean(RawArticle(html=html_page()), CFG)


@pytest.mark.parametrize("mode", ["quality", "fast"])
def test_external_entities_are_never_resolved(mode: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRETVALUE", encoding="utf-8")
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        + html_page().replace(BODY[1], BODY[1] + " &xxe;")
    )
    try:
        article = clean(RawArticle(html=hostile), CleanConfig(mode=mode))  # type: ignore[arg-type]
    except NoArticle:
        return
    assert "TOPSECRETVALUE" not in article.text


def test_html_without_body_falls_back_to_text() -> None:
    article = clean(RawArticle(html="<html><body><nav>Home</nav></body></html>",
                               text="\n\n".join(BODY)), CFG)
    assert article.text.split("\n\n") == BODY
    assert article.cleaning is not None and article.cleaning.input_kind == "text"


# ----------------------------------------------------------------------- ids ----
def test_article_id_prefers_scraper_id_then_canonical_url_then_content() -> None:
    assert article_id("abc", "https://x.org/a", "body") == "abc"
    by_url = article_id(None, canonical_url("HTTPS://WWW.Example.com:443/a/../b"), "body")
    assert by_url == article_id(None, canonical_url("https://www.example.com/b"), "other")
    expected = hashlib.blake2b(b"url:https://www.example.com/b", digest_size=12).hexdigest()
    assert by_url == expected
    assert article_id(None, None, "body") != article_id(None, None, "body2")
    assert clean(RawArticle(text=BODY[0]), CFG).id == article_id(None, None, BODY[0])


def test_related_list_with_a_teaser_under_each_headline_is_removed() -> None:
    related = (
        "Council Approves New Cycle Lanes on the Ring Road",
        "Work starts next month and should take a year to finish.",
        "Harbour Ferry Timetable Changes From Next Week",
        "The early crossing moves to half past six on weekdays.",
        "Residents Rally to Save the Old Market Hall",
        "More than two thousand people have signed the petition so far.",
    )
    text, article = run(page(after=related))
    assert text.split("\n\n") == BODY
    assert removed(article)["related"] == len(related)


# Long teasers (two sentences, so not caught as headline + one-sentence pairs).
TEASERS = (
    "The ferry operator said the early crossing would move to half past six on weekdays. "
    "Passengers who commute to the hospital asked for the change last winter.",
    "Traders at the old market hall say their rents have doubled in a single year. More "
    "than two thousand people have now signed a petition asking the council to step in.",
    "The tram extension to the airport is two years late and over budget, the audit office "
    "found. The transport authority blamed the delay on a dispute over the depot site.",
)


def test_prose_teasers_behind_a_wall_of_chrome_are_not_body() -> None:
    wall = ("Share", "Tweet", "Email", "Jane Doe", "Staff reporter", "Topics", "Transport",
            "Northfield", "Night buses")
    after = [*wall]
    for k, teaser in enumerate(TEASERS):
        after += [f"Story {k}", "Jane Doe", "3 hours ago", teaser]
    text, _ = run(page(after=tuple(after)))
    assert text.split("\n\n") == BODY


def test_a_related_list_the_page_shows_twice_is_not_body() -> None:
    listing = tuple(TEASERS)
    text, _ = run(page(before=("Latest", *listing), after=("Most read", *listing)))
    assert text.split("\n\n") == BODY


def test_headlines_glued_to_their_teasers_are_not_body() -> None:
    glued = tuple(
        f"{head}{teaser}" for head, teaser in zip(
            ("Ferry Timetable Changes From Next Week", "Traders Fear Rent Rises At Old Market",
             "Why The Tram Extension Is Running Late"), TEASERS, strict=True)
    )
    text, _ = run(page(before=glued))
    assert text.split("\n\n") == BODY


def test_a_paragraph_with_a_camel_case_name_is_not_a_glued_teaser() -> None:
    line = ("NORTHFIELD (AP) — To McKenzie Ross of WeWork, the night buses are a lifeline for "
            "staff who finish after midnight.")
    text, _ = run("\n\n".join([line, *BODY]))
    assert text.split("\n\n")[0].endswith(line.split("— ")[1])


def test_the_comment_thread_is_not_body_even_when_longer() -> None:
    thread = ["12 comments"]
    for k, teaser in enumerate(TEASERS * 2):
        thread += [f"Reader {k} on May {k + 3}, 2024 at 4:4{k} pm said:", teaser, "Reply"]
    text, article = run(page(after=(*thread, "Leave a Reply")))
    assert text.split("\n\n") == BODY
    assert removed(article)["comments"] == 2 + len(TEASERS) * 2


def test_a_comment_count_opens_the_thread_below_the_body_not_above_it() -> None:
    before = ("By Jane Doe", "0 Comments")
    after = ["[ 2 comments ]", "Top Rated Comments"]
    for k in range(2):  # two long comments, more prose than the article
        after += [f"reader{k}", f"{k + 2} days ago", *(f"Point {k}.{n}: {t}" for n, t in
                                                       enumerate(TEASERS)), "Rating: 9 Votes"]
    text, _ = run(page(before=before, after=tuple(after)))
    assert text.split("\n\n") == BODY


@pytest.mark.parametrize("header", ["More From the Harbour Gazette", "Related links:",
                                    "Sponsored Content", "You might also like"])
def test_a_list_header_below_the_body_ends_it(header: str) -> None:
    heads = ("Ferry Timetable Changes", "Traders Fear Rent Rises", "Why the Tram Is Late")
    after = (header, *(line for pair in zip(heads, TEASERS, strict=True) for line in pair))
    text, _ = run(page(after=after))
    assert text.split("\n\n") == BODY


def test_a_body_line_starting_with_more_is_not_a_list_header() -> None:
    line = "More than two hundred residents attended the meeting at the library"
    text, _ = run(page(line))
    assert line in text.split("\n\n")


@pytest.mark.parametrize(
    "figure",
    [
        ("Buses wait at the northern depot before the first night run.",
         "Jane Doe/Getty Images"),
        ("Buses wait at the northern depot before the first night run (Image: GETTY)",),
    ],
)
def test_image_captions_inside_the_body_are_removed(figure: tuple[str, ...]) -> None:
    text, article = run(page(*figure))
    assert text.split("\n\n") == BODY
    assert removed(article)["caption"] == 1


def test_a_paragraph_above_a_captioned_image_is_kept() -> None:
    caption = "Buses wait at the northern depot before the first night run (Image: GETTY)"
    text, _ = run(page(caption))
    assert BODY[1] in text.split("\n\n")


def test_short_runs_inside_the_body_are_bridged() -> None:
    inline = ("Advertisement", "Ferry Timetable Changes From Next Week",
              "Photo: the night bus depot (Harbour Gazette)", "Story continues below")
    text, _ = run(page(*inline))
    assert [p for p in text.split("\n\n") if p in BODY] == BODY


def test_cjk_paragraphs_count_as_prose() -> None:
    body = ["市議会は火曜日、北部の郊外まで深夜バスの路線を延長することを決めた。"
            "夜勤で働く住民の二年にわたる運動が実を結んだ。",
            "最初の三路線は春に運行を始め、深夜から早朝まで二十分おきにバスが走るという。"]
    out, _ = run("\n".join(["ホーム", "ニュース", *body, "関連記事"]))
    assert out.split("\n\n") == body


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Gazette.example:443/a/?utm_source=feed&b=2&a=1#comments",
         "https://gazette.example/a/?a=1&b=2"),
        ("http://news.example/story.php?id=123&fbclid=xyz", "http://news.example/story.php?id=123"),
        ("ftp://files.example/a", None),
        ("not a url", None),
    ],
)
def test_canonical_url_drops_tracking_and_fragments(given: str, expected: str | None) -> None:
    assert canonical_url(given) == expected


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_SEGMENT = st.text(alphabet="aZ09._~-", min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    scheme=st.sampled_from(["http://", "https://"]),
    labels=st.lists(_LABEL, min_size=2, max_size=4),
    segments=st.lists(_SEGMENT, max_size=5),
    slash=st.booleans(),
)
def test_canonical_url_plain_fast_path_agrees_with_the_libraries(
    scheme: str, labels: list[str], segments: list[str], slash: bool
) -> None:
    # Dot-only segments ("." and "..") are outside the fast path and must still resolve.
    url = scheme + ".".join(labels) + "".join("/" + s for s in segments) + ("/" if slash else "")
    assert canonical_url(url) == clean_stage._normalised(url)


@pytest.mark.parametrize(
    "url",
    ["https://www.eastbrookpost.example/news/2024/00003/new-figures-show-staff-shortages",
     "https://example.com", "https://a.example/x/", "https://a.example/a/../b",
     "https://a.example/./b", "https://a.example/a//b", "https://A.example/b",
     "https://a.example/caf%C3%A9", "https://a.example/x.", "https://a.example/~u/p.html"],
)
def test_canonical_url_fast_path_and_libraries_agree_on_edge_cases(url: str) -> None:
    assert canonical_url(url) == clean_stage._normalised(url)


# ---------------------------------------------------------- entities in text ----
AG_NEWS = SEED.parents[1] / "datasets" / "ag_news" / "train-12k.csv.gz"
# What no cleaned text may still show: escaped markup, and entities with or without `&`.
LEFTOVER_RE = re.compile(r"&lt;|&gt;|&amp;|&quot;|&#\d+;|(?<![\w&])(?:#\d{2,4}|quot|amp|lt|gt);"
                         r"|</?(?:a|b|p|font|img|br)\b[^<>]*>", re.IGNORECASE)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Marsh amp; McLennan Cos Inc. #39;s Mercer", "Marsh & McLennan Cos Inc.'s Mercer"),
        ("the S amp;P 500 and J amp;J", "the S&P 500 and J&J"),
        ("Western amp;amp;amp; Southern Women #39;s Open", "Western & Southern Women's Open"),
        ("proclaimed quot;blog quot; the word", 'proclaimed "blog" the word'),
        ("for #36;25 billion #151; in cash", "for $25 billion — in cash"),
        ("Allergan Inc.'s &lt;A HREF=\"http://example.com/q?t=AGN.N\"&gt;AGN.N&lt;/A&gt; drug",
         "Allergan Inc.'s AGN.N drug"),
        ("Tri-Nations &lt;b&gt;...&lt;/b&gt;", "Tri-Nations ..."),
        ("twice &amp;lt;b&amp;gt;escaped&amp;lt;/b&amp;gt; &amp;#39;", "twice escaped '"),
        ("a ticker &lt;AKLM.PK&gt; stays", "a ticker <AKLM.PK> stays"),
        ("&lt;p&gt;One.&lt;/p&gt;&lt;p&gt;Two.&lt;/p&gt;", "\nOne.\n\nTwo.\n"),  # paragraph breaks
        ("&lt;script&gt;alert(1)&lt;/script&gt;kept", "kept"),
    ],
)
def test_entities_decode_with_or_without_their_ampersand(given: str, expected: str) -> None:
    assert unescape_text(given) == expected


@pytest.mark.parametrize(
    "text", ["AT&T said a < b and c > d", "see issue #12; then noon; Lamp;", "plain text"]
)
def test_text_that_only_looks_escaped_is_unchanged(text: str) -> None:
    assert unescape_text(text) is text


def test_escaped_link_in_flattened_text_keeps_its_anchor_text() -> None:
    para = BODY[1].replace("three routes", "three &lt;A HREF=\"https://bus.example/r\"&gt;"
                           "night routes&lt;/A&gt;").replace("spring", "spring #39;s start")
    out, _ = run("\n\n".join([BODY[0], para, *BODY[2:]]))
    assert "three night routes" in out and "spring's start" in out
    assert not LEFTOVER_RE.search(out)


@pytest.fixture(scope="module")
def ag_rows() -> list[tuple[str, str]]:
    """AG News rows (title, description) that carry entities; the dataset is read, not copied."""
    if not AG_NEWS.exists():
        pytest.skip("../shared/datasets/ag_news is absent")
    with gzip.open(AG_NEWS, "rt", encoding="utf-8") as f:
        rows = [(r[1], r[2]) for r in csv.reader(f)][1:]
    return [r for r in rows if LEFTOVER_RE.search(r[1])][:300]


def test_ag_news_entities_and_escaped_markup_are_gone_from_the_text(
    ag_rows: list[tuple[str, str]],
) -> None:
    assert len(ag_rows) == 300
    kept = 0
    for _, description in ag_rows:
        try:
            out, _ = run(description)
        except NoArticle:
            continue  # a lead shorter than the stage minimum, or only an ad
        kept += 1
        assert not LEFTOVER_RE.search(out), out
    assert kept > 200


def test_ag_news_examples_read_as_published(ag_rows: list[tuple[str, str]]) -> None:
    by_start = {d[:40]: d for _, d in ag_rows}
    allergan = next(d for k, d in by_start.items() if "Allergan" in k or "Allergan  Inc" in d)
    out, _ = run(allergan)
    assert "won't approve Allergan Inc.'s AGN.N experimental treatment" in out


# ----------------------------------------------------------- time and shape ----
class TickingClock:
    """Moves `step` seconds each time it is read: no test depends on the machine's speed."""

    def __init__(self, step: float) -> None:
        self.now, self.step, self.reads = 0.0, step, 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def test_the_deadline_counts_the_clock_it_is_given() -> None:
    from service.errors import ExtractionTimeout
    from service.stages.clean import Deadline

    clock = TickingClock(1.0)
    deadline = Deadline(2.5, clock)  # started at 1.0
    deadline.check("first")  # 2.0: 1 s in
    deadline.check("second")  # 3.0: 2 s in
    with pytest.raises(ExtractionTimeout, match=r"3\.00s at third, over the 2\.5s deadline"):
        deadline.check("third")


def test_clean_checks_its_deadline_between_steps_and_inside_line_loops() -> None:
    from service.errors import ExtractionTimeout

    text = page(*(f"Line number {i} of a long list." for i in range(3000)))
    # A clock that stands still: any budget is enough, however slow the machine.
    assert clean(RawArticle(text=text), CleanConfig(deadline_seconds=0.001), clock=lambda: 0.0)
    # One second per read: the line loops read it often enough to pass a 5 s budget.
    clock = TickingClock(1.0)
    with pytest.raises(ExtractionTimeout, match="over the 5s deadline"):
        clean(RawArticle(text=text), CleanConfig(deadline_seconds=5.0), clock=clock)
    assert clock.reads == 7  # the start, then six checks: it stopped at the first one over


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<div>" * 6, "elements nested more than 5 deep"),
        ("<img>" * 11, "more than 10 elements"),
        ("<div></div>" * 11, "more than 20 tags"),
        ("</b>" * 21, "more than 20 tags"),
        ("<p>" * 11, "more than 10 elements"),  # an open <p> closes the one before it
        ("<br>" * 5 + "<div>" * 5, None),  # void elements nest nothing
        ("<script>" + "<div>" * 50 + "</script>", None),  # raw text is skipped
        ("<!--" + "<div>" * 50 + "-->", None),  # and so are comments
        ("<div>" * 3 + "<textarea>" + "<div>" * 50, None),  # unterminated: the parser stops
        ("<div>" * 5 + "</div>" * 5 + "<div>" * 5, None),
    ],
)
def test_over_limits_measures_the_shape_the_parser_would_build(
    markup: str, reason: str | None
) -> None:
    assert html_stage.over_limits(markup, max_elements=10, max_depth=5) == reason


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        # lexbor's tree: html > body > the divs, so 3 divs are 5 deep and 4 are 6.
        ("<div>" * 3 + "x", None),
        ("<div>" * 4 + "x", "elements nested more than 5 deep"),
        ("<p>" * 9, None),  # an open <p> closes the one before it
        # More "<" than the element cap: the scan decides, before any parse.
        ("<option>" * 11, "more than 10 elements"),
        ("<!--" + "<div>" * 50 + "-->", None),
    ],
)
def test_the_fast_guard_parses_once_and_reads_the_depth_off_the_tree(
    markup: str, reason: str | None
) -> None:
    tree, why = html_stage.parse_within_limits(markup, max_elements=10, max_depth=5)
    assert why == reason
    assert (tree is None) == (reason is not None)


def test_the_fast_guard_keeps_large_pages_off_the_parser_until_the_scan_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_parse(html: str) -> None:
        raise AssertionError("parsed a page over the caps")

    monkeypatch.setattr(html_stage.HTMLTree, "parse", no_parse)
    # 50,000 "<option>"s: lexbor's parse of them is quadratic (16,000 take 0.5 s).
    tree, why = html_stage.parse_within_limits("<select>" + "<option>" * 50_000)
    assert tree is None and why == f"more than {html_stage.MAX_ELEMENTS} elements"


def test_the_fast_path_extracts_from_the_tree_its_guard_parsed() -> None:
    page = ("<html><head><title>Bridge opens</title></head><body><nav>Home | News</nav>"
            "<article><p>" + "The river bridge opened to traffic on Monday morning. " * 8
            + "</p></article></body></html>")
    tree, why = html_stage.parse_within_limits(page)
    assert why is None and tree is not None
    assert html_stage.extract_fast(page, tree) == html_stage.extract_fast(page)
    assert "river bridge opened" in html_stage.extract_fast(page, tree).text


def test_the_quality_path_extracts_from_the_tree_its_guard_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = html_page()
    tree, why = html_stage.parse_within_limits(page)
    assert why is None and tree is not None
    assert html_stage.extract_quality(page, tree) == html_stage.extract_quality(page)
    parses: list[str] = []
    real_parse = html_stage.HTMLTree.parse

    def counted(html: str) -> html_stage.HTMLTree:
        parses.append(html)
        return real_parse(html)

    monkeypatch.setattr(html_stage.HTMLTree, "parse", counted)
    clean(RawArticle(html=page), CleanConfig(mode="quality"))
    assert len(parses) == 1  # the guard's parse, shared with resiliparse and the metadata


def test_the_quality_fast_pass_gives_what_the_full_trafilatura_run_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = html_page()
    full = html_stage.trafilatura.bare_extraction(
        page, include_comments=False, favor_precision=True
    )
    calls: list[bool] = []
    real = html_stage.trafilatura.bare_extraction

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(bool(kwargs.get("fast")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(html_stage.trafilatura, "bare_extraction", spy)
    fast = html_stage._trafilatura(page, fast=True)
    assert isinstance(full, html_stage.Document) and fast is not None
    assert fast.text == full.text
    calls.clear()
    result = html_stage.extract_quality(page)
    assert calls == [True]  # a plain article: no comparison run
    assert result.text == html_stage.drop_top_chrome(full.text or "", "Night Buses to Reach "
                                                     "Northern Suburbs")


def test_the_quality_gate_runs_the_comparison_when_it_could_matter() -> None:
    doc = html_stage._trafilatura(html_page(), fast=True)
    assert doc is not None and doc.text
    chars = len(doc.text)
    assert not html_stage._needs_comparison(doc, chars)
    # Another extractor finds much more text: readability may too.
    assert html_stage._needs_comparison(doc, int(html_stage.COMPARE_ALT_RATIO * chars) + 1)
    # A short result, under trafilatura's own minimum (it then tries readability, jusText).
    doc.text = doc.text[: html_stage.COMPARE_MIN_CHARS - 1]
    assert html_stage._needs_comparison(doc, 0)


@pytest.mark.parametrize(
    "link",
    ["Read more: Council approves new cycle lanes", "[Related: Harbour ferry timetable]",
     "RELATED - Harbour ferry timetable changes", "Also on rt.com: Harbour ferry timetable",
     "Related post: Pickled sprouts recipe"],
)
def test_links_to_other_stories_among_the_paragraphs_are_dropped(link: str) -> None:
    text = "\n".join([BODY[0], link, BODY[1]])
    assert html_stage.drop_related_links(text) == "\n".join(BODY[:2])


def test_sentences_that_start_like_a_related_link_are_kept() -> None:
    text = "\n".join(["Related reports say the council met twice.", "Read the full report.",
                      "See also the annex, which lists the routes."])
    assert html_stage.drop_related_links(text) == text


def test_the_headline_and_a_timestamp_above_the_body_are_dropped() -> None:
    text = "\n".join(["November 20, 2019 - 11:28 AMT", "Night buses reach the suburbs!",
                      *BODY[:2]])
    assert html_stage.drop_top_chrome(text, "Night Buses Reach the Suburbs") == "\n".join(
        BODY[:2])
    # Only near the top, and a line with a year alone is no timestamp.
    kept = "\n".join([BODY[0], "2018 Harbour Festival programme", *BODY[1:3],
                      "Night buses reach the suburbs"])
    assert html_stage.drop_top_chrome(kept, "Night buses reach the suburbs") == kept
    assert html_stage.drop_top_chrome(kept, None) == kept


def test_quality_mode_drops_an_h1_that_differs_from_the_title_metadata() -> None:
    page = html_page().replace(
        "<h1>Night Buses to Reach Northern Suburbs</h1>",
        "<h1>Council votes to run buses all night</h1><p>05/03/2024 07:30</p>",
    )
    article = clean(RawArticle(html=page), CleanConfig(mode="quality"))
    assert article.text.split("\n\n") == BODY


def test_an_article_trafilatura_cut_short_is_completed_from_resiliparse_reading() -> None:
    more = [p.replace("council", "committee") for p in BODY] * 2
    short = "\n".join(BODY[:2])
    alt = "\n".join([*BODY[:2], "Advertisement", *more, "More stories", "Home | News"])
    assert html_stage.complete_from(short, alt) == "\n".join([*BODY[:2], *more])
    # A lone paragraph after the end is not taken, nor a reading that starts elsewhere.
    blurb = "\n".join([*BODY[:2], more[0], "Comments", "Home | News", *more])
    assert html_stage.complete_from(short, blurb) == short
    elsewhere = "\n".join(["Night buses: all you need to know before you travel tonight.",
                           *BODY[:2], *more])
    assert html_stage.complete_from(short, elsewhere) == short
    # Not that much longer: left alone.
    assert html_stage.complete_from(short, "\n".join([*BODY[:2], more[0]])) == short


def test_a_side_block_trafilatura_took_gives_way_to_resiliparse_reading() -> None:
    notice = "This copy is for your personal use only.\nhttps://news.example.org/a/1"
    article = "\n".join(BODY * 2)
    assert len(article) > html_stage.DISJOINT_RATIO * len(notice)
    assert html_stage.or_disjoint_alt(notice, article) == article
    # Sharing a line, or not that much longer: trafilatura's text stays.
    assert html_stage.or_disjoint_alt(BODY[0], article) == BODY[0]
    assert html_stage.or_disjoint_alt(notice, BODY[0]) == notice
    assert html_stage.or_disjoint_alt("", article) == ""


@pytest.mark.parametrize(
    ("markup", "byline"),
    [
        ('<div class="byline">By Ann Lee</div>', "Ann Lee"),
        ('<p class="author-name"><span>Ann Lee</span><span>Staff writer</span></p>',
         "Ann Lee Staff writer"),  # text nodes joined by a space, as lxml's itertext
        ('<div class="sidebar"><span class="author">Bo Chen</span></div>', None),
        ('<time><span class="author">Bo Chen</span></time>', None),
        ('<span class="author"></span>', None),
    ],
)
def test_the_byline_is_found_in_the_page_when_no_meta_tag_names_it(
    markup: str, byline: str | None
) -> None:
    page = html_page().replace('<meta name="author" content="Jane Doe">', "")
    page = page.replace("<article><h1>", f"<article>{markup}<h1>")
    tree = html_stage.HTMLTree.parse(page)
    assert html_stage.byline_in_page(tree) == byline
    article = clean(RawArticle(html=page), CleanConfig(mode="quality"))
    assert article.byline == byline


def test_a_byline_meta_tag_trafilatura_reads_is_used() -> None:
    page = html_page().replace('name="author"', 'name="citation_author"')
    assert clean(RawArticle(html=page), CleanConfig(mode="quality")).byline == "Jane Doe"


def test_htmldate_dates_a_page_without_date_meta_and_never_fetches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import htmldate.utils

    def no_fetch(*_a: object, **_k: object) -> None:
        raise AssertionError("htmldate tried to download")

    monkeypatch.setattr(htmldate.utils, "fetch_url", no_fetch)
    page = html_page().replace(
        '<meta property="article:published_time" content="2024-03-05T08:30:00+01:00">',
        '<meta property="og:url" content="https://news.example.org/2024/03/05/night-buses">',
    )
    article = clean(RawArticle(html=page), CleanConfig(mode="quality"))
    assert article.published_at is not None
    assert article.published_at.date().isoformat() == "2024-03-05"
    assert html_stage._htmldate("https://example.org/a<html><body><p>x</p></body></html>") is None


def test_raw_text_ends_at_its_end_tag_in_any_case() -> None:
    deep = "<div>" * 6
    # The divs after </SCRIPT> are markup again, whatever the case of the end tag.
    assert html_stage.over_limits(f"<script>x</SCRIPT>{deep}", 10, 5) is not None
    assert html_stage.over_limits(f"<script>x</ScRiPt >{deep}", 10, 5) is not None
    assert html_stage.over_limits(f"<script>x{deep}", 10, 5) is None  # never closed
    # A character whose lower case is longer (İ -> i̇) does not shift where the end is.
    assert html_stage.over_limits(f"<script>{'İ' * 50}</script>{deep}", 10, 5) is not None


def test_jsonld_article_objects_are_found_in_lists_and_graphs() -> None:
    from service.stages.clean.metadata import from_html

    block = ('<script type="application/ld+json">{"@graph": [{"@type": "Person", "name": "x"},'
             ' {"@type": ["WebPage", "NewsArticle"], "headline": "Bridge opens",'
             ' "author": [{"name": "A. Writer"}]}]}</script>')
    broken = '<script type="application/ld+json">{"@type": "NewsArticle",</script>'
    meta = from_html(f"<html><head>{broken}{block}</head><body></body></html>")
    assert meta.title == "Bridge opens" and meta.byline == "A. Writer"
    # An end tag in upper case, after characters whose lower case is longer (İ -> i̇).
    shifted = block.replace("</script>", "</SCRIPT>")
    meta = from_html(f"<html><head><title>{'İ' * 40}</title>{shifted}</head></html>")
    assert meta.title == "Bridge opens" and meta.byline == "A. Writer"
