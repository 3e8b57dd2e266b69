"""The default lexicon on short wire items (headline + one sentence), written for this test."""

from __future__ import annotations

import pytest

from service.models import CleanedArticle
from service.settings import TagConfig
from service.stages.tag import Tagger
from service.stages.tag.lexicon import EN, _merge

ITEMS = [
    ("Yankees rally past Red Sox in ninth", "A two-run homer in the ninth inning lifted the "
     "Yankees over Boston on Tuesday night.", "medtop:15000000"),
    ("Top seed advances at US Open", "The top seed needed three sets to beat a qualifier "
     "on Monday.", "medtop:15000000"),
    ("Chipmaker warns on quarterly profit", "Shares fell 5 percent after the company cut its "
     "third-quarter revenue outlook.", "medtop:04000000"),
    ("Oil tops $50 a barrel", "Crude oil futures rose on supply worries as OPEC met.",
     "medtop:04000000"),
    ("New worm spreads through e-mail", "The virus exploits a security flaw in Windows, "
     "antivirus vendors said.", "medtop:13000000"),
    ("Space shuttle set for return to flight", "NASA engineers finished tests on the "
     "shuttle's fuel tank.", "medtop:13000000"),
    ("Car bomb kills 12 in Baghdad", "Insurgents struck a police station in the Iraqi "
     "capital.", "medtop:16000000"),
]


@pytest.mark.parametrize(("title", "text", "code"), ITEMS)
def test_wire_items(title: str, text: str, code: str) -> None:
    tagger = Tagger(TagConfig())
    section = tagger.section(CleanedArticle(id="x", title=title, text=text), language="en")
    assert section is not None
    assert section.code == code
    assert section.method == "text"


def test_merge_keeps_the_higher_weight() -> None:
    table = {"a": {"x": 3.0, "y": 1.0}}
    _merge(table, {"a": {"x": 1.0, "y": 2.0, "z": 1.0}, "b": {"w": 2.0}})
    assert table == {"a": {"x": 3.0, "y": 2.0, "z": 1.0}, "b": {"w": 2.0}}


def test_wire_terms_are_in_the_english_table() -> None:
    assert EN["medtop:13000000"]["spyware"] == 3
    assert EN["medtop:15000000"]["quarterback"] == 3  # the older entry kept
