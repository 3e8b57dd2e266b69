"""What dedup computes from one article: tokens, exact fingerprint, MinHash, band keys.

Everything here is a pure function of the article and the `DedupConfig`, so a worker
and `newsflow process` derive the same keys, and a restore can re-derive the band
keys of a stored candidate from its signature alone.
"""

from __future__ import annotations

import array
import base64
import math
import re
import sys
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import xxhash
from rensa import RMinHash

from service.models import TaggedArticle
from service.settings import DedupConfig

# A stored signature is only comparable with one made by the same seed and algorithm.
SEED = 0x6E657773

# Typographic punctuation becomes a space; ASCII non-alphanumerics go in `_ASCII_GAPS`.
_UNICODE_GAPS = re.compile("[\u00a0\u00ab\u00bb\u2010-\u2015\u2018-\u201f\u2026\u2032\u2033]")
_ASCII_GAPS = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 or b >= 128 else 32 for b in range(256))
_MIX = np.uint64(0x9E3779B97F4A7C15)
_FINAL = np.uint64(0xC2B2AE3D27D4EB4F)
_BYTE_COLLISION = 1 / 256  # two unrelated one-byte minima agree this often
_LITTLE_ENDIAN = sys.byteorder == "little" and array.array("I").itemsize == 4


def tokens(text: str) -> list[bytes]:
    """Lowercased words; bytes because splitting bytes is several times faster than re.
    (`isascii` is a flag read: an ASCII text has no typographic punctuation to replace.)"""
    lowered = text.lower()
    if not text.isascii():
        lowered = _UNICODE_GAPS.sub(" ", lowered)
    return lowered.encode("utf-8").translate(_ASCII_GAPS).split()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def fingerprint(words: list[bytes]) -> str:
    """xxh3-64 of the body with case, punctuation and whitespace removed, 11 characters.

    64 bits keep the key short; a collision inside a 1-million-article window has odds
    of about 3 in 100 million.
    """
    return b64(xxhash.xxh3_64_digest(b"".join(words)))


def body_fingerprint(text: str) -> str:
    return fingerprint(tokens(text))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard from two one-byte-per-permutation (b-bit) MinHash signatures.

    The bytes that agree are the zero bytes of a ^ b, counted on Python ints: a few
    times cheaper than numpy's per-call overhead for 192 bytes."""
    size = len(a)
    if size != len(b) or not size:
        agree = int(np.count_nonzero(np.frombuffer(a, np.uint8) == np.frombuffer(b, np.uint8)))
    else:
        agree = (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(size).count(0)
    estimate = (agree / size - _BYTE_COLLISION) / (1 - _BYTE_COLLISION)
    return float(min(1.0, max(0.0, estimate)))


def similarity_error(jaccard: float, num_perm: int) -> float:
    """Standard error of `similarity` at this Jaccard: each of the num_perm bytes agrees
    with probability p = J + (1 - J)/256, independently, so the share that agree has
    variance p(1 - p)/num_perm, scaled by the collision correction."""
    p = jaccard + (1 - jaccard) * _BYTE_COLLISION
    return math.sqrt(p * (1 - p) / num_perm) / (1 - _BYTE_COLLISION)


def containment(jaccard: float, n_a: int, n_b: int) -> float:
    """Share of the smaller shingle set found in the other, from the Jaccard estimate.

    |A∩B| = J(|A|+|B|)/(1+J), so a syndicated copy that dropped half the paragraphs, or
    gained a footer, scores high here while its Jaccard falls under the threshold.
    """
    smaller = min(n_a, n_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (n_a + n_b) / ((1 + jaccard) * smaller))


def event_time(article: TaggedArticle, now: datetime | None = None) -> int:
    """`fetched_at` in epoch seconds, capped at the processing time: a scraper's clock
    in the future must not make an article look newer than everything else."""
    processed = now or datetime.now(UTC)
    fetched = article.fetched_at
    return int((min(fetched, processed) if fetched is not None else processed).timestamp())


def url_hash(article: TaggedArticle) -> str | None:
    url = article.canonical_url or article.url
    return b64(xxhash.xxh3_64_digest(url.encode("utf-8"))) if url else None


def band_keys(sig: bytes, bands: int, rows: int) -> list[str]:
    """One short key per band: the band number and its `rows` signature bytes, in hex.

    Hex because it is one call for the whole signature and a slice per band; base64
    per band was a third of the probe's time."""
    if bands <= 256 and len(sig) >= bands * rows:
        return _band_keys(sig, bands, rows)
    text = sig.hex()
    width = 2 * rows
    return [f"{band:02x}{text[band * width : (band + 1) * width]}" for band in range(bands)]


def _band_keys(sig: bytes, bands: int, rows: int) -> list[str]:
    """`band_keys` for up to 256 bands: the band numbers and the bytes interleaved in
    one buffer (a prebuilt template), one hex call, one slice per key."""
    template, starts = _band_template(bands, rows)
    buf = template[:]
    step = rows + 1
    for j in range(rows):
        buf[j + 1 :: step] = sig[j : bands * rows : rows]
    text = buf.hex()
    width = 2 * step
    return [text[i : i + width] for i in starts]


@lru_cache(maxsize=8)
def _band_template(bands: int, rows: int) -> tuple[bytearray, range]:
    """Each band's number followed by `rows` zero bytes; the keys' offsets in its hex."""
    template = bytearray(b for band in range(bands) for b in [band] + [0] * rows)
    return template, range(0, 2 * len(template), 2 * (rows + 1))


class Signer:
    """MinHash signatures and band keys for one `DedupConfig`."""

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self.bands = min(cfg.bands, cfg.num_perm)
        self.rows = cfg.num_perm // self.bands

    def signature(self, words: list[bytes]) -> tuple[bytes, int]:
        """MinHash of the word shingles, keeping the low byte of each of num_perm minima,
        and the number of shingles (for containment).

        Shingles are hashed in numpy from rensa's token hashes instead of being joined
        as strings, which was the slowest step. One byte per minimum costs ~0.4% false
        agreements, which `similarity` corrects, and makes the signature 128 bytes.
        """
        k = self.cfg.shingle_size
        hashes = np.asarray(RMinHash.hash_token_sets([words])[0], dtype=np.uint64)
        width = max(1, len(hashes) - k + 1)
        shingles = hashes[:width].copy()
        for j in range(1, min(k, len(hashes))):
            shingles *= _MIX
            shingles ^= hashes[j : j + width]
        shingles ^= shingles >> np.uint64(31)
        shingles *= _FINAL
        shingles ^= shingles >> np.uint64(29)
        # Distinct shingles; sort + diff is several times faster than np.unique here.
        count = int(np.count_nonzero(np.diff(np.sort(shingles)))) + 1 if len(hashes) else 0
        offsets = np.array([0, len(shingles)], dtype=np.uint64)
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(
            shingles, offsets, self.cfg.num_perm, SEED
        )
        minima = matrix.to_rows()[0]
        if _LITTLE_ENDIAN:  # the low byte of each 32-bit minimum, without numpy's calls
            sig = array.array("I", minima).tobytes()[::4]
        else:
            sig = np.asarray(minima, dtype=np.uint32).astype(np.uint8).tobytes()
        return sig, count

    def band_keys(self, sig: bytes) -> list[str]:
        return band_keys(sig, self.bands, self.rows)


@lru_cache(maxsize=8)
def signer(cfg: DedupConfig) -> Signer:
    return Signer(cfg)
