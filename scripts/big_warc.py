"""Write a large WARC from the 181 real benchmark pages, for the bounded-memory check.

    python scripts/big_warc.py OUT.warc[.gz] --gigabytes 1

Each page is written again and again with a new URI and record ID (and a request
record before it, as a crawler writes), until the file reaches the size asked for.
The pages are read from ../shared/benchmarks/article-extraction at run time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import uuid
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "benchmarks" / "article-extraction" / "data" / "html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    args = parser.parse_args()
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(PAGES.glob("*.html.gz"))]
    if not pages:
        raise SystemExit(f"no pages under {PAGES}")
    limit = int(args.gigabytes * 1024**3)
    written = 0
    with args.out.open("wb") as stream:
        writer = WARCWriter(stream, gzip=args.out.suffix == ".gz")
        n = 0
        while stream.tell() < limit:
            html = pages[n % len(pages)]
            uri = f"https://news{n % 97}.example/{n // len(pages)}/{n}"
            request = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example")],
                                       protocol="HTTP/1.1", is_http_request=True)
            writer.write_record(writer.create_warc_record(uri, "request", http_headers=request))
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                    protocol="HTTP/1.1")
            headers = {"WARC-Record-ID": f"<urn:uuid:{uuid.UUID(int=n + 1)}>",
                       "WARC-Date": f"2024-05-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"}
            writer.write_record(writer.create_warc_record(
                uri, "response", payload=io.BytesIO(html), http_headers=http,
                warc_headers_dict=headers))
            n += 1
            written += 1
    print(f"{args.out}: {written} responses, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
