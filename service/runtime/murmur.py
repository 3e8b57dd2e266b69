"""Kafka's default partitioner hash (murmur2, as `org.apache.kafka.common.utils.Utils`),
faster than aiokafka's pure-Python loop: dedup routes every bucket key of every article
with it (66 keys per probe), and that loop was about a sixth of the bands' and scatter's
CPU. Same results bit for bit (tests/runtime/test_murmur.py checks both against
aiokafka's and Kafka's own test vectors).
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

SEED = 0x9747B28C
M = 0x5BD1E995
MASK = 0xFFFFFFFF
_M32 = np.uint32(M)


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data`, as an unsigned 32-bit int (aiokafka's `murmur2`)."""
    length = len(data)
    h = SEED ^ length
    blocks = length // 4
    for k in struct.unpack_from(f"<{blocks}I", data):
        k = (k * M) & MASK
        k ^= k >> 24
        h = ((h * M) & MASK) ^ ((k * M) & MASK)
    tail = length & 3
    if tail:
        rest = data[blocks * 4 :]
        if tail == 3:
            h ^= rest[2] << 16
        if tail >= 2:
            h ^= rest[1] << 8
        h = ((h ^ rest[0]) * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    return h ^ (h >> 15)


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a UTF-8 key."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


def partitions_of(keys: Sequence[str], partitions: int) -> list[int]:
    """`partition_of` for many keys at once: keys of one byte length are hashed together
    as rows of a numpy matrix (band keys all have one length)."""
    encoded = [key.encode("utf-8") for key in keys]
    by_length: dict[int, list[int]] = defaultdict(list)
    for i, data in enumerate(encoded):
        by_length[len(data)].append(i)
    out = [0] * len(keys)
    for length, positions in by_length.items():
        if len(positions) < 4:  # numpy's fixed cost is more than the loop's
            for i in positions:
                out[i] = (murmur2(encoded[i]) & 0x7FFFFFFF) % partitions
            continue
        rows = np.frombuffer(b"".join(encoded[i] for i in positions), np.uint8)
        hashed = _murmur2_rows(rows.reshape(len(positions), length))
        for i, value in zip(positions, ((hashed & 0x7FFFFFFF) % partitions).tolist(),
                            strict=True):
            out[i] = value
    return out


def _murmur2_rows(data: np.ndarray) -> np.ndarray:
    """murmur2 of each row of a (keys, length) uint8 matrix; uint32 arithmetic wraps
    as Java's int does."""
    count, length = data.shape
    h = np.full(count, (SEED ^ length) & MASK, np.uint32)
    blocks = length // 4
    if blocks:
        words = np.ascontiguousarray(data[:, : blocks * 4]).view("<u4")
        for j in range(blocks):
            k = words[:, j] * _M32
            k ^= k >> np.uint32(24)
            k *= _M32
            h *= _M32
            h ^= k
    tail = length & 3
    if tail:
        rest = data[:, blocks * 4 :].astype(np.uint32)
        if tail == 3:
            h ^= rest[:, 2] << np.uint32(16)
        if tail >= 2:
            h ^= rest[:, 1] << np.uint32(8)
        h ^= rest[:, 0]
        h *= _M32
    h ^= h >> np.uint32(13)
    h *= _M32
    h ^= h >> np.uint32(15)
    return h.astype(np.int64)
