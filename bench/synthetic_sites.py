"""A deterministic corpus of synthetic news sites with known gold bodies.

Every word here is ours: bodies come from sentence templates and word banks written for
this file, so the corpus can live in the repo. Each site has its own chrome (menus,
timestamps, footers), its own promos (some caught by the static rules, some prose-like
lines only per-source learning can catch), related-headline lists with or without a
teaser, tag lines and datelines. Sites publish either HTML or flattened text, one mixes
both. `generate()` with the same seed always yields the same pages in the same order.

    python -m bench.synthetic_sites --pages 1200 --out /tmp/synthetic.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path

PLACES = ["Northfield", "Eastbrook", "Harrowgate", "Millbay", "Stonebridge", "Kelverton",
          "Ashcombe", "Redwater", "Fallowmere", "Orrin Vale", "Saltmarsh", "Thornby"]
DATELINE_PLACES = ["LONDON", "PARIS", "BERLIN", "NAIROBI", "TOKYO", "OTTAWA", "LIMA", "OSLO",
                   "CANBERRA", "MUMBAI", "CAIRO", "BOGOTA"]
AGENCIES = ["Reuters", "AP", "AFP", "Sputnik", "Xinhua"]
PEOPLE = ["Maria Ostrova", "Daniel Achebe", "Priya Raman", "Tomas Lindqvist", "Grace Okafor",
          "Henrik Dahl", "Lucia Moreno", "Samuel Price", "Aiko Tanabe", "Farid Haddad",
          "Nora Kelleher", "Elena Petrescu"]
ROLES = ["the council leader", "a senior engineer", "the regional health director",
         "an opposition spokesperson", "the school's head teacher", "a union representative",
         "the finance minister", "the project manager", "a local shop owner",
         "the chief inspector", "a university economist", "the harbour master"]
TOPICS = ["the new tram line", "the hospital expansion", "the flood defences", "the budget",
          "the water tariff", "the bridge repairs", "the school merger", "the wind farm",
          "the housing plan", "the ferry contract", "the market hall", "the cycle network"]
THINGS = ["costs", "delays", "safety checks", "public support", "staff shortages",
          "rent increases", "traffic levels", "energy prices", "waiting times", "exam results"]
VERBS = ["approved", "delayed", "criticised", "defended", "reviewed", "expanded", "cut",
         "questioned", "welcomed", "postponed"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

SENTENCES = [
    "{Person}, {role}, said on {day} that {topic} had been {verb} after months of debate.",
    "Officials in {place} expect {thing} to ease by {month}, according to figures released "
    "this week.",
    "\"We have listened to residents and we will keep listening,\" {person} told reporters in "
    "{place}.",
    "The decision follows a review of {thing} that found the original estimate was too low by "
    "about {n} percent.",
    "Critics argue that {topic} will do little to address {thing} in the short term.",
    "A report published on {day} said {n} households in {place} would be affected.",
    "{Person} said the council would publish a full timetable for {topic} before {month}.",
    "Local groups in {place} have collected more than {n} signatures calling for a rethink.",
    "The plan was {verb} by a narrow margin, with several members asking for more detail on "
    "{thing}.",
    "Residents who spoke at the meeting raised concerns about {thing} and noise at night.",
    "According to {role}, the first phase of {topic} could begin within {n} weeks.",
    "The authority has set aside money to cover {thing}, though it declined to give a figure.",
    "{Person} added that the scheme in {place} would be reviewed again after its first year.",
    "Similar projects in {place} and {place2} were {verb} last year amid rows over {thing}.",
    "Business owners said they were cautiously optimistic but wanted clearer answers on "
    "{thing}.",
    "The vote on {topic} is expected at the next full meeting, due in {month}.",
]

HEADLINES = [
    "{Place} Council {Verb} Plan for {Topic}",
    "Residents Rally Over {Thing} in {Place}",
    "Why {Topic} Is Running Late in {Place}",
    "{Person} Named to Lead Review of {Topic}",
    "New Figures Show {Thing} Rising Across {Place}",
    "{Place} Traders Warn of {Thing} Ahead of Winter",
    "What {Topic} Means for Families in {Place}",
    "Minister Visits {Place} as {Thing} Row Grows",
]


@dataclass
class Site:
    name: str
    domain: str
    style: str  # "html", "text" or "mixed"
    nav: list[str]
    footer: list[str]
    promos: list[str]  # lines dropped into the body of some pages
    teaser: bool  # related headlines carry a teaser sentence
    dateline_rate: float
    tag_line: bool
    storyline: str | None = None


@dataclass
class Page:
    site: str
    url: str
    kind: str  # "html" or "text"
    title: str
    body: list[str]  # gold paragraphs, dateline removed
    html: str | None = None
    text: str | None = None
    dateline: str | None = None
    byline: str | None = None
    tags: list[str] = field(default_factory=list)


SITES = [
    Site("The Harbour Gazette", "harbourgazette.example", "html",
         ["Home", "News", "Sport", "Business", "Opinion", "Weather"],
         ["© 2024 Harbour Media Group. All rights reserved.", "About us | Contact us | Privacy"],
         ["Sign up to our daily newsletter to get the top stories delivered to your inbox "
          "every morning.",
          "The Harbour Gazette is owned by the people who read it, and always will be.",
          "Our reporters cover every council meeting so that you do not have to sit through "
          "them."], teaser=False, dateline_rate=0.3, tag_line=False),
    Site("Valley Courier", "valleycourier.example", "html",
         ["Latest", "Local", "Politics", "Culture", "Podcasts"],
         ["Valley Courier Ltd, registered in the county, company number 0042.",
          "Terms of use | Privacy policy | Cookie policy"],
         ["Views expressed in this article are those of the author and do not necessarily "
          "reflect the position of the Valley Courier.",
          "Valley Courier journalists live in the towns they write about, from the coast to "
          "the hills.",
          "This story is part of our series on how the region is changing, with a new "
          "instalment each weekday."], teaser=True, dateline_rate=0.2, tag_line=True),
    Site("Metro Daily Wire", "metrodailywire.example", "html",
         ["Top stories", "World", "Money", "Tech", "Travel", "Video"],
         ["Copyright 2024 Metro Daily Wire. This material may not be published, broadcast, "
          "rewritten or redistributed."],
         ["Corrections and clarifications go to the standards desk, which replies within two "
          "working days.",
          "Readers can send tips to the newsroom by post or through the form on our website.",
          "We use cookies to improve your experience. By continuing to browse you agree to our "
          "use of cookies."], teaser=False, dateline_rate=0.6, tag_line=False),
    Site("Eastbrook Post", "eastbrookpost.example", "text",
         ["Listen Live", "Get short URL"],
         ["Community standardsDiscussion"],
         ["Eastbrook Post has reported on this community for more than a hundred years and "
          "counts on its readers.",
          "Support independent journalism: make a one-off contribution today and help keep our "
          "reporting free."], teaser=False, dateline_rate=0.7, tag_line=True,
         storyline="Local Elections in Eastbrook"),
    Site("Kelverton Chronicle", "kelvertonchronicle.example", "text",
         ["Menu", "Search", "Sign in"],
         ["Kelverton Chronicle, 12 Mill Street, Kelverton.", "All rights reserved."],
         ["The Chronicle's weekend edition has puzzles, recipes and the full listings for the "
          "week ahead.",
          "Every story on this site is checked by two editors before it is published.",
          "Follow us on Telegram for breaking news as it happens."],
         teaser=True, dateline_rate=0.2, tag_line=True, storyline="Inside the Budget"),
    Site("Redwater Record", "redwaterrecord.example", "text",
         ["Home", "Sections", "Subscribe"],
         ["Redwater Record is published by Redwater Media.", "Privacy policy | Terms of use"],
         ["Redwater Record readers can get early access to our investigations by joining the "
          "members' club.",
          "If you have a story the Record should be covering, our reporters would like to "
          "hear from you."], teaser=False, dateline_rate=0.4, tag_line=False),
    Site("Stonebridge Observer", "stonebridgeobserver.example", "mixed",
         ["News", "Sport", "Comment", "Obituaries"],
         ["© Stonebridge Observer 2024"],
         ["The Observer's print edition is on sale every Thursday at shops across the district.",
          "Sign up for our evening briefing and never miss a story from your area."],
         teaser=True, dateline_rate=0.3, tag_line=True),
]


def _fill(template: str, rng: random.Random) -> str:
    person, place = rng.choice(PEOPLE), rng.choice(PLACES)
    values = {
        "person": person, "Person": person, "role": rng.choice(ROLES),
        "topic": rng.choice(TOPICS), "Topic": rng.choice(TOPICS)[4:].title(),
        "thing": rng.choice(THINGS), "Thing": rng.choice(THINGS).title(),
        "verb": rng.choice(VERBS), "Verb": rng.choice(VERBS).title(),
        "place": place, "Place": place, "place2": rng.choice([p for p in PLACES if p != place]),
        "day": rng.choice(WEEKDAYS), "month": rng.choice(MONTHS), "n": rng.randint(3, 95),
    }
    return template.format(**values)


def paragraph(rng: random.Random) -> str:
    return " ".join(_fill(rng.choice(SENTENCES), rng) for _ in range(rng.randint(2, 4)))


def headline(rng: random.Random) -> str:
    return _fill(rng.choice(HEADLINES), rng)


def _timestamp(rng: random.Random) -> str:
    return (f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} GMT "
            f"{rng.randint(1, 28)} {rng.choice(MONTHS)} 2024")


def _page(site: Site, n: int, rng: random.Random) -> Page:
    kind = site.style if site.style != "mixed" else rng.choice(["html", "text"])
    title = headline(rng)
    body = [paragraph(rng) for _ in range(rng.randint(4, 9))]
    first = body[0]
    dateline = None
    if rng.random() < site.dateline_rate:
        dateline = rng.choice(DATELINE_PLACES)
        agency = f" ({rng.choice(AGENCIES)})" if rng.random() < 0.5 else ""
        first = f"{dateline}{agency} — {body[0]}"
    byline = f"By {rng.choice(PEOPLE)}" if rng.random() < 0.6 else None
    promos = rng.sample(site.promos, k=rng.randint(1, len(site.promos)))
    related = [headline(rng) for _ in range(rng.randint(3, 7))]
    tags = rng.sample([*PLACES[:6], "transport", "health", "housing", "local politics"], k=4)
    mid_link = headline(rng) if rng.random() < 0.4 else None
    slug = title.lower().replace(" ", "-")
    url = f"https://www.{site.domain}/news/{2024}/{n:05d}/{slug}"
    page = Page(site=site.name, url=url, kind=kind, title=title, body=body, dateline=dateline,
                byline=byline[3:] if byline else None, tags=tags if site.tag_line else [])

    # Promos go after paragraph 2 and at the end; the mid-body related link after paragraph 3.
    paras: list[tuple[str, str]] = [("body", first), *[("body", p) for p in body[1:]]]
    paras.insert(min(2, len(paras)), ("promo", promos[0]))
    if mid_link:
        paras.insert(min(4, len(paras)), ("link", mid_link))
    paras.extend(("promo", p) for p in promos[1:])

    if kind == "html":
        page.html = _html(site, page, paras, related, rng)
    else:
        page.text = _text(site, page, paras, related, rng)
    return page


def _html(site: Site, page: Page, paras: list[tuple[str, str]], related: list[str],
          rng: random.Random) -> str:
    nav = "".join(f'<li><a href="/{escape(x.lower())}">{escape(x)}</a></li>' for x in site.nav)
    parts = []
    for role, text in paras:
        if role == "link":
            parts.append(f'<p class="inline-link"><a href="/r/{rng.randint(1, 9999)}">'
                         f"<strong>{escape(text)}</strong></a></p>")
        elif role == "promo":
            parts.append(f'<div class="promo"><p>{escape(text)}</p></div>')
        else:
            parts.append(f"<p>{escape(text)}</p>")
    items = []
    for h in related:
        teaser = f"<p>{escape(paragraph(rng).split('. ')[0])}.</p>" if site.teaser else ""
        items.append(f'<li><a href="/r/{rng.randint(1, 9999)}">{escape(h)}</a>{teaser}</li>')
    tags = "".join(f'<a href="/tag/{t}">{escape(t)}</a> ' for t in page.tags)
    byline = f'<p class="byline">By {escape(page.byline)}</p>' if page.byline else ""
    meta_tags = "".join(f'<meta property="article:tag" content="{escape(t)}">' for t in page.tags)
    return (
        f"<!doctype html><html><head><title>{escape(page.title)} | {escape(site.name)}</title>"
        f'<meta property="og:title" content="{escape(page.title)}">{meta_tags}'
        f'<meta property="article:published_time" content="2024-0{rng.randint(1, 9)}-1'
        f'{rng.randint(0, 9)}T{rng.randint(10, 23)}:00:00Z"></head><body>'
        f'<header><div class="logo">{escape(site.name)}</div><nav><ul>{nav}</ul></nav>'
        f'<div class="stamp">{_timestamp(rng)}</div></header>'
        f"<main><article><h1>{escape(page.title)}</h1>{byline}"
        f'<div class="article-body">{"".join(parts)}</div>'
        f'<div class="tags">{tags}</div></article>'
        f'<aside class="related"><h3>More stories</h3><ul>{"".join(items)}</ul></aside></main>'
        f'<footer>{"".join(f"<p>{escape(x)}</p>" for x in site.footer)}</footer>'
        "</body></html>"
    )


def _text(site: Site, page: Page, paras: list[tuple[str, str]], related: list[str],
          rng: random.Random) -> str:
    lines = [_timestamp(rng), *site.nav]
    if site.storyline:
        lines.append(f"{site.storyline} ({rng.randint(5, 300)})")
    lines.append("")
    lines.append(page.title)
    if page.byline:
        lines.append(f"By {page.byline}")
    lines.append("")
    for _, text in paras:
        lines.extend([text, ""])
    if site.storyline:
        lines.extend([f"{site.storyline} ({rng.randint(5, 300)})", ""])
    lines.append("More stories")
    for h in related:
        lines.append(h)
        if site.teaser:
            lines.append(paragraph(rng).split(". ")[0] + ".")
    if page.tags:
        lines.append(", ".join(page.tags))
    lines.extend(site.footer)
    return "\n".join(("    " + ln) if ln and rng.random() < 0.5 else ln for ln in lines)


def generate(pages: int = 1200, seed: int = 20240501) -> Iterator[Page]:
    """`pages` pages, round-robin-ish over the sites in a seeded random order."""
    rng = random.Random(seed)
    for n in range(pages):
        site = SITES[n % len(SITES)] if n < len(SITES) else rng.choice(SITES)
        yield _page(site, n, rng)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    with a.out.open("w", encoding="utf-8") as f:
        for page in generate(a.pages, a.seed):
            f.write(json.dumps(asdict(page), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
