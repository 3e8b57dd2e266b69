"""Input files for `newsflow process` and `newsflow produce`: JSON lines and WARC archives.

Pure readers, no Kafka. `open_source` sniffs the bytes, not the name, so stdin works too:

- JSON lines, plain, gzip (`.gz`) or Zstandard (`.zst`): one record per line, as-is;
- WARC (`.warc`, `.warc.gz`, also `.warc.zst`), read with fastwarc: one `RawArticle`
  payload per HTTP `response` record with an HTML content type and a 2xx status.

Every input unit is accounted for: it becomes a `SourceRecord` (a payload for the
pipeline, or a ready dead letter when the unit cannot be read), or it is counted in
`SourceStats.skipped` under the reason (a `request` record, an image, a redirect...).
Memory is bounded: a line or an HTML body is read up to `max_bytes` (one byte more to
know it is over), and anything past that is hashed and counted but never held.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal, Protocol

import orjson

from service.errors import PayloadTooLarge, Rejection, UnreadableRecord
from service.models import Origin, Rejected
from service.pipeline import make_rejected

Kind = Literal["jsonl", "warc"]
Compression = Literal["none", "gzip", "zstd"]

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PEEK = 64 * 1024
_CHUNK = 1024 * 1024
# WARC headers kept in a dead letter for an unreadable record (the body follows them).
_MAX_HEADER_BYTES = 16 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One unit of input: a payload for the pipeline, or (`rejected`) a dead letter."""

    payload: bytes
    origin: Origin
    key: bytes | None = None
    rejected: Rejected | None = None


@dataclass(slots=True)
class SourceStats:
    """What a source read: its kind, how many records it yielded, and what it skipped."""

    kind: Kind = "jsonl"
    compression: Compression = "none"
    records: int = 0
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        text = f"{self.kind}"
        if self.compression != "none":
            text += f" ({self.compression})"
        text += f": {self.records} records"
        if self.rejected:
            text += f", {self.rejected} unreadable (dead-lettered)"
        if self.skipped:
            parts = ", ".join(f"{reason}={n}" for reason, n in sorted(self.skipped.items()))
            text += f"; skipped {sum(self.skipped.values())}: {parts}"
        return text


class _Counting(io.RawIOBase):
    """A raw stream that reports the bytes read from the file itself (compressed bytes)."""

    def __init__(self, stream: BinaryIO, progress: Callable[[int], object] | None) -> None:
        self._stream = stream
        self._progress = progress
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # fastwarc asks where the stream is; it never moves it (stdin works)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (whence == io.SEEK_CUR and offset == 0) or (
            whence == io.SEEK_SET and offset == self._position
        ):
            return self._position
        raise io.UnsupportedOperation("an input is read once, front to back")

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._position += n
        if n and self._progress is not None:
            self._progress(n)
        return n


class _Chunked(io.RawIOBase):
    """Reads of at most the buffer's size: zstandard's reader alone may return a whole frame."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sniff(head: bytes) -> tuple[Kind, Compression]:
    """The kind and compression of an input from its first bytes."""
    compression: Compression = "none"
    plain = head
    if head.startswith(_GZIP_MAGIC):
        compression = "gzip"
        try:
            plain = zlib.decompressobj(wbits=31).decompress(head, 16)
        except zlib.error:
            plain = b""
    elif head.startswith(_ZSTD_MAGIC):
        import zstandard

        compression = "zstd"
        try:
            # A reader, not decompress(): 64 KiB of zstd may hold gigabytes.
            plain = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(head)).read(16)
        except zstandard.ZstdError:
            plain = b""
    kind: Kind = "warc" if plain.lstrip(b"\r\n").startswith(b"WARC/") else "jsonl"
    return kind, compression


def open_source(
    stream: BinaryIO,
    name: str,
    *,
    max_bytes: int,
    rejected_max_bytes: int,
    stats: SourceStats | None = None,
    progress: Callable[[int], object] | None = None,
) -> Iterator[SourceRecord]:
    """The records of `stream`, whatever its kind; `progress` gets the bytes read."""
    stats = stats if stats is not None else SourceStats()
    buffered = io.BufferedReader(_Counting(stream, progress), buffer_size=_PEEK)
    stats.kind, stats.compression = sniff(buffered.peek(_PEEK)[:_PEEK])
    if stats.kind == "warc":
        # fastwarc detects the compression itself, and reports offsets in the file as it
        # is (per gzip member for .warc.gz), the offsets CDX indexes use.
        return read_warc(buffered, name, max_bytes, rejected_max_bytes, stats)
    text: _Lines = buffered
    if stats.compression == "gzip":
        text = gzip.GzipFile(fileobj=buffered, mode="rb")
    elif stats.compression == "zstd":
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        text = io.BufferedReader(_Chunked(reader), buffer_size=_PEEK)
    return read_jsonl(text, name, max_bytes, rejected_max_bytes, stats)


# -- JSON lines ------------------------------------------------------------------------


class _Lines(Protocol):
    def readline(self, size: int | None = -1, /) -> bytes: ...


def read_jsonl(
    stream: _Lines,
    name: str,
    max_bytes: int,
    rejected_max_bytes: int,
    stats: SourceStats | None = None,
) -> Iterator[SourceRecord]:
    """One record per line, raw bytes (invalid UTF-8 reaches the decoder and is rejected
    there); a line over `max_bytes` is dead-lettered here, without being held."""
    stats = stats if stats is not None else SourceStats()
    number = 0
    while True:
        line = stream.readline(max_bytes + 2)  # the line, "\r\n", and one byte to spare
        if not line:
            return
        number += 1
        origin = Origin(topic=name, line=number)
        payload = line.rstrip(b"\r\n")
        if len(payload) > max_bytes:
            rejected = _oversize(
                payload, line.endswith(b"\n"), stream, origin, max_bytes, rejected_max_bytes
            )
            stats.rejected += 1
            yield SourceRecord(payload=b"", origin=origin, rejected=rejected)
            continue
        stats.records += 1
        yield SourceRecord(payload=payload, origin=origin, key=_json_key(payload))


def _oversize(
    head: bytes,
    complete: bool,
    stream: _Lines,
    origin: Origin,
    max_bytes: int,
    rejected_max_bytes: int,
) -> Rejected:
    """The dead letter the decoder would write for a line over the limit, read in chunks."""
    digest = hashlib.sha256(head)
    size = len(head)
    while not complete:
        chunk = stream.readline(_CHUNK)
        if not chunk:
            break
        complete = chunk.endswith(b"\n")
        chunk = chunk.rstrip(b"\r\n")
        digest.update(chunk)
        size += len(chunk)
    rejection = PayloadTooLarge(f"{size} bytes exceeds the limit of {max_bytes}")
    kept = head[: rejected_max_bytes + 1]  # over the cap, so make_rejected marks it truncated
    rejected = make_rejected(kept, origin, rejection, rejected_max_bytes)
    return rejected.model_copy(update={"payload_size": size, "payload_sha256": digest.hexdigest()})


def _json_key(line: bytes) -> bytes | None:
    """The scraper's id as the Kafka key, as `newsflow produce` has always keyed lines."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"]).encode("utf-8")
    return None


# -- WARC ------------------------------------------------------------------------------


def warc_article_id(uri: str, record_id: str) -> str:
    """The stable `id` of an article read from a WARC: a hash of its URI and record ID."""
    basis = f"warc\n{uri}\n{record_id}".encode()
    return hashlib.blake2b(basis, digest_size=12).hexdigest()


def decode_html(body: bytes, http_charset: str | None) -> str:
    """HTML bytes to text: the HTTP charset, then a meta charset, then detection."""
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    for encoding in (_codec(http_charset), _codec(_meta_charset(body))):
        if encoding is None:
            continue
        try:
            return _strip_bom(body.decode(encoding))
        except UnicodeDecodeError:
            continue  # a wrong declaration: the next way decides
    declared = [c for c in (_codec(http_charset), _codec(_meta_charset(body))) if c]
    return bytes_to_str(
        body,
        detect_encoding(body, from_html_meta=False) or "utf-8",
        errors="replace",
        fallback_encodings=[*declared, "utf-8", "cp1252"],
    )


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def _codec(label: str | None) -> str | None:
    """A charset label to a Python codec, the WHATWG way (latin-1 is windows-1252)."""
    if not label:
        return None
    import codecs

    from resiliparse.parse.encoding import map_encoding_to_html5

    label = label.strip().strip("\"'")
    name = map_encoding_to_html5(label, fallback_utf8=False)
    try:
        name = codecs.lookup(name or label).name
    except LookupError:
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def read_warc(
    stream: BinaryIO,
    name: str,
    max_bytes: int,
    rejected_max_bytes: int,
    stats: SourceStats | None = None,
) -> Iterator[SourceRecord]:
    """A RawArticle payload per HTML response; a dead letter per record that cannot be read."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    stats = stats if stats is not None else SourceStats(kind="warc")
    records = ArchiveIterator(stream, parse_http=False, auto_decode="none")
    last = -1
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except OSError as exc:  # the stream itself: bad gzip, garbage instead of a header
            origin = Origin(topic=name, offset=max(last, 0))
            where = "at the start" if last < 0 else f"after the record at offset {last}"
            stats.rejected += 1
            yield _unreadable(b"", origin, f"archive unreadable {where}: {exc}", rejected_max_bytes)
            return
        last = record.stream_pos
        if record.record_type != WarcRecordType.response:
            stats.skipped[f"warc_{record.record_type}"] += 1
            continue
        yield from _response(record, name, max_bytes, rejected_max_bytes, stats)


def _response(
    record: Any, name: str, max_bytes: int, rejected_max_bytes: int, stats: SourceStats
) -> Iterator[SourceRecord]:
    origin = Origin(topic=name, offset=record.stream_pos)
    headers = dict(record.headers.items())
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()[:_MAX_HEADER_BYTES]
    uri = headers.get("WARC-Target-URI")
    record_id = headers.get("WARC-Record-ID")
    if not str(headers.get("Content-Type", "")).lower().startswith("application/http"):
        stats.skipped["not_http"] += 1
        return
    body = b""
    try:
        record.parse_http(strict_mode=False, auto_decode="all")
        status = record.http_headers.status_code if record.http_headers else None
        content_type = (record.http_content_type or "").lower()
        charset = record.http_charset
        if status is None:
            raise ValueError("no HTTP status line")
        if not 200 <= status < 300:
            stats.skipped[f"http_{status // 100}xx"] += 1
            record.reader.consume()
            return
        if not content_type.startswith(_HTML_TYPES):
            stats.skipped["not_html"] += 1
            record.reader.consume()
            return
        body = record.reader.read(max_bytes + 1)
        if len(body) > max_bytes:
            stats.rejected += 1
            yield _too_large(record, head + b"\r\n" + body, origin, max_bytes, rejected_max_bytes)
            return
        _check_complete(record, body)
        if not uri or not record_id:
            raise ValueError("no WARC-Target-URI" if not uri else "no WARC-Record-ID")
        html = decode_html(body, charset)
        fetched_at = _warc_date(headers.get("WARC-Date"))
    except (OSError, ValueError, UnicodeError) as exc:
        stats.rejected += 1
        detail = f"WARC record at offset {record.stream_pos}: {exc}"
        # The WARC headers, then as much of the body as could be read.
        yield _unreadable(head + b"\r\n" + body, origin, detail, rejected_max_bytes)
        return
    article_id = warc_article_id(uri, record_id)
    document: dict[str, Any] = {"id": article_id, "url": uri, "html": html}
    if fetched_at is not None:
        document["fetched_at"] = fetched_at
    document["meta"] = {"warc": _provenance(headers, name, record.stream_pos)}
    stats.records += 1
    yield SourceRecord(payload=orjson.dumps(document), origin=origin, key=article_id.encode())


def _check_complete(record: Any, body: bytes) -> None:
    """Raise when the record holds less body than it declares (the file was cut).

    Decoded (chunked, gzip) bodies differ in size from the record's: only an identity
    body can be checked against it; a broken encoded one fails to decode instead."""
    encodings = [
        v.strip().lower()
        for k, v in record.http_headers.items()
        if k.lower() in ("transfer-encoding", "content-encoding")
    ]
    if any(e not in ("", "identity") for e in encodings) or record.content_length is None:
        return
    if len(body) < record.content_length:
        raise ValueError(f"truncated: {len(body)} of {record.content_length} payload bytes present")


def _provenance(headers: dict[str, str], name: str, offset: int) -> dict[str, Any]:
    warc: dict[str, Any] = {"file": name, "offset": offset, "record_id": headers["WARC-Record-ID"]}
    if headers.get("WARC-Truncated"):
        # The crawler kept only a prefix of the body (Common Crawl cuts at 1 MiB): the
        # record reads whole, the page may not be; said in meta, decided by the pipeline.
        warc["truncated"] = headers["WARC-Truncated"]
    return warc


def _too_large(
    record: Any, prefix: bytes, origin: Origin, max_bytes: int, rejected_max_bytes: int
) -> SourceRecord:
    """A dead letter for an HTML body over the limit: the rest is hashed, never held."""
    digest = hashlib.sha256(prefix)
    size = len(prefix)
    while chunk := record.reader.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    reason = f"the WARC record's HTML body exceeds the limit of {max_bytes} bytes"
    dead = _dead(prefix, origin, PayloadTooLarge(reason), rejected_max_bytes)
    assert dead.rejected is not None
    update = {"payload_size": size, "payload_sha256": digest.hexdigest(), "payload_truncated": True}
    return SourceRecord(
        payload=b"", origin=origin, rejected=dead.rejected.model_copy(update=update)
    )


def _warc_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"WARC-Date is not a date: {value[:64]!r}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _unreadable(
    payload: bytes, origin: Origin, detail: str, rejected_max_bytes: int
) -> SourceRecord:
    return _dead(payload, origin, UnreadableRecord(detail), rejected_max_bytes)


def _dead(
    payload: bytes, origin: Origin, rejection: Rejection, rejected_max_bytes: int
) -> SourceRecord:
    rejected = make_rejected(payload, origin, rejection, rejected_max_bytes)
    return SourceRecord(payload=payload, origin=origin, rejected=rejected)
