"""Rule-facing helpers of the signature: the Jaccard estimate, its error, containment."""

from __future__ import annotations

import numpy as np
import pytest

from service.stages.dedup.signature import containment, similarity, similarity_error


@pytest.mark.parametrize("jaccard", [0.2, 0.5, 0.8])
def test_similarity_error_is_the_spread_of_the_estimate(jaccard: float) -> None:
    """Signature pairs whose minima agree with probability J (and otherwise collide in
    their low byte 1 time in 256): the estimates centre on J, spread by the error."""
    rng = np.random.default_rng(7)
    estimates = []
    for _ in range(2000):
        a = rng.integers(0, 256, 192, dtype=np.uint8)
        b = np.where(rng.random(192) < jaccard, a, rng.integers(0, 256, 192, dtype=np.uint8))
        estimates.append(similarity(a.tobytes(), b.astype(np.uint8).tobytes()))
    assert abs(np.mean(estimates) - jaccard) < 0.01
    assert np.std(estimates) == pytest.approx(similarity_error(jaccard, 192), rel=0.1)


def test_containment_from_jaccard_and_sizes() -> None:
    # B holds all of A (100 shingles) and 100 more: J = 0.5, containment 1.
    assert containment(0.5, 100, 200) == pytest.approx(1.0)
    # Equal sizes: containment is 2J / (1 + J).
    assert containment(0.5, 150, 150) == pytest.approx(2 / 3)
    assert containment(0.5, 0, 10) == 0.0
