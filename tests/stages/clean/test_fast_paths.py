"""The cheaper line helpers (issue 17) answer exactly as the regexes they replaced."""

from __future__ import annotations

import re

import pytest

from service.stages.clean import patterns as P
from service.stages.clean.boilerplate import _DIGITS_RE, _NON_WORD_RE, normalise_line
from service.stages.clean.text import (
    _TRIGGER_RE,
    ends_sentence,
    fold,
    is_title_line,
    normalise,
    static_reason,
)

LINES = [
    "", " ", ".", "Hello world.", "Hello world", 'He said "no."', "He said “no”", "(Reuters)",
    "A list:", "Why?)", "End.)]", "quote'", "‘single’", "Wait…", "句子。", "x»", "a\n", "a.\n",
    "Share | Tweet • Email", "Community standardsDiscussion", "LISTEN LIVE", "Get short URL",
    "Battle Against Daesh in Syria (180)", "Updated 12:30 GMT, 5 Nov 2024", "3 hours ago",
    "Sign up to our daily newsletter for the latest", "We use cookies to improve this site.",
    "© 2024 Example Media. All rights reserved.", "Reporting by Jane Doe; editing by John Roe",
    "Ünïcode 12 ½ ² and 007 bond", "tab\there  and\u00a0nbsp\u2003em\u3000ideo", "__init__ a_b",
    "10 000 people, 2,5 %", "Follow us on Twitter", "\u212aelvin", "Share/Tweet", "Home·Menu",
]


def test_trigger_trie_finds_what_the_alternation_found() -> None:
    old = re.compile("|".join(re.escape(t) for t in P.PROMO_TRIGGERS))
    for line in [*LINES, *P.PROMO_TRIGGERS, *(f"x {t} y" for t in P.PROMO_TRIGGERS), "emai", "app"]:
        low = line.lower()
        assert (old.search(low) is None) == (_TRIGGER_RE.search(low) is None), line


@pytest.mark.parametrize("line", LINES)
def test_ends_sentence_is_the_terminal_regex(line: str) -> None:
    assert ends_sentence(line) == (P.TERMINAL_RE.search(line) is not None)


@pytest.mark.parametrize("line", LINES)
def test_normalise_line_is_the_two_regexes(line: str) -> None:
    expected = _NON_WORD_RE.sub(" ", _DIGITS_RE.sub("0", line.casefold())).strip()
    assert normalise_line(line) == expected


def test_normalise_collapses_white_space_as_the_regex_did() -> None:
    space = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
    every_space = "".join(chr(c) for c in range(0x3001) if space.match(chr(c)) and chr(c) != "\n")
    for line in [*LINES, f"a{every_space}b{every_space}", every_space]:
        line = line.replace("\n", " ")
        assert " ".join(line.split()) == space.sub(" ", line).strip()
    assert normalise("  Hello \u00a0 world \n\tNext\u3000line ") == "Hello world\nNext line"


def test_ui_lines_still_found() -> None:
    assert static_reason("Share | Tweet • Email") == "ui"
    assert static_reason("Community standardsDiscussion") == "ui"
    assert static_reason("\u212aelvin") is None
    assert static_reason("LINKEDIN/Telegram") == "ui"
    assert static_reason("Battle Against Daesh in Syria (180)") == "storyline"


def _title_rule(line: str, title: str) -> bool:
    """`is_title_line` as its docstring states it, with no early exits."""
    tf, lf = fold(title), fold(line)
    if not tf:
        return False
    if lf == tf:
        return True
    head = re.split(r"\s+[|–—-]\s+", line)[0]
    return len(tf) >= 20 and (fold(head) == tf or (lf.startswith(tf) and len(lf) < len(tf) + 40))


TITLES = [
    "Straße closed after the winter storm", "İstanbul ferries resume after the strike",
    "ŉ is an odd letter for a headline", "Council approves the night bus plan", "« Le titre »",
    "...Dots before the words of this one", "LISTEN LIVE", "3 hours ago",
]


@pytest.mark.parametrize("title", TITLES)
def test_title_line_early_exits_answer_as_the_rule(title: str) -> None:
    variants = [title, title.upper(), title.casefold(), f" {title}", f"{title} | Example Site",
                f"{title.upper()} - Example", f"x {title}", f"{title}: and the rest of it"]
    for line in [*LINES, *variants, *(f"{v} — Site" for v in TITLES)]:
        assert is_title_line(line, title) == _title_rule(line, title), (line, title)


@pytest.mark.parametrize("line", LINES)
def test_a_memoised_static_reason_is_the_computed_one(line: str) -> None:
    assert static_reason(line) == static_reason(line) == static_reason.__wrapped__(line)  # type: ignore[attr-defined]
