"""The dedup rule through the in-process engine: what counts as a copy, and of what.

Verdicts are final ones (corrections applied), as a consumer that upserts by id sees.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.models import Language, TaggedArticle
from service.settings import DedupConfig
from service.stages.dedup import LocalDedup, body_fingerprint

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=400)
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
    article_id: str, parts: list[str], hours: float = 0, url: str | None = None
) -> TaggedArticle:
    return TaggedArticle(
        id=article_id,
        text="\n\n".join(parts),
        canonical_url=url,
        fetched_at=T0 + timedelta(hours=hours),
        language=Language(code="en", confidence=1.0),
    )


Outcome = tuple[str, str | None, float]


def verdicts(items: list[TaggedArticle], cfg: DedupConfig = CFG) -> dict[str, Outcome]:
    """Each id's final verdict, in arrival order `items`, corrections applied."""
    local = LocalDedup(cfg)
    out: dict[str, Outcome] = {}
    for item in items:
        d = local.deduplicate(item, now=NOW)
        out.setdefault(item.id, (d.status, d.duplicate_of, d.similarity))
    for c in local.corrections:
        d = c.verdict.dedup()
        out[c.article_id] = (d.status, d.duplicate_of, d.similarity)
    return out


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


def test_the_earliest_is_unique_and_later_copies_point_at_it() -> None:
    edited = [*STORY[:-1], "Additional reporting by Jane Doe in Lisbon."]
    got = verdicts([
        article("a", STORY),
        article("b", [p.upper() for p in STORY], 1),
        article("c", edited, 2),
    ])
    assert got["a"] == ("unique", None, 0.0)
    assert got["b"] == ("duplicate", "a", 1.0)
    assert got["c"][:2] == ("near_duplicate", "a") and CFG.threshold <= got["c"][2] < 1.0


def test_arrival_order_never_decides() -> None:
    items = [article("late-original", STORY, 0), article("copy", STORY, 1)]
    assert verdicts(items) == verdicts(items[::-1])
    assert verdicts(items[::-1])["copy"] == ("duplicate", "late-original", 1.0)


def test_edited_copies_match_by_containment() -> None:
    """A syndicated copy with 40 % of the paragraphs dropped, a new lead and an agency
    footer: its Jaccard is under the threshold, but most of it is in the original."""
    rng = random.Random(5)
    kept = sorted(rng.sample(range(len(STORY)), 6))
    copy = ["By Wire Staff, rewritten lead for the regional edition.",
            *(STORY[i] for i in kept), "(c) Agency. Reporting by A. Writer; editing by B."]
    got = verdicts([article("orig", STORY), article("copy", copy, 1)])
    assert got["copy"][:2] == ("near_duplicate", "orig")
    assert got["copy"][2] < CFG.threshold, "this pair needs containment, not Jaccard"
    short = DedupConfig(min_shingles=10_000)  # containment off for texts this short
    assert verdicts([article("orig", STORY), article("copy", copy, 1)], short)["copy"][0] == (
        "unique"
    )


def test_a_cut_copy_matches_but_a_follow_up_quoting_a_short_story_does_not() -> None:
    """The same two texts, a short story and one that holds it whole in 1.5 times as much
    new text: the later long one is a new article (a follow-up), the later short one a
    cut of the earlier long one (paragraphs dropped add nothing new)."""
    short = paragraphs(21, count=4)
    long = [*short, *paragraphs(22, count=6)]
    follow_up = verdicts([article("story", short), article("follow", long, 1)])
    assert follow_up["follow"][0] == "unique"
    cut = verdicts([article("full", long), article("cut", short, 1)])
    assert cut["cut"][:2] == ("near_duplicate", "full")
    assert cut["cut"][2] < CFG.threshold, "this pair needs containment, not Jaccard"


def test_an_update_that_adds_a_few_paragraphs_is_a_copy() -> None:
    base = paragraphs(23, count=4)
    got = verdicts([article("v1", base), article("v2", [*base, *paragraphs(24, count=3)], 1)])
    assert got["v2"][:2] == ("near_duplicate", "v1")
    assert got["v2"][2] < CFG.threshold


def test_templated_prose_is_not_a_copy() -> None:
    """A stock phrase in every sentence and a few stock clauses (the hostile suite's
    prose): long and short texts of one template share many short shingles."""
    from support.hostile import prose

    items = [article(f"long-{i}", [prose(300 + 3 * i + k) for k in range(3)], i)
             for i in range(8)]
    items += [article(f"short-{i}", [prose(700 + i, 4 + i % 3)], 8 + i) for i in range(8)]
    assert {v[0] for v in verdicts(items).values()} == {"unique"}


def test_different_articles_on_the_same_topic_are_unique() -> None:
    got = verdicts([article("a", [VOTE_A]), article("b", [VOTE_B], 1),
                    article("c", paragraphs(2), 1)])
    assert {v[0] for v in got.values()} == {"unique"}


def test_replay_of_an_id_returns_its_first_verdict() -> None:
    local = LocalDedup(CFG)
    first = local.deduplicate(article("a", STORY), now=NOW)
    second = local.deduplicate(article("b", STORY[:-1], 1), now=NOW)
    assert (second.status, second.duplicate_of) == ("near_duplicate", "a")
    assert local.deduplicate(article("a", STORY), now=NOW) == first
    assert local.deduplicate(article("b", STORY[:-1], 1), now=NOW) == second
    # A replay carrying an edited body still gets the verdict its id got first.
    assert local.deduplicate(article("a", paragraphs(9)), now=NOW) == first


def test_tie_break_prefers_earliest_fetched_then_smallest_id() -> None:
    whole = paragraphs(3)
    for later_id, earlier_id, later_h, earlier_h, winner in [
        ("y", "x", 2.0, 1.0, "x"),  # y arrives first but x was fetched earlier
        ("m", "k", 1.0, 1.0, "k"),  # same fetched_at: the smaller id
    ]:
        got = verdicts([
            article(later_id, whole[1:], later_h),
            article(earlier_id, whole[:-1], earlier_h),
            article("z", whole, 3),
        ])
        assert got[earlier_id][0] == "unique"
        assert got[later_id][:2] == ("near_duplicate", earlier_id)  # about 0.8 alike
        assert got["z"][:2] == ("near_duplicate", winner)


def test_same_canonical_url_uses_a_lower_bar_than_the_threshold() -> None:
    base = paragraphs(4, count=12)
    updated = base[:9] + paragraphs(5, count=3)  # a quarter rewritten: about 0.6 alike
    url = "https://news.example/story-1"
    strict = DedupConfig(min_shingles=10**6)  # no containment: only the URL rule matches
    elsewhere = verdicts([article("a", base, url=url),
                          article("b", updated, 1, url="https://other.example/1")], strict)
    assert elsewhere["b"][0] == "unique"
    same = verdicts([article("a", base, url=url), article("c", updated, 2, url=url)], strict)
    assert same["c"][:2] == ("near_duplicate", "a")
    assert 0.5 <= same["c"][2] < CFG.threshold


def test_site_wide_canonical_url_does_not_merge_different_articles() -> None:
    home = "https://news.example/"
    got = verdicts([article("a", [VOTE_A], url=home), article("b", [VOTE_B], 1, url=home)])
    assert got["b"][0] == "unique"


def test_the_window_bounds_pairs_by_event_time_in_any_order() -> None:
    day = DedupConfig(window_seconds=24 * 3600)
    items = [article("new", STORY, 48), article("old", STORY, 0), article("mid", STORY, 20)]
    got = verdicts(items, day)
    assert got["old"][0] == "unique"
    assert got["mid"][:2] == ("duplicate", "old")
    assert got["new"][0] == "unique", "more than a day after old, and mid"
    assert verdicts(items[::-1], day) == got
    # With no window (batch mode's default) every copy counts, however far apart.
    whole = verdicts(items, DedupConfig(window_seconds=None))
    assert whole["new"][:2] == ("duplicate", "old")


def test_future_fetch_times_are_capped_at_the_processing_time() -> None:
    got = verdicts([article("f", STORY, hours=24 * 365 * 5), article("g", STORY, 24 * 399)])
    assert got["g"][0] == "unique", "f's clock is years ahead: it counts as fetched now"
    assert got["f"][:2] == ("duplicate", "g")


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(6)), hours=st.lists(st.integers(0, 3), min_size=6, max_size=6))
def test_racing_copies_converge_to_one_unique(order: list[int], hours: list[int]) -> None:
    """Whatever the arrival order, the earliest copy is unique and the rest point at it."""
    variants = [
        STORY,
        STORY[:-1],
        ["DATELINE -", *STORY],
        [*STORY, "Additional reporting by A. Writer."],
        [p.lower() for p in STORY],
        STORY[1:],
    ]
    items = [article(f"v{i}", variants[i], hours[i]) for i in order]
    got = verdicts(items)
    first = min(items, key=lambda a: (a.fetched_at, a.id)).id
    assert got[first][0] == "unique"
    assert all(v[1] == first for vid, v in got.items() if vid != first)
    assert got == verdicts(sorted(items, key=lambda a: (a.fetched_at, a.id)))


@pytest.mark.parametrize("bands", [16, 32, 42, 64])
def test_band_settings_all_work(bands: int) -> None:
    cfg = DedupConfig(bands=bands)
    got = verdicts([article("a", STORY), article("b", STORY[:-1], 1)], cfg)
    assert got["b"][:2] == ("near_duplicate", "a")
