from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from service.runtime.murmur import murmur2, partition_of, partitions_of
from service.settings import DedupConfig
from service.stages.dedup.signature import signer


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


# org.apache.kafka.common.utils.UtilsTest.testMurmur2: Java's int results.
KAFKA_VECTORS = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


@pytest.mark.parametrize(("text", "expected"), KAFKA_VECTORS.items())
def test_kafkas_own_vectors(text: str, expected: int) -> None:
    assert signed(murmur2(text.encode())) == expected
    assert signed(aiokafka_murmur2(text.encode())) == expected  # the oracle below agrees


def test_every_length_and_byte_agrees_with_aiokafka() -> None:
    rng = random.Random(7)
    for length in range(0, 41):
        for _ in range(40):
            data = rng.randbytes(length)
            assert murmur2(data) == aiokafka_murmur2(data) & 0xFFFFFFFF


def test_many_keys_at_once_route_as_one_at_a_time() -> None:
    """Real probe keys (64 band keys of one length, the fingerprint and URL keys), ids
    with non-ASCII characters, and lengths that occur fewer than 4 times."""
    rng = random.Random(3)
    sign = signer(DedupConfig())
    keys: list[str] = []
    for _ in range(20):
        keys += sign.band_keys(rng.randbytes(DedupConfig().num_perm))
    keys += ["f:AbCdEfGhIjK", "u:ZyXwVuTsRqP", "dépêche-1", "記事-2", "", "x" * 37]
    for partitions in (1, 3, 4, 8, 12):
        expected = [(aiokafka_murmur2(k.encode()) & 0x7FFFFFFF) % partitions for k in keys]
        assert partitions_of(keys, partitions) == expected
        assert [partition_of(k, partitions) for k in keys] == expected
    assert len(set(partitions_of(keys, 8))) == 8  # the keys do spread
