"""Per-source boilerplate learning: thresholds, window, state shape, and clean() wiring."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

from service.models import RawArticle
from service.settings import CleanConfig
from service.stages.clean import clean
from service.stages.clean.boilerplate import (
    MAX_LINES_PER_PAGE,
    BoilerplateMemory,
    line_key,
    source_key,
)

CFG = CleanConfig(boilerplate_min_pages=4, boilerplate_window_pages=10)
PROMO = "The Harbour Gazette is owned by the people who read it, and always will be."


class CountingStore(MutableMapping[str, Any]):
    """A dict that counts reads and writes, standing in for a faust Table."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.reads = self.writes = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes += 1
        self.data[key] = json.loads(json.dumps(value))  # must survive a changelog round trip

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def word(n: int) -> str:
    """A distinct pronounceable word per n (digits are normalised away by line_key)."""
    letters = "bdfgklmnprstvz"
    out = ""
    for _ in range(4):
        n, r = divmod(n, len(letters))
        out += letters[r] + "aeiou"[r % 5]
    return out


def story(n: int) -> list[str]:
    """A page body that differs on every page (written for these tests)."""
    w = word(n)
    return [
        f"The ferry {w} left the harbour late on a wet morning, the operator said.",
        f"Passengers on the {w} were offered free tea while the crew checked the engines.",
        f"The operator expects the {w} timetable to return to normal by the end of the week.",
    ]


def test_line_is_boilerplate_from_the_min_pages_th_page_on() -> None:
    memory = BoilerplateMemory({}, CFG)
    marks = [memory.observe("gazette", [*story(i), PROMO])[-1] for i in range(6)]
    assert marks == [False, False, False, True, True, True]


def test_body_lines_are_never_marked_and_cold_start_learns_nothing() -> None:
    memory = BoilerplateMemory({}, CFG)
    for i in range(8):
        assert memory.observe("gazette", story(i)) == [False, False, False]


def test_digits_are_normalised_so_counters_and_dates_match() -> None:
    assert line_key("Battle Against Daesh (180)") == line_key("Battle against daesh (181)")
    assert line_key("ok") is None


def test_sources_are_learned_separately() -> None:
    memory = BoilerplateMemory({}, CFG)
    for i in range(5):
        memory.observe("gazette", [*story(i), PROMO])
    assert memory.observe("other-site", [PROMO]) == [False]


def test_window_slides_so_an_old_template_ages_out() -> None:
    memory = BoilerplateMemory({}, CFG)
    for i in range(5):
        memory.observe("gazette", [*story(i), PROMO])
    for i in range(5, 5 + CFG.boilerplate_window_pages):
        memory.observe("gazette", story(i))
    assert memory.observe("gazette", [PROMO]) == [False]


def test_a_resent_page_cannot_teach_its_own_body() -> None:
    memory = BoilerplateMemory({}, CFG)
    for _ in range(6):
        marks = memory.observe("gazette", story(1))
    assert marks == [False, False, False]


def test_each_page_costs_two_small_writes_and_the_store_stays_bounded() -> None:
    store = CountingStore()
    memory = BoilerplateMemory(store, CFG)
    long_page = [f"Line {word(i)} of a very long page with many distinct words" for i in range(400)]
    for i in range(3 * CFG.boilerplate_window_pages):
        before = store.writes
        memory.observe("gazette", [*story(i), *[f"{x} {word(i)}" for x in long_page]])
        assert store.writes - before == 2
    assert store.data["gazette"] == 3 * CFG.boilerplate_window_pages
    pages = [v for k, v in store.data.items() if k.startswith("gazette\x1f")]
    assert len(pages) == CFG.boilerplate_window_pages
    assert all(len(p) <= MAX_LINES_PER_PAGE for p in pages)


def test_a_new_process_restores_what_was_learned_from_the_store() -> None:
    store: dict[str, Any] = {}
    first = BoilerplateMemory(store, CFG)
    promo = "The Gazette is owned by its readers and answers to nobody else at all."
    for i in range(CFG.boilerplate_min_pages - 1):
        first.observe("gazette", [*story(i), promo])
    restarted = BoilerplateMemory(store, CFG)
    marks = restarted.observe("gazette", [*story(99), promo])
    assert marks == [False, False, False, True]


@pytest.mark.parametrize(
    ("source", "url", "expected"),
    [
        ("Gazette", "https://www.gazette.example/a", "gazette"),
        (None, "https://www.gazette.example/a", "gazette.example"),
        ("  ", "http://news.example:8080/x", "news.example"),
        (None, None, None),
    ],
)
def test_source_key(source: str | None, url: str | None, expected: str | None) -> None:
    assert source_key(source, url) == expected


BODY = [
    "The harbour authority confirmed on Monday that the northern pier will close for repairs "
    "from next month, after divers found cracks in two of its supports.",
    "Fishing boats will moor at the southern quay while the work goes on, and the authority "
    "said it would waive berth fees for the duration.",
    "Engineers expect the repairs to take about ten weeks if the weather holds.",
]


@pytest.mark.parametrize("learn", [True, False])
def test_clean_removes_a_prose_like_site_promo_only_when_learning(learn: bool) -> None:
    cfg = CleanConfig(learn_boilerplate=learn, boilerplate_min_pages=4)
    memory = BoilerplateMemory({}, cfg)
    texts = []
    for i in range(5):
        body = [f"{p} Filed by {word(i)}." for p in BODY]
        raw = RawArticle(text="\n\n".join([body[0], PROMO, *body[1:]]),
                         url=f"https://gazette.example/news/{i}")
        texts.append(clean(raw, cfg, memory).text)
    assert all(PROMO in t for t in texts[:3])  # cold start: static rules only
    assert (PROMO in texts[-1]) is not learn
    assert texts[-1].count(f"Filed by {word(4)}.") == len(BODY)
