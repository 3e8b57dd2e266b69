"""Rule-facing helpers of the signature: the Jaccard estimate, its error, containment."""

from __future__ import annotations

import numpy as np
import pytest

from service.stages.dedup.signature import (
    band_keys,
    containment,
    similarity,
    similarity_error,
    tokens,
)


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


def _similarity_by_numpy(a: bytes, b: bytes) -> float:
    agree = np.count_nonzero(np.frombuffer(a, np.uint8) == np.frombuffer(b, np.uint8))
    estimate = (agree / len(a) - 1 / 256) / (1 - 1 / 256)
    return float(min(1.0, max(0.0, estimate)))


def test_similarity_counts_agreeing_bytes_exactly_as_numpy_does() -> None:
    """The int xor count must give the very floats the numpy count gave (verdicts keep
    their `similarity` to the last bit), leading zero bytes and identical pairs included."""
    rng = np.random.default_rng(11)
    for share in (0.0, 0.3, 0.7, 0.95, 1.0):
        for _ in range(200):
            a = rng.integers(0, 256, 192, dtype=np.uint8)
            b = np.where(rng.random(192) < share, a, rng.integers(0, 256, 192, dtype=np.uint8))
            a[:3] = b[:3] = 0  # leading zero bytes must not be lost by int.to_bytes
            assert similarity(a.tobytes(), b.tobytes()) == _similarity_by_numpy(
                a.tobytes(), b.tobytes())
    assert similarity(bytes(192), bytes(192)) == 1.0


def _band_keys_by_format(sig: bytes, bands: int, rows: int) -> list[str]:
    text = sig.hex()
    width = 2 * rows
    return [f"{band:02x}{text[band * width : (band + 1) * width]}" for band in range(bands)]


@pytest.mark.parametrize(("bands", "rows", "size"), [(64, 3, 192), (32, 4, 128), (1, 5, 7),
                                                     (300, 1, 300), (10, 3, 31)])
def test_band_keys_are_the_band_number_and_its_bytes_in_hex(bands: int, rows: int,
                                                             size: int) -> None:
    rng = np.random.default_rng(bands)
    for _ in range(50):
        sig = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert band_keys(sig, bands, rows) == _band_keys_by_format(sig, bands, rows)


def test_tokens_split_on_ascii_and_typographic_punctuation_alike() -> None:
    plain = "Don't stop-now, \"Yes\"... 10.5%"
    typographic = "Don\u2019t stop\u2014now, \u00abYes\u00bb\u2026 10.5%\u00a0"
    want = [b"don", b"t", b"stop", b"now", b"yes", b"10", b"5"]
    assert tokens(plain) == tokens(typographic) == want
    assert tokens("Caf\u00e9 \u00c9T\u00c9") == ["caf\u00e9".encode(), "\u00e9t\u00e9".encode()]
