"""Build the labelled dedup evaluation corpus, offline, from real article text.

Provenance: the 181 hand-made article bodies of the Scrapinghub/Zyte
article-extraction benchmark (`../shared/benchmarks/article-extraction/data`, MIT
repo licence; the page text belongs to its publishers, so it is read at run time and
never copied into this repo), plus the same pages as extracted by 8 published
extractors in that folder. The templated briefs and chrome lines are written by us.

Each record: id, text, url, fetched_at (seconds from T0), group, kind. Records of one
group are copies of one story; the first in arrival order is the original. Kinds:

- original     the hand-made body
- rescrape     another extractor's output of the same page (shingle F1 >= 0.8 vs the
               body: different chrome, post-cleaning nearly identical); rescrape_poor
               (F1 < 0.8, an extractor that lost or leaked much) is reported apart
- styles       the same page flattened to text, with UI lines the cleaner left in
- syndicated   new dateline, byline, closing paragraph dropped, "Additional reporting
               by ..." appended, about 2% of words edited
- negative     a different article: a follow-up quoting the original's lede and
               sentences of three other stories, or a templated brief (same template, different
               company and figures), all on the same day

With `edited=True` (the edited-copies benchmark), each page of four or more paragraphs
also gets the copies a syndication desk makes, which 3-shingle Jaccard misses:

- dropped      30-50 % of the paragraphs dropped (never the first)
- lead         the lead paragraph rewritten (ours: a new first sentence, the rest of
               the lead dropped) and 30 % of the other paragraphs dropped
- footer       an agency footer and a related-links block of five other stories'
               first sentences appended, and the last paragraph dropped
- update       a developing story's update: the original plus two paragraphs of new
               text (sentences of another story). Counted as a copy by our rule (it
               keeps all of the earlier version) and reported on its own, not in P/R.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "article-extraction"
GOOD_EXTRACTORS = (
    "trafilatura",
    "readability",
    "newspaper",
    "goose3",
    "news_please",
    "AutoExtract",
    "rs_trafilatura",
    "justext",
)
CHROME = [
    "Listen Live",
    "Get short URL",
    "Share this article",
    "Sign up for our newsletter",
    "Follow us on Twitter",
    "Read more:",
    "Advertisement",
    "0 comments",
]
CITIES = ["LONDON", "PARIS", "NEW YORK", "BERLIN", "TOKYO", "NAIROBI", "SYDNEY", "MADRID"]
AGENCIES = ["Reuters", "AP", "AFP", "Bloomberg", "dpa"]
NAMES = ["Jane Doe", "Tom Smith", "Ana Ruiz", "Li Wei", "Omar Said", "Kate Brown"]
EDITS = {"said": "told reporters", "also": "further", "new": "fresh", "but": "however"}
COMPANIES = [
    "Acme Foods",
    "Borealis Mining",
    "Cobalt Air",
    "Delta Retail",
    "Everest Bank",
    "Fjord Shipping",
    "Granite Telecom",
    "Helix Pharma",
    "Ionic Motors",
    "Juniper Energy",
    "Kestrel Media",
    "Lumen Software",
]
BRIEF = (
    "{co} reported a {q} quarter net profit of {p} million dollars on {day}, "
    "{dir} from {p0} million a year earlier, as revenue {rdir} {r} percent to {rv} "
    "billion dollars. Analysts polled by the company had expected a profit of {e} "
    "million. Chief executive {ceo} said demand in {region} remained {mood} and that "
    "the group would {act} its forecast for the full year. Shares in {co} {sdir} {s} "
    "percent in early trading. The company will publish its next results in {month}."
)
_WORD = re.compile(r"\w+")


def _shingle_f1(a: str, b: str, n: int = 4) -> float:
    """The benchmark's own measure: \\w+ tokens, 4-gram shingles, F1."""

    def grams(text: str) -> set[tuple[str, ...]]:
        toks = _WORD.findall(text.lower())
        return {tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))}

    x, y = grams(a), grams(b)
    if not x or not y:
        return 0.0
    common = len(x & y)
    return 2 * common / (len(x) + len(y))


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text) if p.strip()]


def _syndicate(text: str, rng: random.Random) -> str:
    paras = _paragraphs(text)
    if len(paras) > 3:
        paras = paras[:-1]
    words = "\n\n".join(paras).split(" ")
    for i, word in enumerate(words):
        if word in EDITS and rng.random() < 0.5:
            words[i] = EDITS[word]
    body = " ".join(words)
    dateline = f"{rng.choice(CITIES)} ({rng.choice(AGENCIES)}) - "
    credit = f"Additional reporting by {rng.choice(NAMES)}; Editing by {rng.choice(NAMES)}"
    return f"By {rng.choice(NAMES)}\n\n{dateline}{body}\n\n{credit}"


def _styles(text: str, rng: random.Random) -> str:
    paras = _paragraphs(text)
    for _ in range(rng.randint(2, 4)):
        paras.insert(rng.randint(0, len(paras)), rng.choice(CHROME))
    return "\n".join(paras)


def _brief(rng: random.Random) -> str:
    p0 = rng.randint(20, 900)
    return BRIEF.format(
        co=rng.choice(COMPANIES),
        q=rng.choice(["first", "second", "third", "fourth"]),
        p=rng.randint(20, 900),
        p0=p0,
        day=rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday"]),
        dir=rng.choice(["up", "down"]),
        rdir=rng.choice(["rose", "fell"]),
        r=rng.randint(1, 30),
        rv=round(rng.uniform(1, 40), 1),
        e=rng.randint(20, 900),
        ceo=rng.choice(NAMES),
        region=rng.choice(["Europe", "Asia", "North America", "Latin America"]),
        mood=rng.choice(["strong", "weak", "steady", "uncertain"]),
        act=rng.choice(["raise", "cut", "keep"]),
        sdir=rng.choice(["rose", "fell"]),
        s=rng.randint(1, 12),
        month=rng.choice(["May", "August", "November", "February"]),
    )


LEADS = [
    "{city} ({agency}) - Officials and observers were weighing the consequences on {day}.",
    "{city} ({agency}) - The announcement drew swift reactions on {day}.",
    "{city} ({agency}) - Here is what we know so far, as of {day}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _drop(paras: list[str], share: float, rng: random.Random) -> list[str]:
    """`paras` without `share` of them, never the first; order kept."""
    gone = set(rng.sample(range(1, len(paras)), max(1, round(share * len(paras)))))
    return [p for i, p in enumerate(paras) if i not in gone]


def _edited(body: str, kind: str, others: list[str], rng: random.Random) -> str:
    paras = _paragraphs(body)
    if kind == "dropped":
        return "\n\n".join(_drop(paras, rng.uniform(0.3, 0.5), rng))
    if kind == "lead":
        lead = rng.choice(LEADS).format(city=rng.choice(CITIES), agency=rng.choice(AGENCIES),
                                        day=rng.choice(DAYS))
        return "\n\n".join([lead, *_drop(paras, 0.3, rng)[1:]])
    first_sentences = [re.split(r"(?<=[.!?])\s+", o.strip())[0][:160] for o in others]
    if kind == "footer":
        related = "Related coverage:\n" + "\n".join(first_sentences[:5])
        footer = (f"(c) {rng.choice(AGENCIES)} {2017 + rng.randrange(5)}. All rights "
                  "reserved. This material may not be published, broadcast, rewritten or "
                  "redistributed.")
        return "\n\n".join([*paras[:-1], related, footer])
    assert kind == "update"
    new = [" ".join(re.split(r"(?<=[.!?])\s+", o)[:3]) for o in others[5:7]]
    return "\n\n".join(["UPDATE: adds reaction, details.", *paras, *new])


EDITED_KINDS = ("dropped", "lead", "footer", "update")


def build(shared: Path = SHARED, seed: int = 5, edited: bool = False) -> list[dict[str, Any]]:
    """The corpus in arrival order; fetched_at grows with arrival within each story."""
    rng = random.Random(seed)
    truth = json.loads((shared / "data" / "ground-truth.json").read_text(encoding="utf-8"))
    outputs = {}
    for name in GOOD_EXTRACTORS:
        data = json.loads((shared / "data" / "reference-outputs" / f"{name}.json").read_text())
        outputs[name] = data.get("output", data)
    records: list[dict[str, Any]] = []

    def emit(group: str, kind: str, text: str, url: str | None, t: float) -> None:
        records.append(
            {
                "id": f"{kind}-{len(records)}",
                "text": text,
                "url": url,
                "fetched_at": t,
                "group": group,
                "kind": kind,
            }
        )

    pages = sorted(truth)
    for n, page in enumerate(pages):
        body, url = truth[page]["articleBody"], truth[page]["url"]
        t = n * 60.0
        emit(page, "original", body, url, t)
        extracted = [
            (name, outputs[name].get(page, {}).get("articleBody") or "") for name in GOOD_EXTRACTORS
        ]
        rng.shuffle(extracted)
        for _name, text in extracted[:3]:
            if len(text.split()) < 20:
                continue
            kind = "rescrape" if _shingle_f1(body, text) >= 0.8 else "rescrape_poor"
            emit(page, kind, text, url, t + rng.uniform(60, 86_400))
        emit(page, "styles", _styles(body, rng), url, t + rng.uniform(60, 86_400))
        emit(page, "syndicated", _syndicate(body, rng), None, t + rng.uniform(60, 86_400))
        if edited and len(_paragraphs(body)) >= 4:
            others = [truth[pages[(n + k) % len(pages)]]["articleBody"] for k in range(1, 8)]
            for kind in EDITED_KINDS:
                emit(page, kind, _edited(body, kind, others, rng), None,
                     t + rng.uniform(60, 86_400))
        # Hard negative: a follow-up that quotes this story's lede, then a few sentences
        # from each of three other stories (each shares under a tenth of its source).
        follow = _paragraphs(body)[:1]
        for k in (37, 71, 113):
            sentences = re.split(
                r"(?<=[.!?])\s+", truth[pages[(n + k) % len(pages)]]["articleBody"]
            )
            start = rng.randrange(max(1, len(sentences) - 3))
            follow.append(" ".join(sentences[start : start + 3]))
        emit(f"follow-{page}", "negative", "\n\n".join(follow), None, t + rng.uniform(60, 86_400))
    for i in range(150):
        emit(f"brief-{i}", "negative", _brief(rng), None, rng.uniform(0, 86_400))
    # Arrival order: by fetched_at, so the original of each group comes first.
    records.sort(key=lambda r: (r["fetched_at"], r["id"]))
    return records


def main() -> None:
    import argparse
    import collections

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args()
    records = build(args.shared)
    with args.output.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    print(len(records), dict(collections.Counter(r["kind"] for r in records)))


if __name__ == "__main__":
    main()
