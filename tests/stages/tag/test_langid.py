"""The faster py3langid scoring (service/stages/tag/langid.py) gives py3langid's answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from py3langid.langid import LanguageIdentifier

from service.stages.tag.langid import FastIdentifier
from service.stages.tag.stage import _Lexicon, _load_identifier, _tokens

TEXTS = [
    "The council approved the new budget on Tuesday, after a long debate.",
    "Der Stadtrat hat am Dienstag den neuen Haushalt beschlossen.",
    "Le conseil a approuvé le nouveau budget mardi, après un long débat.",
    "Совет утвердил новый бюджет во вторник после долгих дебатов.",
    "市议会周二在长时间辩论后批准了新预算。",
    "the the the the the the   double  spaces and a trailing space ",
    "CAPITALS ONLY ARE LOWER-CASED BY PY3LANGID FIRST",
    "12345 67890 !!! ???",
    "",
]


@pytest.fixture(scope="module")
def fast() -> FastIdentifier:
    return _load_identifier()


@pytest.fixture(scope="module")
def plain(fast: FastIdentifier) -> LanguageIdentifier:
    # py3langid's own class on the same arrays (no second model load).
    return LanguageIdentifier(
        fast.nb_ptc, fast.nb_pc, fast.nb_classes, fast.tk_nextmove, fast.tk_output,
        norm_probs=True, tk_row=fast.tk_row,
    )


@pytest.mark.parametrize("text", TEXTS)
def test_same_scores_as_py3langid(
    fast: FastIdentifier, plain: LanguageIdentifier, text: str
) -> None:
    for _ in range(2):  # the second pass reads the memoised walks
        assert np.array_equal(fast._decide(text), plain._decide(text))
        assert fast.classify(text) == plain.classify(text)
        assert fast.rank(text) == plain.rank(text)


def test_same_scores_after_set_languages(fast: FastIdentifier, plain: LanguageIdentifier) -> None:
    try:
        fast.set_languages(["en", "de", "fr"])
        plain.set_languages(["en", "de", "fr"])
        for text in TEXTS:
            assert np.array_equal(fast._decide(text), plain._decide(text))
    finally:
        fast.set_languages(None)
        plain.set_languages(None)


def _naive_scores(lexicon: _Lexicon, tokens: list[str]) -> list[float]:
    """The token-by-token loop `_Lexicon.scores` replaced."""
    counts: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token in lexicon.terms:
            counts[token] = counts.get(token, 0) + 1
        if i:
            pair = f"{tokens[i - 1]} {token}"
            if pair in lexicon.terms:
                counts[pair] = counts.get(pair, 0) + 1
    scores = [0.0] * len(lexicon.topics)
    for term, count in counts.items():
        for topic, weight in lexicon.terms[term]:
            scores[topic] += weight * (1.0 + math.log(count))
    return scores


def test_lexicon_scores_match_the_naive_loop() -> None:
    lexicon = _Lexicon([{"medtop:15000000": {"world cup": 2.0, "goal": 1.0},
                         "medtop:04000000": {"interest rates": 2.0, "bank": 1.0}}])
    tokens = _tokens("The bank raised interest rates; a World Cup goal, goals and more goals.")
    assert lexicon.scores(tokens) == pytest.approx(_naive_scores(lexicon, tokens), abs=0)
