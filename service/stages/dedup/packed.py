"""The probes a band partition took, as one binary block a restart loads with numpy.

A worker keeps the probes each band partition took as durable records, and rebuilds
its in-memory buckets from them after every restart or rebalance. As JSON, a record
repeats each article's base64 signature and its key strings, and the rebuild decoded,
validated and hashed them again one by one: about 66 µs per article held, more than a
minute at a million. Packed, the same record is a few numpy columns and the keys'
64-bit hashes, which `BandStore.restore_many` adds to its table and index in whole
arrays.

    magic "NFP1" | count u32 | sig_len u32 | ids_bytes u32 | keys u32 |
    t i64[count] | fp u64[count] | url u64[count] | n i32[count] | id_len u32[count] |
    key_count u32[count] | has_url u8[count] | sig u8[count * sig_len] | ids | key_hash u64[keys]

A probe whose values do not fit these columns (a fingerprint or URL hash that is not 8
bytes, signatures of two lengths) makes the whole record JSON, as before; the reader
takes either.

`from_dumps` makes the same columns from candidates as JSON holds them (the worker's
`payloads`), for the gathers' rebuild: their base64 decoded in one call per column
instead of two per article.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from service.stages.dedup.rule import Candidate
from service.stages.dedup.store import hash_bytes, hash_text, key_hashes

MAGIC = b"NFP1"
_HEADER = struct.Struct("<4sIIII")
_TO_STANDARD = str.maketrans("-_", "+/")


@dataclass(frozen=True, slots=True)
class PackedProbes:
    """One record's probes as columns; `key_hash` holds each probe's `key_count` keys
    in turn (xxh3-64 of the key, as `KeyIndex.hashes` takes it before its shift)."""

    ids: list[str]
    t: np.ndarray
    fp: np.ndarray
    url: np.ndarray
    n: np.ndarray
    has_url: np.ndarray
    sig: np.ndarray  # (count, sig_len) uint8
    key_count: np.ndarray
    key_hash: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def candidates(self) -> list[Candidate]:
        """The probes as `Candidate`s (tests, and a table whose signatures differ)."""
        return [
            Candidate(int(self.t[i]), self.ids[i], hash_text(int(self.fp[i])),
                      self.sig[i].tobytes(),
                      hash_text(int(self.url[i])) if self.has_url[i] else None, int(self.n[i]))
            for i in range(len(self))
        ]


def pack(probes: Sequence[tuple[Candidate, Sequence[str]]]) -> bytes:
    """The record of `probes`: packed, or JSON ([[candidate dump, keys], ...]) when one
    of them does not fit the columns."""
    fps = [hash_bytes(me.fp) for me, _ in probes]
    urls = [hash_bytes(me.url) if me.url is not None else 0 for me, _ in probes]
    sig_len = len(probes[0][0].sig) if probes else 0
    if any(fp is None for fp in fps) or any(url is None for url in urls) or any(
        len(me.sig) != sig_len for me, _ in probes
    ):
        return orjson.dumps([[me.dump(), list(keys)] for me, keys in probes])
    ids = [me.id.encode("utf-8") for me, _ in probes]
    joined = b"".join(ids)
    hashes = [h for _, keys in probes for h in key_hashes(keys)]
    parts = [
        _HEADER.pack(MAGIC, len(probes), sig_len, len(joined), len(hashes)),
        np.asarray([me.t for me, _ in probes], np.int64).tobytes(),
        np.asarray(fps, np.uint64).tobytes(),
        np.asarray(urls, np.uint64).tobytes(),
        np.asarray([me.n for me, _ in probes], np.int32).tobytes(),
        np.asarray([len(i) for i in ids], np.uint32).tobytes(),
        np.asarray([len(keys) for _, keys in probes], np.uint32).tobytes(),
        np.asarray([me.url is not None for me, _ in probes], np.uint8).tobytes(),
        b"".join(me.sig for me, _ in probes),
        joined,
        np.asarray(hashes, np.uint64).tobytes(),
    ]
    return b"".join(parts)


def is_packed(record: bytes) -> bool:
    return record[:4] == MAGIC


def unpack(record: bytes) -> PackedProbes:
    """The columns of a packed record (views of `record`, no copies)."""
    magic, count, sig_len, ids_bytes, keys = _HEADER.unpack_from(record)
    if magic != MAGIC:
        raise ValueError("not a packed probes record")
    offset = _HEADER.size

    def take(dtype: type, size: int) -> np.ndarray:
        nonlocal offset
        array: np.ndarray = np.frombuffer(record, dtype, size, offset)
        offset += array.nbytes
        return array

    t, fp, url = take(np.int64, count), take(np.uint64, count), take(np.uint64, count)
    n, id_len, key_count = take(np.int32, count), take(np.uint32, count), take(np.uint32, count)
    has_url = take(np.uint8, count)
    sig = take(np.uint8, count * sig_len).reshape(count, sig_len)
    raw_ids = record[offset : offset + ids_bytes]
    offset += ids_bytes
    key_hash = take(np.uint64, keys)
    if offset != len(record) or int(key_count.sum()) != keys:
        raise ValueError("packed probes record of the wrong size")
    ends = np.cumsum(id_len).tolist()
    starts = [0, *ends[:-1]]
    ids = [raw_ids[a:b].decode("utf-8") for a, b in zip(starts, ends, strict=True)]
    return PackedProbes(ids, t, fp, url, n, has_url, sig, key_count, key_hash)


def load(record: bytes | list[object]) -> PackedProbes | list[tuple[Candidate, list[str]]]:
    """A `probes` record in either form: columns if packed, else (candidate, keys)
    pairs (JSON, written by older workers or for probes that do not fit)."""
    if isinstance(record, bytes | bytearray | memoryview) and is_packed(bytes(record[:4])):
        return unpack(bytes(record))
    items = orjson.loads(record) if isinstance(record, bytes | bytearray | memoryview) else record
    return [(Candidate.load(dump), list(keys)) for dump, keys in items]  # type: ignore[misc]


def from_dumps(dumps: Sequence[Sequence[Any]]) -> PackedProbes | None:
    """`Candidate.dump`s as columns without keys, decoded as `Candidate.load` and
    `Table.add` would; None when one of them does not fit the columns (odd hashes,
    signatures of two lengths, values of other types): the caller takes those one by
    one."""
    count = len(dumps)
    try:
        ids = [d[1] for d in dumps]
        t = np.fromiter((d[0] for d in dumps), np.int64, count)
        n = np.fromiter((d[5] if len(d) > 5 else 0 for d in dumps), np.int32, count)
        urls = [d[4] for d in dumps]
        fp = _hashes([d[2] for d in dumps])
        url_hashes = _hashes([u for u in urls if u is not None])
        sig = _signatures([d[3] for d in dumps])
    except (IndexError, TypeError, ValueError, OverflowError):
        return None
    if fp is None or url_hashes is None or sig is None or not all(type(i) is str for i in ids):
        return None
    has_url = np.fromiter((u is not None for u in urls), np.uint8, count)
    url = np.zeros(count, np.uint64)
    url[has_url != 0] = url_hashes
    return PackedProbes(ids, t, fp, url, n, has_url, sig, np.zeros(count, np.uint32),
                        np.zeros(0, np.uint64))


def _hashes(texts: list[str]) -> np.ndarray | None:
    """`hash_bytes` of many 11-character hashes in one decode: each is followed by an
    "A" (six zero bits), so it decodes to its 8 bytes and a ninth that is zero exactly
    when the text is the canonical spelling `signature.b64` writes."""
    if not texts:
        return np.zeros(0, np.uint64)
    if not all(type(text) is str and len(text) == 11 for text in texts):
        return None
    joined = "A".join(texts) + "A"
    if "+" in joined or "/" in joined:  # urlsafe only, as b64 writes
        return None
    try:
        raw = binascii.a2b_base64(joined.translate(_TO_STANDARD), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    words = np.frombuffer(raw, np.uint8).reshape(len(texts), 9)
    if words[:, 8].any():
        return None
    return words[:, :8].copy().view(">u8").ravel().astype(np.uint64)


def _signatures(texts: list[str]) -> np.ndarray | None:
    """The base64 signatures of `Candidate.dump`, all of one length, as a (count,
    sig_len) uint8 array: their padding becomes "A" so they decode as one string."""
    if not texts or type(texts[0]) is not str:
        return None
    size = len(texts[0])
    pad = size - len(texts[0].rstrip("="))
    tail = "=" * pad
    if not size or size % 4 or pad > 2 or not all(
        type(text) is str and len(text) == size and text.endswith(tail) for text in texts
    ):
        return None
    joined = "".join(texts)
    if joined.count("=") != pad * len(texts):
        return None
    try:
        raw = binascii.a2b_base64(joined.replace("=", "A"), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    width = size // 4 * 3
    return np.frombuffer(raw, np.uint8).reshape(len(texts), width)[:, : width - pad]
