"""The hashed character n-gram block of the trained section model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from service.stages.tag.char_ngrams import CharNgrams

DOCS = [
    "Striker scores twice as United beat City",
    "Chipmaker shares rise after strong quarterly revenue",
    "NASA probe sends back images of Saturn's moon Titan",
    "United sign a new striker before the derby",
]


def _grams(text: str) -> set[tuple[int, int]]:
    rows, cols = CharNgrams(2, 5, bits=30).grams([text])
    return set(zip(rows.tolist(), cols.tolist(), strict=True))


def test_same_grams_as_sklearn_char_wb() -> None:
    """Per document, as many distinct grams as scikit-learn's char_wb analyser finds."""
    analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    for doc in DOCS:
        assert len(_grams(doc)) == len(set(analyse(doc)))


def test_grams_stay_inside_words() -> None:
    # "ab cd": " ab", "ab ", " cd", "cd " and their pieces; never "b c".
    assert _grams("ab cd") == _grams("cd ab")
    assert _grams("ab") | _grams("cd") == _grams("ab cd")


def test_documents_do_not_leak_into_each_other() -> None:
    hasher = CharNgrams(2, 5, bits=16)
    rows, cols = hasher.grams(["ab", "cd"])
    one = set(cols[rows == 0].tolist())
    assert one == set(hasher.grams(["ab"])[1].tolist())


def test_transform_is_l2_normalised_and_batch_independent() -> None:
    hasher = CharNgrams(2, 5, bits=18).fit(DOCS)
    together = hasher.transform(DOCS).toarray()
    alone = np.vstack([hasher.transform([d]).toarray() for d in DOCS])
    assert np.allclose(together, alone)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_min_df_zeroes_rare_buckets_and_empty_text_is_a_zero_row() -> None:
    hasher = CharNgrams(2, 5, bits=18, min_df=2).fit(DOCS)
    row = hasher.transform(["zzqx"]).toarray()
    assert not row.any()  # every gram of it was unseen in training
    assert hasher.transform([""]).nnz == 0
    assert hasher.transform(["United"]).nnz > 0  # seen in two documents


def test_case_and_whitespace_do_not_matter() -> None:
    hasher = CharNgrams(2, 5, bits=18).fit(DOCS)
    a = hasher.transform(["United  beat\nCity"]).toarray()
    b = hasher.transform(["united beat city"]).toarray()
    assert np.allclose(a, b)


def test_unfitted_and_bad_range() -> None:
    with pytest.raises(ValueError):
        CharNgrams(2, 5).transform(["x"])
    with pytest.raises(ValueError):
        CharNgrams(3, 2)
