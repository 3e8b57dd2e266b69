"""The packed form of a band partition's probe records (stages/dedup/packed.py)."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from typing import Any

import pytest

from service.stages.dedup import Candidate, packed
from service.stages.dedup.signature import b64


def candidate(i: int, url: bool = True, sig: bytes = b"\x01\x02\x03\x04") -> Candidate:
    return Candidate(1_700_000_000 + i, f"id-é{i}", b64(i.to_bytes(8, "big")), sig,
                     b64((i * 7).to_bytes(8, "big")) if url else None, 40 + i)


def test_a_record_packs_and_reads_back_the_same_probes() -> None:
    probes = [(candidate(i, url=i % 2 == 0), [f"b{j}:{i}" for j in range(i)]) for i in range(6)]
    record = packed.pack(probes)
    assert packed.is_packed(record)
    read = packed.load(record)
    assert isinstance(read, packed.PackedProbes)
    assert read.candidates() == [me for me, _ in probes]
    assert read.key_count.tolist() == [len(keys) for _, keys in probes]
    assert read.key_hash.tolist() == [h for _, keys in probes for h in packed.key_hashes(keys)]


def test_probes_that_do_not_fit_the_columns_stay_json_and_read_back() -> None:
    odd = Candidate(5, "odd", "not-a-hash", b"\x00", None, 1)
    probes = [(candidate(1), ["k1"]), (odd, ["k2"])]
    record = packed.pack(probes)
    assert not packed.is_packed(record) and record.startswith(b"[")
    assert packed.load(record) == probes
    mixed = [(candidate(1), ["k"]), (candidate(2, sig=b"\x00" * 8), ["k"])]
    assert packed.load(packed.pack(mixed)) == mixed
    # An older worker's record as faust decoded it (a list), or as raw JSON bytes.
    assert packed.load([[candidate(3).dump(), ["k3"]]]) == [(candidate(3), ["k3"])]


def test_a_truncated_record_is_refused() -> None:
    record = packed.pack([(candidate(1), ["a", "b"])])
    with pytest.raises(ValueError):
        packed.unpack(record[:-8])


def test_candidate_dumps_read_as_columns_as_one_by_one() -> None:
    """The gathers' rebuild reads a million dumps; in columns they must say exactly what
    `Candidate.load` and `hash_bytes` say of each."""
    rng = random.Random(3)
    dumps = [Candidate(rng.randrange(2**40), f"id-é{i}", b64(rng.randbytes(8)), rng.randbytes(128),
                       b64(rng.randbytes(8)) if i % 3 else None, rng.randrange(500)).dump()
             for i in range(200)]
    dumps.append(dumps[0][:5])  # an older dump, without the shingle count
    block = packed.from_dumps(dumps)
    assert block is not None
    assert block.candidates() == [Candidate.load(d) for d in dumps]
    assert block.fp.tolist() == [packed.hash_bytes(d[2]) for d in dumps]
    assert block.key_count.tolist() == [0] * len(dumps) and not len(block.key_hash)


@pytest.mark.parametrize("change", [
    lambda d: d.__setitem__(2, d[2][:10]),  # a short fingerprint
    lambda d: d.__setitem__(2, d[2][:10] + "B"),  # not how b64 spells 8 bytes
    lambda d: d.__setitem__(2, "+" + d[2][1:]),  # standard alphabet, not urlsafe
    lambda d: d.__setitem__(2, "é" + d[2][1:]),
    lambda d: d.__setitem__(4, "not-a-hash"),
    lambda d: d.__setitem__(3, base64.b64encode(bytes(64)).decode()),  # two lengths
    lambda d: d.__setitem__(3, d[3][:8] + "\n" + d[3][9:]),
    lambda d: d.__setitem__(3, d[3][:8] + "-" + d[3][9:]),
    lambda d: d.__setitem__(1, 7),
    lambda d: d.__setitem__(0, "soon"),
])
def test_dumps_that_do_not_fit_the_columns_are_left_to_the_caller(
    change: Callable[[list[Any]], None],
) -> None:
    dumps = [candidate(i, sig=bytes(range(i, i + 128))).dump() for i in range(5)]
    assert packed.from_dumps(dumps) is not None
    change(dumps[3])
    assert packed.from_dumps(dumps) is None
