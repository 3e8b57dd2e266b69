"""Tag-stage benchmark: language accuracy and speed, section accuracy, per-article cost.

Run from the repo root with the project's virtualenv, e.g.

    python bench/tag_benchmark.py build-languages --man-root /tmp/man  # once, see --help
    python bench/tag_benchmark.py all --out bench/results/tag.md

Datasets live in bench/data/ (see bench/data/README.md for where each came from).
Timings are CPU seconds of one single-threaded process (`time.process_time`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.models import CleanedArticle  # noqa: E402
from service.settings import TagConfig  # noqa: E402
from service.stages.tag import Tagger  # noqa: E402
from service.stages.tag.taxonomy import IPTC_TOPICS  # noqa: E402

DATA = ROOT / "bench" / "data"
SHARED = ROOT.parent / "shared"

# --------------------------------------------------------------------------------------
# Building the multilingual set from Debian's translated manual pages
# --------------------------------------------------------------------------------------

# Debian package directory -> the ISO 639-1 code py3langid reports for that language.
MAN_LANGS: dict[str, str] = {
    "en": "en", "cs": "cs", "da": "da", "de": "de", "el": "el", "es": "es", "fi": "fi",
    "fr": "fr", "hu": "hu", "id": "id", "it": "it", "ja": "ja", "mk": "mk", "nb": "no",
    "nl": "nl", "pl": "pl", "pt_BR": "pt", "ro": "ro", "ru": "ru", "sr": "sr", "sv": "sv",
    "tr": "tr", "uk": "uk", "vi": "vi", "zh_CN": "zh", "zh_TW": "zh",
}
_ESCAPES = re.compile(
    r"\\f\[[^\]]*\]|\\f\(..|\\f.|\\\(..|\\\[[^\]]*\]|\\\*\(..|\\\*\[[^\]]*\]|\\\*.|"
    r"\\s[-+]?\d|\\[&/,|^%:]|\\e"
)
_FONT_MACROS = re.compile(r"^\.(?:B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+(.*)$")
_BREAKS = re.compile(r"^\.(?:PP|P|LP|SH|SS|TP|IP|HP|RS|RE|br|sp|nf|fi|TH|Sh|Ss|Pp|It|Bl|El)\b")


def _roff_text(line: str) -> str:
    line = line.replace("\\-", "-").replace("\\ ", " ").replace("\\(em", "—")
    line = _ESCAPES.sub("", line)
    return line.replace("\\", "").replace('"', "").strip()


def roff_paragraphs(source: str) -> Iterator[str]:
    """Body paragraphs of a man page; tagged list items (.TP/.IP headers) are skipped."""
    para: list[str] = []
    skip_next = False
    for raw in source.splitlines():
        if raw.startswith((".\\\"", "'\\\"", '.\\"')):
            continue
        match = _FONT_MACROS.match(raw)
        if _BREAKS.match(raw) or not raw.strip():
            if para:
                yield " ".join(para)
            para = []
            skip_next = raw.startswith((".TP", ".IP", ".It"))
            continue
        if raw.startswith((".", "'")) and not match:
            continue
        if skip_next:  # the tag line of a .TP item: an option name, not prose
            skip_next = False
            continue
        text = _roff_text(match.group(1) if match else raw)
        if text:
            para.append(text)
    if para:
        yield " ".join(para)


def _is_prose(para: str) -> bool:
    letters = sum(ch.isalpha() for ch in para)
    return len(para) >= 90 and letters / len(para) >= 0.72 and "http" not in para


def _norm(para: str) -> str:
    return re.sub(r"\W+", " ", para.lower()).strip()


_EN_FUNCTION_WORDS = frozenset(
    "the and of to is a in for with that this are be by or an as it not from on if".split()
)


def _looks_english(para: str) -> bool:
    """Untranslated leftovers in a translated page; a stop-word test, not py3langid."""
    words = re.findall(r"[a-z]+", para.lower())
    return bool(words) and sum(w in _EN_FUNCTION_WORDS for w in words) / len(words) > 0.12


def _chunks(paras: list[str]) -> Iterator[str]:
    body: list[str] = []
    for para in paras:
        body.append(para)
        if len(body) >= 4 or sum(map(len, body)) > 700:
            if len(body) >= 2 or len(body[0]) > 300:
                yield "\n\n".join(body)
            body = []
    if len(body) >= 2:
        yield "\n\n".join(body)


def build_language_set(man_root: Path, per_lang: int, seed: int) -> list[dict[str, str]]:
    """Multi-paragraph 'articles' of prose from man pages, `per_lang` per language.

    Pages are visited round-robin so each article comes from a different page while
    pages last. Translated pages can keep untranslated English paragraphs; those are
    dropped (exact match with an English page, or an English stop-word test).
    """
    rng = random.Random(seed)
    english: set[str] = set()
    pages: dict[str, list[Path]] = {}
    for directory in sorted(MAN_LANGS):
        base = man_root if directory == "en" else man_root / directory
        pages[directory] = sorted(base.glob("man[1-8]/*.gz"))
    for path in pages["en"]:
        english.update(_norm(p) for p in roff_paragraphs(_read_gz(path)))
    rows: list[dict[str, str]] = []
    for directory, paths in pages.items():
        rng.shuffle(paths)
        per = per_lang // 2 if directory.startswith("zh_") else per_lang
        queues = _page_chunks(directory, paths[: per * 3], english, rng)
        rows += _round_robin(directory, queues, per)
    return rows


def _page_chunks(
    directory: str, paths: list[Path], english: set[str], rng: random.Random
) -> list[tuple[str, list[str]]]:
    """Each page's prose chunks, shuffled; a translation's English leftovers dropped."""
    queues: list[tuple[str, list[str]]] = []
    for path in paths:
        paras = [p for p in roff_paragraphs(_read_gz(path)) if _is_prose(p)]
        if directory != "en":
            paras = [p for p in paras if _norm(p) not in english and not _looks_english(p)]
        chunks = list(_chunks(paras))
        rng.shuffle(chunks)
        if chunks:
            queues.append((path.name, chunks))
    return queues


def _round_robin(
    directory: str, queues: list[tuple[str, list[str]]], per: int
) -> list[dict[str, str]]:
    """Up to `per` rows, one chunk from each page in turn while pages last."""
    rows: list[dict[str, str]] = []
    while queues and len(rows) < per:
        for name, chunks in list(queues):
            rows.append({
                "lang": MAN_LANGS[directory],
                "source": f"manpages-{directory.replace('_', '-').lower()}:{name}",
                "text": chunks.pop(),
            })
            if not chunks:
                queues.remove((name, chunks))
            if len(rows) >= per:
                break
    return rows


def _read_gz(path: Path) -> str:
    try:
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    except (UnicodeDecodeError, OSError, EOFError):
        return ""


# --------------------------------------------------------------------------------------
# The templated English section set
# --------------------------------------------------------------------------------------

# Section directories seen on real English news sites, per topic, for the URL variant.
NEWS_PATHS: dict[str, tuple[str, ...]] = {
    "medtop:01000000": ("/entertainment-arts/", "/culture/music/", "/arts/", "/movies/"),
    "medtop:02000000": ("/news/crime/", "/crime-and-courts/", "/local/crime/"),
    "medtop:03000000": ("/news/disasters/", "/world/disasters/"),
    "medtop:04000000": ("/business/", "/markets/stocks/", "/money/", "/business/economy/"),
    "medtop:05000000": ("/education/", "/news/education/"),
    "medtop:06000000": ("/environment/", "/climate/", "/science/environment/"),
    "medtop:07000000": ("/health/", "/news/health/", "/wellness/"),
    "medtop:08000000": ("/offbeat/", "/odd-news/"),
    "medtop:09000000": ("/business/jobs/", "/careers/", "/labor/"),
    "medtop:10000000": ("/lifestyle/", "/food/", "/travel/", "/style/"),
    "medtop:11000000": ("/politics/", "/news/politics/", "/uk-politics/", "/elections/"),
    "medtop:12000000": ("/religion/", "/faith/"),
    "medtop:13000000": ("/technology/", "/science/", "/tech/gadgets/", "/sci-tech/"),
    "medtop:14000000": ("/society/", "/news/immigration/"),
    "medtop:15000000": ("/sport/football/", "/sports/nba/", "/sports/", "/sport/tennis/"),
    "medtop:16000000": ("/world/conflict/", "/military/", "/news/war/"),
    "medtop:17000000": ("/weather/", "/news/weather/"),
}


def build_section_set(per_topic: int, seed: int) -> list[dict[str, str]]:
    """Articles of one title and four distinct sentences from bench/data templates."""
    spec = json.loads((DATA / "section_templates.json").read_text(encoding="utf-8"))
    slots: dict[str, list[str]] = spec["slots"]
    rng = random.Random(seed)

    def fill(template: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), template)

    rows = []
    for code, topic in spec["topics"].items():
        for i in range(per_topic):
            title = fill(rng.choice(topic["titles"]))
            body = " ".join(fill(s) for s in rng.sample(topic["sentences"], 4))
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            path = rng.choice(NEWS_PATHS[code])
            rows.append({
                "title": title, "text": body, "section": code,
                "url": f"https://www.example-news.com{path}2024/{i % 12 + 1:02d}/{slug}",
            })
    return rows


# --------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_jsonl(path: Path, rows: Iterable[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _best_rate(fn: object, items: Sequence[object], repeats: int = 5) -> float:
    """Items per CPU-second of this process, best of `repeats` runs.

    CPU time (`time.process_time`) rather than wall clock: the dev machines are shared,
    and a neighbour's load would otherwise be billed to the tagger.
    """
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            fn(item)  # type: ignore[operator]
        best = max(best, len(items) / max(time.process_time() - start, 1e-9))
    return best


def language_report(tagger: Tagger, rows: list[dict[str, str]]) -> list[str]:
    errors: Counter[tuple[str, str]] = Counter()
    per_lang: Counter[str] = Counter(r["lang"] for r in rows)
    for row in rows:
        got = tagger.language(row["text"]).code
        if got != row["lang"]:
            errors[(row["lang"], got)] += 1
    wrong = sum(errors.values())
    texts = [r["text"] for r in rows]
    rate = _best_rate(tagger.language, texts)
    lengths = [len(t) for t in texts]
    out = [
        f"- articles: {len(rows)} in {len(per_lang)} languages "
        f"({', '.join(f'{k}:{v}' for k, v in sorted(per_lang.items()))})",
        f"- mean length {statistics.mean(lengths):.0f} chars (min {min(lengths)}, "
        f"max {max(lengths)})",
        f"- accuracy: {1 - wrong / len(rows):.4f} ({wrong} wrong)",
        f"- errors (gold -> got): {dict(errors.most_common()) or 'none'}",
        f"- detection speed on this set: {rate:,.0f} articles/s (one core)",
    ]
    return out


def section_report(
    tagger: Tagger, rows: list[dict[str, str]], use_url: bool, title: str,
    reliability: bool = False,
) -> list[str]:
    """Accuracy over all rows (None counts as wrong), coverage, and a confusion matrix;
    with `reliability`, accuracy per confidence band of the text model (before the floor)."""
    from service.stages.tag.section_model import confusion_table, reliability_table

    confusion: Counter[tuple[str, str]] = Counter()
    scored: list[tuple[float, bool]] = []
    hits = strict = answered = 0
    for row in rows:
        if reliability:
            found = tagger.section_from_text(row.get("title") or "", row["text"], "en")
            accepted = row.get("accept") or [row["section"]]
            if found is not None:
                scored.append((found.confidence, found.code in accepted))
        accept = row.get("accept") or [row["section"]]
        article = CleanedArticle(
            id="b", title=row.get("title") or None, text=row["text"],
            url=row.get("url") if use_url else None,
        )
        section = tagger.section(article, language="en")
        got = section.code if section else "none"
        answered += section is not None
        hits += got in accept
        strict += got == row["section"]
        confusion[(row["section"], got)] += 1
    labels = sorted(IPTC_TOPICS)
    predicted = sorted({p for _, p in confusion})
    cols = sorted(set(labels) | set(predicted))
    gold = sorted({g for g, _ in confusion})
    n = len(rows)
    out = [
        f"**{title}** ({n} articles): accuracy {hits / n:.3f}"
        + ("" if hits == strict else f" (primary label only: {strict / n:.3f})")
        + f"; answered {answered / n:.3f}; precision when answered "
        f"{hits / max(1, answered):.3f}",
    ]
    if len(gold) <= 17:
        table = confusion_table(cols, dict(confusion))
        table_rows = table.splitlines()
        keep = [table_rows[0]] + [
            r for r, c in zip(table_rows[1:], cols, strict=True) if c in gold
        ]
        out += ["", "```", *keep, "```"]
    if scored:
        out += ["", f"Reliability of the text model on this set (floor "
                f"{tagger.cfg.min_section_confidence}):", "", "```",
                reliability_table(scored), "```"]
    return out


def zyte_rows() -> list[dict[str, str]]:
    """Hand-labelled English pages of the shared extraction benchmark (texts not copied)."""
    truth_path = SHARED / "benchmarks" / "article-extraction" / "data" / "ground-truth.json"
    if not truth_path.exists():
        return []
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    labels = json.loads((DATA / "zyte_sections.json").read_text(encoding="utf-8"))["labels"]
    return [
        {"text": truth[k]["articleBody"], "url": truth[k]["url"], "section": codes[0],
         "accept": codes}
        for k, codes in labels.items()
    ]


def speed_report(tagger: Tagger, rows: list[dict[str, str]]) -> list[str]:
    articles = [
        CleanedArticle(id=str(i), text=r["text"], url=r.get("url")) for i, r in enumerate(rows)
    ]

    def both(a: CleanedArticle) -> None:
        lang = tagger.language(a.text)
        tagger.section_from_text(a.title or "", a.text, lang.code)

    rate_lang = _best_rate(lambda a: tagger.language(a.text), articles)
    rate_both = _best_rate(both, articles)
    rate_tag = _best_rate(tagger.tag, articles)
    mean = statistics.mean(len(r["text"]) for r in rows)
    return [
        f"- {len(rows)} real article bodies, mean {mean:,.0f} chars (Zyte benchmark pages)",
        f"- language only: {rate_lang:,.0f} articles/s ({1e3 / rate_lang:.3f} ms/article)",
        f"- language + section (lexicon, no hint/URL, worst case): {rate_both:,.0f} "
        f"articles/s ({1e3 / rate_both:.3f} ms/article)",
        f"- full `Tagger.tag` incl. pydantic model build: {rate_tag:,.0f} articles/s "
        f"({1e3 / rate_tag:.3f} ms/article)",
    ]


def train_report(rows: list[dict[str, str]], title: str, folds: int) -> list[str]:
    import tempfile

    from service.stages.tag.section_model import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        write_jsonl(path, rows)
        report = evaluate(path, folds=folds)
    return [f"**{title}**", "", "```", *report.rstrip().splitlines(), "```"]


# AG News (../shared/datasets/ag_news, research licence: read at run time, never copied).
AG_NEWS = SHARED / "datasets" / "ag_news" / "train-12k.csv.gz"
AG_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
# The default classifier has 17 IPTC topics; AG has 4. Sports, Business and Sci/Tech are
# one topic each; World is any topic that is none of those three (politics, conflict,
# crime, disaster, health, environment...).
AG_TO_IPTC = {"Sports": "medtop:15000000", "Business": "medtop:04000000",
              "Sci/Tech": "medtop:13000000"}
AG_MARKER = re.compile(r"<!-- tag:ag -->\n.*?\n<!-- /tag:ag -->", re.S)


def ag_rows() -> list[dict[str, str]]:
    """The 12,000 AG items as {title, text, section}; `\\` (AG's line break) -> space."""
    import csv

    if not AG_NEWS.exists():
        return []
    with gzip.open(AG_NEWS, "rt", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [
            {"title": t.replace("\\", " "), "text": d.replace("\\", " "),
             "section": AG_CLASSES[c]}
            for c, t, d in reader
        ]


def ag_default_report(tagger: Tagger, rows: list[dict[str, str]]) -> list[str]:
    """The default classifier (no hint, no URL) on AG headline + lead, mapped as above."""
    from service.stages.entities import unescape_text
    from service.stages.tag.section_model import reliability_table, wilson

    others = set(IPTC_TOPICS) - set(AG_TO_IPTC.values())
    scored: list[tuple[float, bool]] = []
    per_class: Counter[str] = Counter()
    hits_by_class: Counter[str] = Counter()
    answered = hits = 0
    oks: list[bool] = []
    for row in rows:
        article = CleanedArticle(id="b", title=unescape_text(row["title"]),
                                 text=unescape_text(row["text"]))
        found = tagger.section_from_text(article.title or "", article.text, "en")
        section = tagger.section(article, language="en")
        gold = row["section"]
        accept = others if gold == "World" else {AG_TO_IPTC[gold]}
        ok = section is not None and section.code in accept
        oks.append(ok)
        per_class[gold] += 1
        hits_by_class[gold] += ok
        answered += section is not None
        hits += ok
        if found is not None:
            scored.append((found.confidence, found.code in accept))
    n = len(rows)
    low, high = wilson(hits, n)
    half = n // 2
    by_class = ", ".join(f"{c} {hits_by_class[c] / per_class[c]:.3f}" for c in AG_CLASSES.values())
    return [
        f"**default classifier, text only** ({n} items): accuracy {hits / n:.3f} "
        f"(95% {low:.3f}-{high:.3f}); answered {answered / n:.3f}; precision when answered "
        f"{hits / max(1, answered):.3f}",
        f"- per class: {by_class}",
        f"- first half (rows 1-{half}, whose errors were read while writing the wire "
        f"vocabulary): {sum(oks[:half]) / max(1, half):.3f}; second half (never read): "
        f"{sum(oks[half:]) / max(1, n - half):.3f}",
        "- reliability (all items the text model scored, before the floor "
        f"{tagger.cfg.min_section_confidence}):",
        "", "```", reliability_table(scored), "```",
    ]


def _baseline_folds(rows: list[dict[str, str]], folds: int) -> dict[str, list[float]]:
    """Same-data TF-IDF baselines on the folds `evaluate` uses (same seed, same order)."""
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    from service.stages.entities import unescape_text

    docs = np.array([unescape_text(f"{r['title']}\n{r['text']}") for r in rows], dtype=object)
    gold = np.array([r["section"] for r in rows])
    out: dict[str, list[float]] = {"word 1-2 TF-IDF + LinearSVC": [],
                                   "word 1-2 + char 2-5 TF-IDF + LinearSVC": []}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for tr, te in splitter.split(gold, gold):
        words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                min_df=2)
        wtr, wte = words.fit_transform(docs[tr]), words.transform(docs[te])
        ctr, cte = chars.fit_transform(docs[tr]), chars.transform(docs[te])
        for name, (xtr, xte) in {
            "word 1-2 TF-IDF + LinearSVC": (wtr, wte),
            "word 1-2 + char 2-5 TF-IDF + LinearSVC": (
                sparse.hstack([wtr, ctr]).tocsr(), sparse.hstack([wte, cte]).tocsr()),
        }.items():
            predicted = LinearSVC(C=0.5).fit(xtr, gold[tr]).predict(xte)
            out[name].append(float((predicted == gold[te]).mean()))
    return out


def ag_trained_report(rows: list[dict[str, str]], folds: int) -> list[str]:
    """`sections train` on the 12,000 items: k-fold, fit time, size and speed."""
    import tempfile

    from service.stages.tag.section_model import evaluate, load_model, train

    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path, model_path = Path(tmp) / "ag.jsonl", Path(tmp) / "ag.joblib"
        write_jsonl(path, rows)
        report = evaluate(path, folds=folds)
        started = time.process_time()
        trained = train(path, model_path, folds=0)
        fit_seconds = time.process_time() - started
        model = load_model(model_path)
        size = model_path.stat().st_size
        items = [(r["title"], r["text"]) for r in rows[:2000]]
        start = time.process_time()
        model.predict_many(items)
        batch_rate = len(items) / max(time.process_time() - start, 1e-9)
        single_rate = _best_rate(lambda item: model.section(*item), items[:500], repeats=2)
    lines += [f"**`newsflow sections train`** ({len(rows)} items, {folds}-fold, seed 0)", "",
              "```", *report.rstrip().splitlines(), "```", ""]
    lines += [
        f"- one fit on all {len(rows)} items: {fit_seconds:.0f} s CPU (one core, incl. reading);"
        f" model file {size / 1e6:.1f} MB",
        f"- inference: {batch_rate:,.0f} items/s in one `predict_many` call; "
        f"{single_rate:,.0f} items/s one at a time (`Tagger` path)",
        f"- train's own summary: {trained.strip().splitlines()[-1]}",
        "",
    ]
    baselines = _baseline_folds(rows, folds)
    lines += ["Same-data baselines, same folds, same run:", ""]
    for name, accs in baselines.items():
        lines.append(f"- {name}: {sum(accs) / len(accs):.4f} "
                     f"(folds: {', '.join(f'{a:.3f}' for a in accs)})")
    return lines


def run_ag(out: Path | None, folds: int) -> str:
    """The AG News section block; with `out`, replaces that block of the file in place."""
    rows = ag_rows()
    if not rows:
        return "AG News is absent (../shared/datasets/ag_news)"
    tagger = Tagger(TagConfig())
    lines = ["<!-- tag:ag -->", "## Section: AG News, 12,000 real wire items (headline + lead)",
             "", f"Command: `OMP_NUM_THREADS=1 python bench/tag_benchmark.py ag --folds {folds}"
             " --out bench/results/tag.md`", "",
             "Labels: World, Sports, Business, Sci/Tech (research licence; read from "
             "../shared at run time, never copied, no model shipped).", ""]
    lines += ag_default_report(tagger, rows)
    lines += [""]
    lines += ag_trained_report(rows, folds)
    lines += ["<!-- /tag:ag -->"]
    block = "\n".join(lines)
    if out:
        text = out.read_text(encoding="utf-8") if out.exists() else ""
        if AG_MARKER.search(text):
            text = AG_MARKER.sub(lambda _: block, text)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        out.write_text(text, encoding="utf-8")
    return block


FIVE = {
    "medtop:04000000", "medtop:01000000", "medtop:11000000", "medtop:15000000",
    "medtop:13000000",
}


def run_all(out: Path | None) -> str:
    tagger = Tagger(TagConfig())
    lines = ["# Tag stage benchmark", "", "Command: `python bench/tag_benchmark.py all`", ""]
    lang_path = DATA / "languages.jsonl"
    if lang_path.exists():
        rows = read_jsonl(lang_path)
        lines += ["## Language (py3langid, no allow-list)", ""]
        lines += language_report(tagger, rows)
        lines += [""]
    sections = read_jsonl(DATA / "sections_en.jsonl")
    lines += ["## Section: templated English set (bench/data/sections_en.jsonl)", ""]
    lines += section_report(tagger, sections, use_url=False, title="lexicon, text only")
    lines += [""]
    lines += section_report(tagger, sections, use_url=True, title="URL, then lexicon")
    lines += [""]
    zyte = zyte_rows()
    if zyte:
        lines += ["## Section: 160 real English news pages (Zyte benchmark, hand-labelled)", ""]
        lines += section_report(tagger, zyte, use_url=False, title="lexicon, text only",
                                reliability=True)
        lines += [""]
        lines += section_report(tagger, zyte, use_url=True, title="URL, then lexicon")
        lines += ["", "## Speed (one process, one thread)", ""]
        lines += speed_report(tagger, zyte)
        lines += [""]
    lines += ["## `sections train|eval` (TF-IDF SVM + NBSVM, temperature-scaled), 5 classes", ""]
    five = [r for r in sections if r["section"] in FIVE]
    lines += train_report(five, "templated set, 5 classes", 5)
    if zyte:
        real = [dict(r, section=r["section"]) for r in zyte if r["section"] in FIVE]
        lines += [""]
        lines += train_report(real, "real Zyte pages, 5 classes (primary label)", 5)
    text = "\n".join(lines) + "\n"
    if out:
        # The AG block takes minutes; `all` keeps the one `ag` last wrote, and the notes
        # written after it (the AG attempts' record).
        old = out.read_text(encoding="utf-8") if out.exists() else ""
        previous = AG_MARKER.search(old)
        if previous:
            text += "\n" + old[previous.start():].rstrip() + "\n"
        out.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-languages", help="extract the set from manpages-* debs")
    build.add_argument("--man-root", type=Path, required=True,
                       help="a usr/share/man tree: `apt-get download manpages manpages-de "
                            "...` then `dpkg-deb -x` each .deb into one folder")
    build.add_argument("--per-lang", type=int, default=80)
    build.add_argument("--out", type=Path, default=DATA / "languages.jsonl")
    sections = sub.add_parser("build-sections", help="render the templated section set")
    sections.add_argument("--per-topic", type=int, default=30)
    sections.add_argument("--out", type=Path, default=DATA / "sections_en.jsonl")
    everything = sub.add_parser("all", help="run every measurement")
    everything.add_argument("--out", type=Path)
    ag = sub.add_parser("ag", help="sections on AG News: default classifier, trained model")
    ag.add_argument("--folds", type=int, default=5)
    ag.add_argument("--out", type=Path, help="replace the AG block of this file (tag.md)")
    args = parser.parse_args(argv)
    if args.command == "build-languages":
        write_jsonl(args.out, build_language_set(args.man_root, args.per_lang, seed=7))
    elif args.command == "build-sections":
        write_jsonl(args.out, build_section_set(args.per_topic, seed=11))
    elif args.command == "ag":
        print(run_ag(args.out, args.folds))
    else:
        print(run_all(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
