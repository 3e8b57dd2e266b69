"""Dedup verdicts: first seen wins, replays are stable, the window expires matches."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.models import Language, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup import (
    InMemoryDedupIndex,
    body_fingerprint,
    deduplicate,
    evict,
    rebuild,
)
from service.stages.index import DedupIndex

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CFG = DedupConfig()
_WORDS = (
    "council minister budget river bridge storm court judge police market shares bank "
    "coach league season vote election harbour factory workers union strike school "
    "teachers hospital doctors vaccine drought farmers wheat prices fuel airline airport "
    "flight delay museum gallery festival concert mayor city district residents street "
    "railway station ticket tunnel engineers report inquiry evidence witness ministry"
).split()


def paragraphs(seed: int, count: int = 10, words: int = 40) -> list[str]:
    """Deterministic filler prose: each paragraph shares almost no shingles with others."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "." for _ in range(count)
    ]


def article(
    article_id: str,
    parts: list[str],
    hours: float = 0,
    url: str | None = None,
) -> TaggedArticle:
    return TaggedArticle(
        id=article_id,
        text="\n\n".join(parts),
        canonical_url=url,
        fetched_at=T0 + timedelta(hours=hours),
        language=Language(code="en", confidence=1.0),
    )


def run(index: InMemoryDedupIndex, item: TaggedArticle, cfg: DedupConfig = CFG) -> tuple:
    verdict = deduplicate(item, index, cfg, now=T0 + timedelta(days=60))
    return verdict.status, verdict.duplicate_of, verdict.similarity


STORY = paragraphs(1)

# Two different reports on the same council vote, written for this test.
VOTE_A = (
    "The city council voted 7 to 4 on Tuesday night to approve a 40 million euro plan "
    "to rebuild the old harbour bridge, ending two years of argument over the crossing. "
    "Mayor Ana Ruiz said the vote showed the council could still take hard decisions. "
    "Work is due to begin in the spring and should take three years, during which a ferry "
    "will carry cyclists and pedestrians across the river. Opponents said the cost had "
    "doubled since the first estimate and asked for an independent review of the budget."
)
VOTE_B = (
    "Residents who live near the harbour reacted with relief and some anger after the "
    "council backed the bridge plan on Tuesday. Shop owners on the east bank said three "
    "years of building work would keep customers away, and asked the city for help with "
    "rent. A group of cyclists welcomed the temporary ferry but said it would not run late "
    "enough for shift workers. The mayor promised a meeting with traders next week and "
    "said the council would publish the full budget for the project."
)


def test_fingerprint_ignores_case_punctuation_and_whitespace() -> None:
    assert body_fingerprint("Hello, World!\n\nIt's  here.") == body_fingerprint(
        "hello world  its here"
    )
    assert body_fingerprint("Hello world") != body_fingerprint("Hello word")


def test_first_seen_is_unique_and_later_copies_point_at_it() -> None:
    index = InMemoryDedupIndex()
    assert run(index, article("a", STORY)) == ("unique", None, 0.0)
    assert run(index, article("b", [p.upper() for p in STORY], 1)) == ("duplicate", "a", 1.0)
    edited = [*STORY[:-1], "Additional reporting by Jane Doe in Lisbon."]
    status, first, score = run(index, article("c", edited, 2))
    assert (status, first) == ("near_duplicate", "a")
    assert CFG.threshold <= score < 1.0
    # An exact copy of a near-duplicate still points at the original, never at c.
    assert run(index, article("d", edited, 3))[:2] == ("near_duplicate", "a")


def test_syndicated_copy_with_light_edits_is_a_near_duplicate() -> None:
    index = InMemoryDedupIndex()
    run(index, article("wire", ["LONDON (Reuters) -", *STORY]))
    copy = [
        "By Staff, London",
        *STORY[:-1],
        "Additional reporting by Tom Smith; editing by Ann Lee.",
    ]
    assert run(index, article("paper", copy, 5))[:2] == ("near_duplicate", "wire")


def test_different_articles_on_the_same_topic_are_unique() -> None:
    index = InMemoryDedupIndex()
    assert run(index, article("a", [VOTE_A]))[0] == "unique"
    assert run(index, article("b", [VOTE_B], 1))[0] == "unique"
    assert run(index, article("c", paragraphs(2), 1))[0] == "unique"


def test_replay_of_an_id_returns_its_first_verdict() -> None:
    index = InMemoryDedupIndex()
    first = run(index, article("a", STORY))
    second = run(index, article("b", STORY[:-1], 1))
    assert second[:2] == ("near_duplicate", "a")
    assert run(index, article("a", STORY)) == first  # not a duplicate of itself
    assert run(index, article("b", STORY[:-1], 1)) == second
    # A replay carrying an edited body still gets the verdict its id got first.
    assert run(index, article("a", paragraphs(9))) == first


def test_tie_break_prefers_earliest_fetched_then_smallest_id() -> None:
    strict = DedupConfig(threshold=0.95)
    whole = paragraphs(3)
    for later_id, earlier_id, later_h, earlier_h, winner in [
        ("y", "x", 2.0, 1.0, "x"),  # y is processed first but x was fetched earlier
        ("m", "k", 1.0, 1.0, "k"),  # same fetched_at: the smaller id
    ]:
        index = InMemoryDedupIndex()
        # Two originals about 0.8 alike: both unique under a 0.95 bar.
        assert run(index, article(later_id, whole[1:], later_h), strict)[0] == "unique"
        assert run(index, article(earlier_id, whole[:-1], earlier_h), strict)[0] == "unique"
        status, first, _ = run(index, article("z", whole, 3))
        assert (status, first) == ("near_duplicate", winner)


def test_same_canonical_url_uses_a_lower_bar_than_the_threshold() -> None:
    base = paragraphs(4, count=12)
    updated = base[:9] + paragraphs(5, count=3)  # a quarter rewritten: about 0.6 alike
    url = "https://news.example/story-1"
    elsewhere = InMemoryDedupIndex()
    run(elsewhere, article("a", base, url=url))
    assert run(elsewhere, article("b", updated, 1, url="https://other.example/1"))[0] == "unique"
    index = InMemoryDedupIndex()
    run(index, article("a", base, url=url))
    status, first, score = run(index, article("c", updated, 2, url=url))
    assert (status, first) == ("near_duplicate", "a")
    assert 0.5 <= score < CFG.threshold


def test_site_wide_canonical_url_does_not_merge_different_articles() -> None:
    index = InMemoryDedupIndex()
    home = "https://news.example/"
    assert run(index, article("a", [VOTE_A], url=home))[0] == "unique"
    assert run(index, article("b", [VOTE_B], 1, url=home))[0] == "unique"


def test_matches_outside_the_window_are_ignored_before_eviction() -> None:
    index = InMemoryDedupIndex()
    week = CFG.window_seconds / 3600
    run(index, article("a", STORY))
    assert run(index, article("b", STORY, week - 1))[:2] == ("duplicate", "a")
    assert run(index, article("c", STORY, week + 1)) == ("unique", None, 0.0)
    assert run(index, article("d", STORY[:-1], week + 2))[:2] == ("near_duplicate", "c")


def test_evict_empties_every_store_and_reports_the_count() -> None:
    index = InMemoryDedupIndex()
    cfg = DedupConfig(window_seconds=3600)
    for i in range(5):
        run(index, article(f"u{i}", paragraphs(10 + i), i * 0.1, url=f"https://x/{i}"), cfg)
    run(index, article("dup", paragraphs(10), 0.5), cfg)
    assert evict(index, cfg, T0 + timedelta(minutes=90)) == 0  # hour 0 not yet expired
    assert evict(index, cfg, T0 + timedelta(hours=2)) == 6
    assert not (index.docs or index.ids or index.urls or index.bands)
    assert set(index.buckets) == {"lo"}
    assert run(index, article("again", paragraphs(10), 2.5), cfg)[0] == "unique"


def test_the_hot_path_evicts_expired_hours_as_time_moves_on() -> None:
    index = InMemoryDedupIndex()
    cfg = DedupConfig(window_seconds=3600)
    for i in range(40):
        run(index, article(f"old{i}", paragraphs(100 + i), 0), cfg)
    for i in range(3):
        run(index, article(f"new{i}", paragraphs(200 + i), 3 + i / 5), cfg)
    assert len(index.docs) == 3  # 40 old articles fill two chunks: gone after two calls
    assert {key for key in index.ids} == {"new0", "new1", "new2"}


def test_late_and_future_fetch_times_are_bounded() -> None:
    index = InMemoryDedupIndex()
    now = T0 + timedelta(days=1)
    future = article("f", STORY, hours=24 * 365)
    assert deduplicate(future, index, CFG, now=now).status == "unique"
    # The future date was capped at `now`, so a week later the article has expired.
    evict(index, CFG, now + timedelta(days=8))
    assert not index.docs
    late = article("late", paragraphs(7), hours=-24 * 365)
    assert deduplicate(late, index, CFG, now=now).status == "unique"
    evict(index, CFG, now + timedelta(days=20))
    assert not index.docs and not index.ids


def test_store_values_are_json() -> None:
    index = InMemoryDedupIndex()
    run(index, article("a", STORY, url="https://x/1"))
    run(index, article("b", STORY[:-1], 1))
    for store in (index.docs, index.ids, index.urls, index.bands, index.buckets):
        assert json.loads(json.dumps(store)) == store


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(6)), hours=st.lists(st.integers(0, 3), min_size=6, max_size=6))
def test_racing_copies_never_all_duplicates(order: list[int], hours: list[int]) -> None:
    """Whatever the arrival order, one copy is unique and the rest point at a unique one."""
    variants = [
        STORY,
        STORY[:-1],
        ["DATELINE -", *STORY],
        [*STORY, "Additional reporting by A. Writer."],
        [p.lower() for p in STORY],
        STORY[1:],
    ]
    index = InMemoryDedupIndex()
    verdicts = {}
    for i in order:
        verdicts[f"v{i}"] = run(index, article(f"v{i}", variants[i], hours[i]))
    uniques = {vid for vid, v in verdicts.items() if v[0] == "unique"}
    assert len(uniques) == 1
    assert all(v[1] in uniques for vid, v in verdicts.items() if vid not in uniques)


@pytest.mark.parametrize("bands", [16, 32, 64])
def test_band_settings_all_work(bands: int) -> None:
    index = InMemoryDedupIndex()
    cfg = DedupConfig(bands=bands)
    run(index, article("a", STORY), cfg)
    assert run(index, article("b", STORY[:-1], 1), cfg)[:2] == ("near_duplicate", "a")


def test_a_restored_index_rebuilds_bands_and_urls_from_the_durable_stores() -> None:
    """The worker keeps only docs/ids/buckets in Tables; a restart must still match."""
    durable: dict[str, dict[str, object]] = {"docs": {}, "ids": {}, "buckets": {}}
    before = DedupIndex(durable)
    assert before.derived_in_memory
    deduplicate(article("orig", STORY, 0, url="https://a.example/x"), before, CFG, now=T0)
    edited = [*STORY[:-1], STORY[-1] + " Additional reporting by the desk."]

    after_restart = DedupIndex(durable)  # same durable data, empty derived lookups
    copies = {name: dict(store) for name, store in durable.items()}
    cold = deduplicate(article("copy", edited, 1), DedupIndex(copies), CFG, now=T0)
    assert cold.status == "unique", "without a rebuild the bands are empty"

    assert rebuild(after_restart, CFG) == 1
    verdict = deduplicate(article("copy", edited, 1), after_restart, CFG, now=T0)
    assert (verdict.status, verdict.duplicate_of) == ("near_duplicate", "orig")
    same_url = deduplicate(
        article("rescrape", paragraphs(77), 2, url="https://a.example/x"), after_restart,
        DedupConfig(threshold=0.99), now=T0,
    )
    assert same_url.status == "unique", "a different body at the same URL stays unique"


def test_a_replay_after_a_crash_between_index_writes_is_still_the_original() -> None:
    index = InMemoryDedupIndex()
    first = deduplicate(article("orig", STORY, 0), index, CFG, now=T0)
    del index.ids["orig"]  # the worker died after writing `docs`, before `ids`
    again = deduplicate(article("orig", STORY, 0), index, CFG, now=T0)
    assert first.status == again.status == "unique"
    copy = deduplicate(article("copy", STORY, 1), index, CFG, now=T0)
    assert (copy.status, copy.duplicate_of) == ("duplicate", "orig")
