"""A catalogue of hostile inputs, each with the outcome Newsflow documents for it.

Every kind is a name, a payload builder (bytes, never containing a newline, so a kind is
one line of a batch file) and the expected outcome: "processed" (the article reaches
articles.clean or articles.duplicates) or "rejected:<code>". tests/test_hostile.py runs
the catalogue in batch mode, tests/integration/test_hostile_broker.py through a worker on
a real broker. `python -m support.hostile --table` runs every kind through the pipeline in
both clean modes and prints the Markdown table that docs/RELIABILITY.md carries.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from service.errors import REJECTION_CODES

PROCESSED = "processed"

# Distinct sentences, so good articles are not near-duplicates of one another.
_SUBJECTS = (
    "The harbour council", "A regional court", "The national weather office", "Local farmers",
    "The city's transport board", "A group of researchers", "The football club",
    "Hospital managers", "The finance ministry", "Teachers at the old school",
    "The museum's new director", "Firefighters in the valley", "A shipping company",
    "The university library", "Residents of the northern district", "The electricity grid",
)
_VERBS = (
    "announced on Tuesday", "said in a statement", "confirmed late on Friday",
    "told reporters", "revealed in a report", "warned during a hearing",
    "argued in a letter", "decided after a long debate",
)
_OBJECTS = (
    "that the bridge repairs would finish before the winter storms arrive",
    "that ticket prices are expected to rise by four percent next year",
    "that the drought has cut the harvest of barley and potatoes by a third",
    "that three new wards will open in the spring to shorten waiting lists",
    "that the budget gap will be closed without raising the local income tax",
    "that volunteers planted twelve thousand oak saplings along the river bank",
    "that the ferry timetable will change because of falling passenger numbers",
    "that the archive of letters from the eighteenth century is now online",
)


def prose(seed: int, sentences: int = 4) -> str:
    """A few sentences of plausible news prose, different for each seed."""
    rng = random.Random(seed)
    out = [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}, "
        f"according to figures published for the {rng.randint(2, 97)}th time this decade."
        for _ in range(sentences)
    ]
    return " ".join(out)


def good_article(n: int) -> bytes:
    """A well-formed article that must come out clean, whatever hostile input precedes it."""
    body = "\n\n".join(prose(10_000 + n * 7 + k) for k in range(3))
    return orjson.dumps({"id": f"good-{n:03d}", "title": f"Good article {n}", "text": body})


def _json(**fields: Any) -> bytes:
    return orjson.dumps(fields)


def _article(name: str, **fields: Any) -> bytes:
    """A valid article of this kind's own, with `fields` on top (or replacing the body)."""
    document: dict[str, Any] = {"id": f"hostile-{name}", "text": prose(hash_seed(name))}
    document.update(fields)
    return orjson.dumps(document)


def hash_seed(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def _splice(document: bytes, marker: str, raw: bytes) -> bytes:
    """Replace a JSON string placeholder with raw bytes orjson would never write."""
    quoted = orjson.dumps(marker)[1:-1]
    assert quoted in document, marker
    return document.replace(quoted, raw)


def _nested_json(depth: int) -> bytes:
    head = b'{"id": "hostile-nesting", "text": "' + prose(7).encode() + b'", "meta": '
    return head + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def _nested_divs(depth: int) -> bytes:
    inner = "<p>" + prose(11) + "</p><p>" + prose(12) + "</p>"
    html = "<html><body>" + "<div>" * depth + inner + "</div>" * depth + "</body></html>"
    return _json(id="hostile-nested_divs_50000", html=html)


def _many_elements(count: int) -> bytes:
    html = "<html><body><article>" + "<span>x</span>" * count
    html += "<p>" + prose(13) + "</p></article></body></html>"
    return _json(id="hostile-many_elements_100000", html=html)


def _binary_garbage() -> bytes:
    rng = random.Random(1234)
    data = bytes(rng.randrange(256) for _ in range(64 * 1024))
    return data.replace(b"\n", b" ").replace(b"\r", b" ")


def _garbage_html() -> bytes:
    rng = random.Random(4321)
    chars = "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(50_000))
    return _json(id="hostile-html_random_characters", html=f"<html><body>{chars}</body></html>")


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _html_article(name: str, head: str = "", before: str = "", seed: int = 0) -> bytes:
    html = (
        f"<html><head>{head}</head><body>{before}<article><p>{prose(seed or hash_seed(name))}"
        f"</p><p>{prose(seed + 1 or hash_seed(name) + 1)}</p></article></body></html>"
    )
    return _json(id=f"hostile-{name}", html=html)


def _one_line(size: int) -> bytes:
    words = (prose(21) + " ").encode()
    line = (words * (size // len(words) + 1))[:size].decode()
    return _json(id="hostile-one_3mb_line", text=line)


def _long_token(size: int) -> bytes:
    return _json(id="hostile-one_long_token", text=prose(22) + " " + "x" * size)


def _many_lines(count: int) -> bytes:
    lines = ["Home", "Subscribe", "Listen Live", "Share this article"]
    return _json(
        id="hostile-many_short_lines", text="\n".join(lines[i % 4] for i in range(count))
    )


_CHROME_TEXT = "\n".join(
    [
        "Home", "News", "Sport", "Business", "Subscribe", "Listen Live", "Get short URL",
        "Share this article", "Follow us on Twitter", "Sign up for our newsletter",
        "Cookie settings", "Privacy policy", "Terms of use",
        "© 2024 Harbour Media Group. All rights reserved.", "Community standardsDiscussion",
    ]
)
_CHROME_HTML = (
    "<html><head><title>Harbour Gazette</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
    "<div class='cookie'>We use cookies. Accept all cookies</div>"
    "<aside><h3>Most read</h3><ul><li><a href='/a'>Mayor Opens New Bridge</a></li>"
    "<li><a href='/b'>Ferry Timetable Changes</a></li></ul></aside>"
    "<footer><p>© 2024 Harbour Media Group. All rights reserved.</p>"
    "<a href='/privacy'>Privacy policy</a></footer></body></html>"
)
_SCRIPT_ONLY = (
    "<html><head><script>var a = 1; function f() { return 'The council said that "
    + prose(31)
    + "'; }</script><style>p { color: red; }</style></head><body>"
    "<script>document.write(f());</script><noscript>Enable JavaScript</noscript>"
    "</body></html>"
)
_ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><html><body><article><p>"
    + prose(41)
    + " &lol9;</p><p>"
    + prose(42)
    + "</p></article></body></html>"
)


@dataclass(frozen=True, slots=True)
class HostileKind:
    """One kind of hostile input and the outcome Newsflow promises for it."""

    name: str
    build: Callable[[], bytes]
    expected: str
    why: str

    @property
    def code(self) -> str | None:
        return self.expected.split(":", 1)[1] if self.expected != PROCESSED else None

    def payload(self) -> bytes:
        data = self.build()
        assert b"\n" not in data, f"{self.name}: a kind must fit on one line"
        return data


def _k(name: str, build: Callable[[], bytes], expected: str, why: str) -> HostileKind:
    return HostileKind(name, build, expected, why)


def _rej(code: str) -> str:
    assert code in REJECTION_CODES, code
    return f"rejected:{code}"


KINDS: tuple[HostileKind, ...] = (
    # --- not a JSON object -------------------------------------------------------------
    _k("not_json", lambda: b"this is not json at all", _rej("invalid_json"), "not JSON"),
    _k("truncated_json", lambda: _article("truncated_json")[:-40], _rej("invalid_json"),
       "cut mid-string"),
    _k("trailing_garbage", lambda: _article("trailing_garbage") + b" }{", _rej("invalid_json"),
       "a second document after the first"),
    _k("json_nan", lambda: b'{"id": "hostile-json_nan", "text": NaN}', _rej("invalid_json"),
       "NaN is not JSON"),
    _k("empty_payload", lambda: b"", _rej("invalid_json"), "zero bytes (a tombstone)"),
    _k("json_array", lambda: b"[" + _article("json_array") + b"]", _rej("schema_violation"),
       "an article wrapped in an array"),
    _k("json_number", lambda: b"42", _rej("schema_violation"), "a bare number"),
    _k("json_string", lambda: b'"just a string"', _rej("schema_violation"), "a bare string"),
    _k("json_null", lambda: b"null", _rej("schema_violation"), "null"),
    _k("empty_object", lambda: b"{}", _rej("schema_violation"), "neither html nor text"),
    # --- the body --------------------------------------------------------------------
    _k("missing_body", lambda: _json(id="hostile-missing_body", title="Only a title"),
       _rej("schema_violation"), "no html and no text key"),
    _k("empty_body", lambda: _json(id="hostile-empty_body", text="", html=""),
       _rej("empty_content"), "both bodies empty"),
    _k("whitespace_body", lambda: _json(id="hostile-whitespace_body", text=" \n\t\r\n \u00a0 "),
       _rej("empty_content"), "whitespace only"),
    _k("invisible_body", lambda: _json(id="hostile-invisible_body",
                                       text="\u200b\u200d\ufeff\u2060\u00ad \u202e\u0000"),
       _rej("empty_content"), "zero-width, BOM, NUL and bidi characters only"),
    # --- wrong types: a number where text belongs is a violation, never coerced ----------
    _k("text_number", lambda: _json(id="hostile-text_number", text=123),
       _rej("schema_violation"), "text: 123"),
    _k("html_list", lambda: _json(id="hostile-html_list", html=["<p>a</p>"]),
       _rej("schema_violation"), "html: [...]"),
    _k("id_object", lambda: _article("id_object", id={"value": 1}), _rej("schema_violation"),
       "id: {...}"),
    _k("id_bool", lambda: _article("id_bool", id=True), _rej("schema_violation"),
       "id: true (an int subclass, never an id)"),
    _k("title_number", lambda: _article("title_number", title=3.5), _rej("schema_violation"),
       "title: 3.5"),
    _k("url_list", lambda: _article("url_list", url=["https://a.example/"]),
       _rej("schema_violation"), "url: [...]"),
    _k("source_object", lambda: _article("source_object", source={"name": "x"}),
       _rej("schema_violation"), "source: {...}"),
    _k("fetched_at_list", lambda: _article("fetched_at_list", fetched_at=[2024, 1, 1]),
       _rej("schema_violation"), "fetched_at: [...]"),
    _k("meta_string", lambda: _article("meta_string", meta="key=value"),
       _rej("schema_violation"), "meta: a string, not an object"),
    _k("language_number", lambda: _article("language_number", language=7),
       _rej("schema_violation"), "language hint: 7"),
    _k("id_too_long", lambda: _article("id_too_long", id="x" * 600), _rej("schema_violation"),
       "id over 512 characters"),
    # --- bad values in the right type --------------------------------------------------
    _k("bad_url", lambda: _article("bad_url", url="ht!tp://[::1/%zz path\t"), PROCESSED,
       "kept as given; canonical_url is null"),
    _k("javascript_url", lambda: _article("javascript_url", url="javascript:alert(1)"),
       PROCESSED, "kept as given; never fetched"),
    _k("bad_date", lambda: _article("bad_date", fetched_at="yesterday at noon"),
       _rej("schema_violation"), "fetched_at is not RFC 3339 or epoch"),
    _k("date_out_of_range", lambda: _article("date_out_of_range", fetched_at=10**18),
       _rej("schema_violation"), "epoch far outside any calendar"),
    _k("bad_date_in_html", lambda: _json(
        id="hostile-bad_date_in_html",
        html="<html><head><meta property='article:published_time' content='31/31/31 99:99'>"
        "</head><body><article><p>" + prose(51) + "</p></article></body></html>"),
       PROCESSED, "published_at is left null"),
    # --- encoding ------------------------------------------------------------------------
    _k("invalid_utf8", lambda: _splice(_article("invalid_utf8"), "according", b"\xff\xfe\xc3("),
       _rej("invalid_utf8"), "bytes that are not UTF-8"),
    _k("latin1_bytes", lambda: _splice(_article("latin1_bytes"), "according", b"caf\xe9"),
       _rej("invalid_utf8"), "Latin-1 encoded text"),
    _k("raw_surrogate_bytes", lambda: _splice(_article("raw_surrogate_bytes"), "according",
                                              b"\xed\xa0\x80"),
       _rej("invalid_utf8"), "a UTF-8-encoded surrogate (CESU-8)"),
    _k("escaped_lone_surrogate", lambda: _splice(_article("escaped_lone_surrogate"),
                                                 "according", b"\\ud800"),
       _rej("invalid_json"), "\\ud800 escape: no Unicode scalar value"),
    _k("escaped_surrogate_pair", lambda: _splice(_article("escaped_surrogate_pair"),
                                                 "according", b"\\ud83d\\ude00"),
       PROCESSED, "a valid pair decodes to one emoji"),
    _k("nul_and_controls", lambda: _article(
        "nul_and_controls", text=prose(61).replace(" ", " \u0000\u0007\u001b[0m\u008d", 3)),
       PROCESSED, "NUL and C0/C1 controls are removed"),
    _k("bom_prefix", lambda: b"\xef\xbb\xbf" + _article("bom_prefix"), PROCESSED,
       "a leading UTF-8 BOM is skipped"),
    _k("bom_in_text", lambda: _article("bom_in_text", text="\ufeff" + prose(62)), PROCESSED,
       "U+FEFF is removed from the text"),
    _k("bidi_overrides", lambda: _article(
        "bidi_overrides", text=prose(63).replace("The ", "The \u202e", 1) + " \u2067abc"),
       PROCESSED, "explicit bidi overrides/isolates are removed"),
    _k("zalgo_marks", lambda: _article(
        "zalgo_marks", text=prose(64).replace("e", "e\u0301\u0316\u0337\u0360")),
       PROCESSED, "combining marks kept, NFC"),
    _k("emoji_only", lambda: _json(id="hostile-emoji_only", text=" ".join(["\U0001f600"] * 400)),
       _rej("no_article"), "no letters at all"),
    # --- JSON structure ------------------------------------------------------------------
    _k("duplicate_keys", lambda: _article("duplicate_keys")[:-1]
       + b', "id": "hostile-duplicate_keys", "text": ' + orjson.dumps(prose(71)) + b"}",
       PROCESSED, "the last value of a key wins"),
    _k("unknown_fields", lambda: _article(
        "unknown_fields", extra={"a": [1, 2]}, tracking_pixel="x" * 1000, _schema=9),
       PROCESSED, "unknown fields are ignored"),
    _k("nesting_5000", lambda: _nested_json(5000), _rej("invalid_json"),
       "5,000 nested objects (orjson's limit is 1,024)"),
    _k("body_8mb", lambda: _json(id="hostile-body_8mb", text=_repeat(prose(81), 8_000_000)),
       _rej("payload_too_large"), "over decode.max_bytes (4 MB)"),
    _k("one_3mb_line", lambda: _one_line(3_000_000), _rej("payload_too_large"),
       "a body over clean.max_html_chars (2,000,000 chars)"),
    _k("one_long_token", lambda: _long_token(500_000), PROCESSED,
       "a 500 kB word after real prose: bounded time, the prose is kept"),
    _k("article_1_5mb", lambda: _json(
        id="hostile-article_1_5mb",
        text="\n\n".join(prose(90 + i, 6) for i in range(1_500_000 // 1050))),
       _rej("payload_too_large"), "1.5 MB of real prose: its record would pass the 900 kB "
       "limit faust's producer allows (the agent would crash)"),
    _k("many_short_lines", lambda: _many_lines(150_000), _rej("no_article"),
       "150,000 lines of chrome"),
    # --- HTML ------------------------------------------------------------------------------
    _k("nested_divs_50000", lambda: _nested_divs(50_000), PROCESSED,
       "50,000 nested divs: parsed with the depth capped, the paragraphs survive"),
    _k("many_elements_100000", lambda: _many_elements(100_000), PROCESSED,
       "100,000 sibling elements before the paragraph"),
    _k("unclosed_tags_flood", lambda: _html_article(
        "unclosed_tags_flood", before=_repeat("<a<b<i", 1_500_000)), PROCESSED,
       "1.5 MB of '<a<b<i': over the element cap, flattened, the paragraphs survive"),
    _k("unclosed_jsonld_flood", lambda: _html_article(
        "unclosed_jsonld_flood",
        head=_repeat('<script type="application/ld+json">{', 1_000_000)),
       _rej("no_article"), "1 MB of unclosed JSON-LD scripts: the rest of the page is script"),
    _k("jsonld_deep_nesting", lambda: _html_article(
        "jsonld_deep_nesting",
        head='<script type="application/ld+json">' + "[" * 100_000 + "</script>"),
       PROCESSED, "JSON-LD nested 100,000 deep is skipped, not a crash"),
    _k("attribute_1mb", lambda: _html_article(
        "attribute_1mb", before='<div class="' + "x" * 1_000_000 + '">hi</div>'), PROCESSED,
       "one attribute value of 1 MB"),
    _k("script_only_html", lambda: _json(id="hostile-script_only_html", html=_SCRIPT_ONLY),
       _rej("no_article"), "scripts and styles are never text"),
    _k("entity_bomb", lambda: _json(id="hostile-entity_bomb", html=_ENTITY_BOMB), PROCESSED,
       "DTD entities are never expanded"),
    _k("html_random_characters", _garbage_html, PROCESSED,
       "50,000 random code points: letters pass, language 'und' (meaning is not judged)"),
    _k("binary_garbage", _binary_garbage, _rej("invalid_utf8"), "64 KiB of random bytes"),
    _k("chrome_only_text", lambda: _json(id="hostile-chrome_only_text", text=_CHROME_TEXT),
       _rej("no_article"), "menus, share buttons and a footer"),
    _k("chrome_only_html", lambda: _json(id="hostile-chrome_only_html", html=_CHROME_HTML),
       _rej("no_article"), "nav, cookie banner, most-read list, footer"),
)
BY_NAME = {kind.name: kind for kind in KINDS}


def interleaved() -> Iterator[tuple[str, bytes]]:
    """good-000, kind 1, good-001, kind 2, ..., good-N: every hostile one between goods."""
    for n, kind in enumerate(KINDS):
        yield f"good-{n:03d}", good_article(n)
        yield kind.name, kind.payload()
    yield f"good-{len(KINDS):03d}", good_article(len(KINDS))


def outcome_of(topic: str, value: dict[str, Any], rejected_topic: str) -> str:
    if topic == rejected_topic:
        return f"rejected:{value['error']['code']}"
    return PROCESSED


def _run_table(modes: tuple[str, ...]) -> list[dict[str, Any]]:
    from service.models import Origin
    from service.pipeline import Pipeline
    from service.settings import CleanConfig, Settings

    rows = []
    payloads = [(kind, kind.payload()) for kind in KINDS]
    results: dict[str, dict[str, tuple[str, float]]] = {k.name: {} for k in KINDS}
    for mode in modes:
        settings = Settings(clean=CleanConfig(mode=mode))  # type: ignore[arg-type]
        pipeline = Pipeline(settings)
        for line, (kind, payload) in enumerate(payloads, start=1):
            started = time.perf_counter()
            routed = pipeline.process(payload, Origin(topic="hostile", line=line))
            elapsed = time.perf_counter() - started
            value = routed.value.model_dump()
            results[kind.name][mode] = (
                outcome_of(routed.topic, value, settings.topics.rejected),
                elapsed,
            )
    for kind, payload in payloads:
        rows.append({"kind": kind, "size": len(payload), "results": results[kind.name]})
    return rows


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1000:
        return f"{n / 1000:.0f} kB"
    return f"{n} B"


def table(modes: tuple[str, ...] = ("quality", "fast")) -> str:
    """The Markdown table for docs/RELIABILITY.md, from a real run of every kind."""
    rows = _run_table(modes)
    head = "| input kind | size | expected | " + " | ".join(
        f"{m}: outcome, ms" for m in modes
    ) + " | notes |"
    lines = [head, "|" + "---|" * (4 + len(modes))]
    for row in rows:
        kind: HostileKind = row["kind"]
        cells = []
        for mode in modes:
            got, elapsed = row["results"][mode]
            mark = "" if got == kind.expected else " **MISMATCH**"
            cells.append(f"{got}{mark}, {elapsed * 1000:.0f}")
        lines.append(
            f"| `{kind.name}` | {_size(row['size'])} | {kind.expected} | "
            + " | ".join(cells)
            + f" | {kind.why} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", action="store_true", help="print the RELIABILITY.md table")
    args = parser.parse_args()
    if args.table:
        print(table())
    else:
        for kind in KINDS:
            print(f"{kind.name:<26} {kind.expected}")


if __name__ == "__main__":
    main()
