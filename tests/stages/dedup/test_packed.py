"""The packed form of a band partition's probe records (stages/dedup/packed.py)."""

from __future__ import annotations

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
