"""Tag stage: language detection, hint/allow-list handling and the section signals."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.models import CleanedArticle
from service.settings import TagConfig
from service.stages.tag import LANGUAGE_SAMPLE_CHARS, Tagger, normalise_language_code

SEED = Path(__file__).resolve().parents[4] / "shared" / "seeds" / "000_ddffc17b4b401ebd.txt"

SPORT, ECONOMY, POLITICS, CONFLICT = (
    "medtop:15000000", "medtop:04000000", "medtop:11000000", "medtop:16000000",
)

TEXTS = {
    "en": "The council voted on Tuesday to extend the opening hours of the public library, "
    "after residents complained that the building closed before most people finished work.",
    "de": "Der Gemeinderat hat am Dienstag beschlossen, die Öffnungszeiten der Bibliothek zu "
    "verlängern, nachdem sich viele Bürger über die frühen Schließzeiten beschwert hatten.",
    "fr": "Le conseil municipal a voté mardi la prolongation des horaires d'ouverture de la "
    "bibliothèque, après les plaintes de nombreux habitants sur la fermeture trop précoce.",
    "es": "El ayuntamiento aprobó el martes ampliar el horario de la biblioteca pública, después "
    "de que muchos vecinos se quejaran de que cerraba demasiado pronto por la tarde.",
    "ja": "市議会は火曜日、図書館の開館時間を延長することを決めた。多くの住民が、仕事が終わる前に"
    "閉館してしまうと不満を訴えていた。",
    "ru": "Городской совет во вторник проголосовал за продление часов работы библиотеки после "
    "того, как жители пожаловались, что она закрывается слишком рано.",
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(TagConfig())


def article(text: str, **kw: str | None) -> CleanedArticle:
    return CleanedArticle(id="a1", text=text, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_detects_language_of_a_paragraph(tagger: Tagger, code: str) -> None:
    lang = tagger.language(TEXTS[code])
    assert lang.code == code
    assert lang.confidence >= 0.9


def test_too_short_text_is_und(tagger: Tagger) -> None:
    assert tagger.language("Hello there").code == "und"
    assert tagger.language("").confidence == 0.0


def test_text_without_language_is_und(tagger: Tagger) -> None:
    lang = tagger.language("12:45 | 3.14 -- 2024/05/06 ## 77 88 99 ++ 1234567")
    assert lang.code == "und"


def test_hint_fills_in_only_when_detection_is_unsure(tagger: Tagger) -> None:
    assert tagger.language("Kurz", hint="de-DE").code == "de"
    assert tagger.language("Kurz", hint="not-a-language").code == "und"
    # A confident detection is not overridden by a wrong hint.
    assert tagger.language(TEXTS["fr"], hint="en").code == "fr"


def test_allow_list_restricts_the_answer() -> None:
    restricted = Tagger(TagConfig(languages=("de", "fr")))
    lang = restricted.language(TEXTS["es"])
    assert lang.code in {"de", "fr"}
    assert restricted.language(TEXTS["de"]).code == "de"
    # A hint outside the allow-list is ignored.
    assert restricted.language("Kurz", hint="es").code == "und"


def test_allow_list_accepts_bokmal_and_rejects_unknown_codes() -> None:
    Tagger(TagConfig(languages=("nb", "en")))
    with pytest.raises(ValueError, match="xx"):
        Tagger(TagConfig(languages=("en", "xx")))


def test_long_text_is_sampled_but_still_right(tagger: Tagger) -> None:
    text = " ".join([TEXTS["de"]] * 50)
    assert len(text) > 10 * LANGUAGE_SAMPLE_CHARS
    assert tagger.language(text).code == "de"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("en", "en"), ("EN-us", "en"), ("pt_BR", "pt"), ("iw", "he"), ("eng", None), ("", None)],
)
def test_normalise_language_code(value: str, expected: str | None) -> None:
    assert normalise_language_code(value) == expected


@pytest.mark.parametrize("hint", ["Sport", "Sports", "Deportes", "Home > Sport > Football"])
def test_section_hint_aliases(tagger: Tagger, hint: str) -> None:
    section = tagger.section(article(TEXTS["en"], section_hint=hint))
    assert section is not None
    assert (section.code, section.method, section.name) == (SPORT, "hint", "sport")


def test_unknown_hint_falls_through_to_url(tagger: Tagger) -> None:
    art = article(TEXTS["en"], section_hint="Top stories", url="https://x.com/business/a-b-c")
    section = tagger.section(art)
    assert section is not None and (section.code, section.method) == (ECONOMY, "url")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://www.bbc.co.uk/sport/football/67890", SPORT),
        ("https://www.bbc.com/news/business-50470672", ECONOMY),
        ("https://www.spiegel.de/politik/deutschland/ein-artikel-123", POLITICS),
        ("https://elpais.com/deportes/2024-05-01/un-partido.html", SPORT),
        ("https://www.lemonde.fr/economie/article/2024/05/01/titre_123.html", ECONOMY),
        ("https://example.com/science/environment/2024/05/a-story", "medtop:06000000"),
        ("https://sports.example.com/2024/05/a-story", SPORT),
    ],
)
def test_section_from_url(tagger: Tagger, url: str, code: str) -> None:
    section = tagger.section_from_url(url)
    assert section is not None and (section.code, section.method) == (code, "url")


def test_slug_words_are_not_sections(tagger: Tagger) -> None:
    assert tagger.section_from_url("https://example.com/2024/05/best-sport-shoes") is None
    assert tagger.section_from_url("https://example.com/news/world/") is None


@pytest.mark.parametrize(
    ("title", "text", "code"),
    [
        ("Rovers win derby", "The striker scored twice in the second half and the goalkeeper "
         "saved a penalty as the league leaders beat their rivals in front of 40,000 fans.",
         SPORT),
        ("Shares jump", "The company reported quarterly revenue above analysts' forecasts and "
         "investors sent its shares up 8 percent as the central bank held interest rates.",
         ECONOMY),
        ("Senate vote", "Lawmakers in the senate rejected the bill after the opposition party "
         "accused the government of ignoring voters ahead of the election.", POLITICS),
    ],
)
def test_section_from_lexicon(tagger: Tagger, title: str, text: str, code: str) -> None:
    section = tagger.section(article(text, title=title))
    assert section is not None
    assert (section.code, section.method) == (code, "text")
    assert 0.3 <= section.confidence <= 1


def test_no_evidence_gives_no_section(tagger: Tagger) -> None:
    assert tagger.section(article("Lorem ipsum dolor sit amet, consectetur adipiscing.")) is None


def test_threshold_turns_a_weak_guess_into_none() -> None:
    text = "The striker scored twice and the league leaders beat their rivals."
    assert Tagger(TagConfig()).section(article(text)) is not None
    assert Tagger(TagConfig(min_section_confidence=0.99)).section(article(text)) is None


def test_tag_builds_tagged_article(tagger: Tagger) -> None:
    art = article(TEXTS["de"], language_hint="en", section_hint="Wirtschaft", title="Titel")
    tagged = tagger.tag(art)
    assert tagged.language.code == "de"
    assert tagged.section is not None and tagged.section.code == ECONOMY
    assert tagged.title == "Titel" and tagged.text == art.text
    assert "section_hint" not in tagged.model_dump()


@pytest.mark.skipif(not SEED.exists(), reason="shared seed page not available")
def test_seed_page_is_english_conflict_or_politics(tagger: Tagger) -> None:
    tagged = tagger.tag(article(SEED.read_text(encoding="utf-8")))
    assert tagged.language.code == "en"
    assert tagged.section is not None
    assert tagged.section.code in {CONFLICT, POLITICS}
