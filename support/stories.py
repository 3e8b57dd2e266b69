"""Synthetic news stories for the dedup engine's tests and benchmarks: every story
distinct, with a copy editor's near copy and an agency's syndicated copy of it."""

from __future__ import annotations

import random

_SUBJECTS = (
    "the port authority", "a regional court", "the water board", "striking dockers",
    "the city orchestra", "rail unions", "a mining cooperative", "the health ministry",
    "fishing crews", "the planning office", "a school trust", "the lighthouse keepers",
    "the airport operator", "tenant groups", "the weather service", "a seed bank",
    "the border agency", "hill farmers", "the tram company", "a film archive",
)
_ACTIONS = (
    "postponed a vote on", "published new figures for", "filed an appeal against",
    "doubled its budget for", "opened an inquiry into", "signed a deal covering",
    "warned about delays to", "scrapped plans for", "held talks over", "approved funding for",
    "questioned the cost of", "rejected a bid for", "announced a review of",
)
_OBJECTS = (
    "the northern ring road", "winter ferry timetables", "a desalination plant",
    "flood barriers on the estuary", "the old grain silos", "night bus routes",
    "a cross-border power cable", "the hospital car park", "coastal wind turbines",
    "a new cargo terminal", "rural broadband masts", "the cathedral roof", "river dredging",
    "a hydrogen bus depot", "the harbour wall", "school meal contracts",
)
_TAILS = (
    "officials said on {day}", "after months of dispute", "citing rising costs of {n} crowns",
    "in a statement issued late on {day}", "despite objections from {n} residents",
    "according to minutes seen by reporters", "ahead of elections in {month}",
    "with work due to start in {month}", "following a survey of {n} households",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_MONTHS = ("March", "June", "September", "December")
_SWAPS = {"said": "stated", "after": "following", "new": "fresh", "late": "early"}


def _sentence(rng: random.Random) -> str:
    tail = rng.choice(_TAILS).format(
        day=rng.choice(_DAYS), n=rng.randint(12, 9800), month=rng.choice(_MONTHS)
    )
    text = f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)} {rng.choice(_OBJECTS)}, {tail}."
    return text[0].upper() + text[1:]


def story(rng: random.Random, paragraphs: int = 3, sentences: int = 4) -> str:
    return "\n\n".join(
        " ".join(_sentence(rng) for _ in range(sentences)) for _ in range(paragraphs)
    )


def near_copy(text: str, rng: random.Random) -> str:
    """A copy editor's pass: a byline, a few words swapped."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if word in _SWAPS and rng.random() < 0.5:
            words[i] = _SWAPS[word]
    return "By Staff Reporter\n\n" + " ".join(words)


def syndicated(text: str, rng: random.Random) -> str:
    paras = text.split("\n\n")
    return f"OSLO (Wire) - {paras[0]}\n\n" + "\n\n".join(paras[1:]) + "\n\nEditing by Desk"
