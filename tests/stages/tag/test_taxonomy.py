"""The section tables are data; these checks keep them consistent with the IPTC list."""

from __future__ import annotations

import pytest

from service.stages.tag.taxonomy import (
    IPTC_LABELS,
    IPTC_TOPICS,
    SECTION_ALIASES,
    URL_SEGMENTS,
    normalise_key,
    section_code,
)


def test_iptc_top_level_has_seventeen_codes() -> None:
    assert len(IPTC_TOPICS) == 17
    assert all(code.startswith("medtop:") and code.endswith("000000") for code in IPTC_TOPICS)
    assert set(IPTC_LABELS) == set(IPTC_TOPICS)


def test_every_alias_and_segment_points_at_a_known_code() -> None:
    assert set(SECTION_ALIASES.values()) <= set(IPTC_TOPICS)
    assert set(URL_SEGMENTS.values()) <= set(IPTC_TOPICS)
    assert all(key == normalise_key(key) for key in [*SECTION_ALIASES, *URL_SEGMENTS])


def test_every_topic_is_reachable_by_hint() -> None:
    assert set(SECTION_ALIASES.values()) == set(IPTC_TOPICS)


# One economy directory per language the URL tables cover: en, de, fr, es, it, pt, nl.
@pytest.mark.parametrize(
    "segment",
    ["business", "wirtschaft", "economie", "negocios", "finanza", "dinheiro", "financieel"],
)
def test_url_tables_cover_major_languages(segment: str) -> None:
    assert URL_SEGMENTS[normalise_key(segment)] == "medtop:04000000"


@pytest.mark.parametrize(
    ("value", "key"),
    [("Política", "politica"), ("Sci-Tech", "sci tech"), ("  Fußball ", "fussball"),
     ("Arts & Culture", "arts and culture")],
)
def test_normalise_key(value: str, key: str) -> None:
    assert normalise_key(value) == key


@pytest.mark.parametrize(
    ("label", "code"),
    [("medtop:15000000", "medtop:15000000"), ("sport", "medtop:15000000"),
     ("Deportes", "medtop:15000000"), ("science_technology", "medtop:13000000"),
     ("conflict, war and peace", "medtop:16000000"), ("medtop:99000000", None),
     ("nonsense", None)],
)
def test_section_code(label: str, code: str | None) -> None:
    assert section_code(label) == code
