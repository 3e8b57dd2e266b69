"""Archive input (service/sources.py): WARC, and JSON lines plain, gzip or zstd.

The WARCs here are written by warcio, an implementation that shares no code with the
fastwarc reader under test, from the benchmark pages (the synthetic sites always, the
181 real pages of ../shared when present). Three small real crawl WARCs from warcio's
own test data are vendored under tests/data (see the README there).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import tracemalloc
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from bench.synthetic_sites import generate
from service.batch import process_file
from service.settings import Settings
from service.sources import (
    SourceRecord,
    SourceStats,
    decode_html,
    open_source,
    sniff,
    warc_article_id,
)
from tests.conftest import ROOT, SHARED, NewsflowCli

DATA = Path(__file__).resolve().parent / "data"
ZYTE = SHARED / "benchmarks" / "article-extraction" / "data" / "html"


@dataclass(frozen=True)
class Page:
    uri: str
    html: bytes
    content_type: str
    date: str
    record_id: str


def synthetic_pages(count: int = 60) -> list[Page]:
    pages = []
    for n, page in enumerate(p for p in generate(count * 3) if p.kind == "html"):
        if n == count:
            break
        assert page.html is not None
        # Every third page declares no charset: its meta tag, or detection, decides.
        content_type = "text/html" if n % 3 == 0 else "text/html; charset=utf-8"
        pages.append(_page(page.url, page.html.encode("utf-8"), content_type, n))
    return pages


def zyte_pages() -> list[Page]:
    files = sorted(ZYTE.glob("*.html.gz"))
    if not files:
        pytest.skip("../shared/benchmarks/article-extraction is not present")
    truth = orjson.loads((ZYTE.parent / "ground-truth.json").read_bytes())
    pages = []
    for n, path in enumerate(files):
        key = path.name.split(".")[0]
        uri = truth.get(key, {}).get("url") or f"https://example.org/{key}"
        content_type = "text/html" if n % 2 else "text/html; charset=UTF-8"
        pages.append(_page(uri, gzip.decompress(path.read_bytes()), content_type, n))
    return pages


def _page(uri: str, html: bytes, content_type: str, n: int) -> Page:
    record_id = f"<urn:uuid:{uuid.UUID(int=n + 1)}>"
    date = f"2024-05-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
    return Page(uri, html, content_type, date, record_id)


def write_warc(path: Path, pages: Iterable[Page], *, extras: bool = True) -> Path:
    """A WARC as a crawler writes it: warcinfo, and a request before each response;
    with `extras`, also an image, a redirect and a revisit that must be skipped."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=path.suffix == ".gz")
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "warcio"}))
        for page in pages:
            request = StatusAndHeaders(
                "GET / HTTP/1.1", [("Host", "example")], protocol="HTTP/1.1", is_http_request=True
            )
            writer.write_record(
                writer.create_warc_record(page.uri, "request", http_headers=request)
            )
            writer.write_record(_response(writer, page.uri, page.html, page.content_type,
                                          page.date, page.record_id))
        if extras:
            writer.write_record(_response(writer, "https://example.org/a.png", b"\x89PNG..",
                                          "image/png", "2024-05-01T00:00:00Z", None))
            writer.write_record(_response(writer, "https://example.org/old", b"<html>moved",
                                          "text/html", "2024-05-01T00:00:00Z", None,
                                          status="301 Moved Permanently"))
            writer.write_record(writer.create_revisit_record(
                "https://example.org/old", "sha1:AAAA", "https://example.org/old",
                "2024-05-01T00:00:00Z"))
    return path


def _response(writer: WARCWriter, uri: str, body: bytes, content_type: str, date: str,
              record_id: str | None, status: str = "200 OK") -> Any:
    http = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    headers = {"WARC-Date": date}
    if record_id:
        headers["WARC-Record-ID"] = record_id
    return writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                     http_headers=http, warc_headers_dict=headers)


def jsonl_of(pages: Iterable[Page]) -> bytes:
    """The same pages as a scraper would send them: the JSON-lines version."""
    lines = []
    for page in pages:
        document = {
            "id": warc_article_id(page.uri, page.record_id),
            "url": page.uri,
            "fetched_at": page.date,
            "html": page.html.decode("utf-8"),
        }
        lines.append(orjson.dumps(document))
    return b"\n".join(lines) + b"\n"


def outputs(path: Path, settings: Settings | None = None) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as directory:  # never beside a vendored input
        target = Path(directory) / "out.jsonl"
        process_file(path, target, settings or Settings())
        records = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    for record in records:  # what differs between two runs on two files
        record["value"].pop("processed_at", None)
        record["value"].pop("received_at", None)
        if "origin" in record["value"]:
            record["value"]["origin"]["topic"] = None
    return records


def read(path: Path, **kw: Any) -> tuple[list[SourceRecord], SourceStats]:
    stats = SourceStats()
    with path.open("rb") as stream:
        records = list(open_source(stream, path.name, max_bytes=kw.get("max_bytes", 4_000_000),
                                   rejected_max_bytes=kw.get("rejected_max_bytes", 65_536),
                                   stats=stats))
    return records, stats


# -- the acceptance check: WARC and JSON lines give the same articles ----------------------


@pytest.mark.parametrize("suffix", [".warc", ".warc.gz"])
def test_warc_of_synthetic_pages_gives_the_same_articles_as_jsonl(
    tmp_path: Path, suffix: str
) -> None:
    pages = synthetic_pages()
    warc = write_warc(tmp_path / f"pages{suffix}", pages)
    jsonl = tmp_path / "pages.jsonl"
    jsonl.write_bytes(jsonl_of(pages))
    from_warc, from_jsonl = outputs(warc), outputs(jsonl)
    assert len(from_warc) == len(pages)
    assert [r["topic"] for r in from_warc] == [r["topic"] for r in from_jsonl]
    assert [r["value"] for r in from_warc] == [r["value"] for r in from_jsonl]
    assert sum(r["topic"] == "articles.clean" for r in from_warc) > len(pages) // 2


def test_warc_of_the_real_benchmark_pages_gives_the_same_articles_as_jsonl(
    tmp_path: Path,
) -> None:
    # Every third of the 181 real pages (sorted by name): their cleaning is most of this
    # test's time, and a third keeps the real markup's variety.
    pages = zyte_pages()[::3]
    warc = write_warc(tmp_path / "zyte.warc.gz", pages)
    jsonl = tmp_path / "zyte.jsonl"
    jsonl.write_bytes(jsonl_of(pages))
    from_warc, from_jsonl = outputs(warc), outputs(jsonl)
    assert len(from_warc) == len(pages) == 61
    assert from_warc == from_jsonl
    clean = [r["value"] for r in from_warc if r["topic"] == "articles.clean"]
    assert len(clean) > 50
    assert {a["url"] for a in clean} <= {p.uri for p in pages}


def test_what_a_warc_skips_is_counted_and_ids_are_stable(tmp_path: Path) -> None:
    pages = synthetic_pages(5)
    records, stats = read(write_warc(tmp_path / "p.warc.gz", pages))
    assert stats.kind == "warc" and stats.compression == "gzip"
    assert stats.records == 5 and stats.rejected == 0
    assert stats.skipped == {"warc_warcinfo": 1, "warc_request": 5, "warc_revisit": 1,
                             "not_html": 1, "http_3xx": 1}
    documents = [orjson.loads(r.payload) for r in records]
    assert [d["id"] for d in documents] == [warc_article_id(p.uri, p.record_id) for p in pages]
    assert [d["url"] for d in documents] == [p.uri for p in pages]
    assert documents[1]["fetched_at"] == "2024-05-02T01:01:00+00:00"
    assert all(r.key == d["id"].encode() for r, d in zip(records, documents, strict=True))
    # Offsets are the gzip members' offsets in the file: each opens a record there.
    data = (tmp_path / "p.warc.gz").read_bytes()
    for record in records:
        assert record.origin.offset is not None
        member = gzip.decompress(data[record.origin.offset:])
        assert member.startswith(b"WARC/1.")
        assert b"WARC-Type: response" in member[:400]
    assert warc_article_id("u", "<r>") == warc_article_id("u", "<r>") != warc_article_id("u", "<s>")


# -- charsets --------------------------------------------------------------------------------


def test_charset_http_then_meta_then_detection() -> None:
    russian = "<html><body><p>Правительство объявило о новых мерах поддержки.</p></body></html>"
    # The HTTP charset decides, even against a meta tag that says otherwise.
    assert decode_html(russian.encode("cp1251"), "windows-1251") == russian
    meta = '<html><head><meta charset="koi8-r"></head><body><p>Привет, мир</p></body></html>'
    wrong_meta = meta.replace("koi8-r", "iso-8859-5")
    assert decode_html(meta.encode("koi8-r"), None) == meta
    assert decode_html(meta.encode("koi8-r"), "koi8-r") == meta
    assert "Привет" not in decode_html(meta.encode("koi8-r"), "iso-8859-5")  # HTTP first
    assert "Привет" in decode_html(wrong_meta.encode("koi8-r"), "koi8-r")
    # ISO-8859-1 means windows-1252 on the web (WHATWG): the curly quote survives.
    french = "<p>L’été à Paris : café, crème et «\u00a0déjà vu\u00a0».</p>"
    assert decode_html(french.encode("cp1252"), "ISO-8859-1") == french
    # Nothing declared: detection.
    long_russian = russian * 5
    assert decode_html(long_russian.encode("cp1251"), None) == long_russian
    # A declaration the bytes contradict (UTF-8 that is not): the next way decides.
    assert decode_html(french.encode("cp1252"), "utf-8") == french
    assert decode_html("\ufeff<p>x</p>".encode(), None) == "<p>x</p>"


def test_a_cp1251_warc_page_comes_out_in_cyrillic(tmp_path: Path) -> None:
    text = ("Правительство объявило о новых мерах поддержки малого бизнеса. "
            "Министр финансов заявил, что программа начнётся в следующем месяце. ") * 4
    html = f"<html><head><title>Новости</title></head><body><article><h1>Новости</h1>" \
           f"<p>{text}</p><p>{text}</p></article></body></html>"
    pages = [Page("https://news.example/ru/1", html.encode("cp1251"),
                  "text/html; charset=windows-1251", "2024-05-01T00:00:00Z", "<urn:x:1>")]
    [record] = outputs(write_warc(tmp_path / "ru.warc", pages, extras=False))
    assert record["topic"] == "articles.clean"
    assert "Министр финансов" in record["value"]["text"]
    assert record["value"]["language"]["code"] == "ru"


# -- unreadable records become dead letters ------------------------------------------------


def test_a_truncated_record_is_a_dead_letter_with_its_offset(tmp_path: Path) -> None:
    pages = synthetic_pages(3)
    data = write_warc(tmp_path / "p.warc", pages, extras=False).read_bytes()
    last = data.rindex(b"WARC/1.")  # the last response
    cut = tmp_path / "cut.warc"
    cut.write_bytes(data[: last + 600])
    out = outputs(cut)
    assert [r["topic"] for r in out[:2]] == ["articles.clean"] * 2
    assert out[2]["topic"] == "articles.rejected"
    dead = out[2]["value"]
    assert dead["error"]["code"] == "unreadable_record"
    assert "truncated" in dead["error"]["message"]
    assert dead["origin"] == {"topic": None, "partition": None, "offset": last,  # see outputs
                              "line": None, "timestamp": None}
    assert "WARC-Type: response\r\n" in dead["payload"]
    assert dead["payload"].endswith(data[last : last + 600].split(b"\r\n\r\n", 2)[2].decode())


def test_a_broken_status_line_and_a_corrupt_gzip_member_are_dead_letters(
    tmp_path: Path,
) -> None:
    pages = synthetic_pages(4)
    data = write_warc(tmp_path / "p.warc", pages, extras=False).read_bytes()
    bad = data.replace(b"HTTP/1.1 200 OK", b"HTTP/1.1 2x0 OK", 2)  # the first two responses
    records, stats = read(_write(tmp_path / "bad.warc", bad))
    codes = [r.rejected.error.code if r.rejected else "ok" for r in records]
    assert codes == ["unreadable_record", "unreadable_record", "ok", "ok"]
    assert stats.rejected == 2 and stats.records == 2

    gz = write_warc(tmp_path / "p.warc.gz", pages, extras=False).read_bytes()
    members, _ = read(tmp_path / "p.warc.gz")
    third = members[2].origin.offset
    assert third is not None
    broken = gz[: third + 20] + b"\x00" * 40 + gz[third + 60 :]
    records, stats = read(_write(tmp_path / "broken.warc.gz", broken))
    assert [r.rejected is None for r in records] == [True, True, False]
    assert records[2].rejected is not None
    assert records[2].rejected.error.code == "unreadable_record"
    assert "archive unreadable after the record at offset" in records[2].rejected.error.message


def test_a_body_the_crawler_truncated_is_read_and_said(tmp_path: Path) -> None:
    [page] = synthetic_pages(1)
    path = tmp_path / "t.warc"
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=False)
        record = _response(writer, page.uri, page.html, page.content_type, page.date,
                           page.record_id)
        record.rec_headers.add_header("WARC-Truncated", "length")
        writer.write_record(record)
    [record], stats = read(path)
    assert stats.rejected == 0
    assert orjson.loads(record.payload)["meta"]["warc"]["truncated"] == "length"


def test_the_vendored_real_crawl_warcs(tmp_path: Path) -> None:
    records, stats = read(DATA / "warcio-example.warc.gz")  # example.com, gzip-encoded body
    assert stats.summary() == ("warc (gzip): 1 records; skipped 5: warc_request=2, "
                               "warc_revisit=1, warc_warcinfo=2")
    document = orjson.loads(records[0].payload)
    assert document["url"] == "http://example.com/"
    assert document["fetched_at"] == "2017-03-06T04:02:06+00:00"
    assert "<title>Example Domain</title>" in document["html"]

    records, stats = read(DATA / "warcio-example-iana.org-chunked.warc")  # chunked body
    [iana] = [orjson.loads(r.payload) for r in records]
    assert iana["url"] == "http://www.iana.org/"
    assert iana["html"].rstrip().endswith("</html>")

    records, stats = read(DATA / "warcio-example-trunc.warc")  # cut inside a record
    assert [r.rejected is None for r in records] == [True, False]
    assert stats.summary().startswith("warc: 1 records, 1 unreadable")

    out = outputs(DATA / "warcio-example-iana.org-chunked.warc")
    assert [r["topic"] for r in out] == ["articles.clean"]
    assert out[0]["value"]["url"] == "http://www.iana.org/"


# -- JSON lines, compressed ----------------------------------------------------------------


def test_jsonl_gzip_and_zstd_give_what_plain_gives(tmp_path: Path) -> None:
    samples = (Path(__file__).resolve().parents[1] / "samples" / "articles.jsonl").read_bytes()
    plain = _write(tmp_path / "a.jsonl", samples)
    gz = _write(tmp_path / "a.jsonl.gz", gzip.compress(samples))
    # Two zstd frames: a file concatenated from two compressed parts still reads whole.
    half = samples.index(b"\n", len(samples) // 2) + 1
    compressor = zstandard.ZstdCompressor()
    zst = _write(tmp_path / "a.jsonl.zst", compressor.compress(samples[:half])
                 + compressor.compress(samples[half:]))
    expected = outputs(plain)
    assert outputs(gz) == expected
    assert outputs(zst) == expected
    assert sniff(gz.read_bytes()[:64]) == ("jsonl", "gzip")
    assert sniff(zst.read_bytes()[:64]) == ("jsonl", "zstd")


def test_a_line_over_the_limit_is_dead_lettered_without_being_held(tmp_path: Path) -> None:
    big = b'{"id": "big", "text": "' + b"x" * 30_000_000 + b'"}'
    source = _write(tmp_path / "big.jsonl.zst",
                    zstandard.ZstdCompressor().compress(b'{"id": 1}\n' + big + b"\n\n"))
    tracemalloc.start()
    try:
        records, stats = read(source, max_bytes=1_000_000, rejected_max_bytes=1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000  # the 30 MB line was never held whole
    assert [r.origin.line for r in records] == [1, 2, 3]
    dead = records[1].rejected
    assert dead is not None and dead.error.code == "payload_too_large"
    assert dead.payload_size == len(big)
    assert dead.payload_sha256 == hashlib.sha256(big).hexdigest()
    assert dead.payload_truncated and len(dead.payload) == 1024
    assert records[2].payload == b"" and records[2].rejected is None  # an empty line


def test_an_html_body_over_the_limit_is_dead_lettered_in_bounded_memory(
    tmp_path: Path,
) -> None:
    body = b"<html><body><p>" + b"word " * 6_000_000 + b"</p></body></html>"
    page = Page("https://big.example/", body, "text/html", "2024-05-01T00:00:00Z", "<urn:big>")
    warc = write_warc(tmp_path / "big.warc.gz", [page, *synthetic_pages(1)], extras=False)
    tracemalloc.start()
    try:
        records, _ = read(warc, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000
    dead = records[0].rejected
    assert dead is not None and dead.error.code == "payload_too_large"
    assert dead.payload_size > len(body) and dead.payload_truncated
    assert records[1].rejected is None


def test_cli_process_reads_a_warc(tmp_path: Path, newsflow_cli: NewsflowCli) -> None:
    warc = write_warc(tmp_path / "p.warc.gz", synthetic_pages(4))
    result = newsflow_cli("process", str(warc), check=True, timeout=300)
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [line["topic"] for line in lines] == ["articles.clean"] * 4
    assert (b"read warc (gzip): 4 records; skipped 8: http_3xx=1, not_html=1, warc_request=4, "
            b"warc_revisit=1, warc_warcinfo=1") in result.stderr
    assert b"processed 4 records: articles.clean=4" in result.stderr


@pytest.mark.subprocess
def test_a_zstd_warc_and_a_warc_on_stdin(tmp_path: Path) -> None:
    plain = write_warc(tmp_path / "p.warc", synthetic_pages(3)).read_bytes()
    zst = _write(tmp_path / "p.warc.zst", zstandard.ZstdCompressor().compress(plain))
    records, stats = read(zst)
    assert (stats.kind, stats.compression, stats.records) == ("warc", "zstd", 3)
    def documents(rs: list[SourceRecord]) -> list[dict[str, Any]]:
        return [{**orjson.loads(r.payload), "meta": None} for r in rs]  # meta names the file

    assert documents(records) == documents(read(tmp_path / "p.warc")[0])
    result = subprocess.run([sys.executable, "-m", "service", "process", "-"], cwd=ROOT,
                            input=gzip.compress(plain), capture_output=True, check=True,
                            timeout=300)
    assert [orjson.loads(line)["topic"] for line in result.stdout.splitlines()] == [
        "articles.clean"] * 3
    assert b"read warc (gzip): 3 records" in result.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
