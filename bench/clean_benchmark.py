"""Benchmark the clean stage through its real code path (RawArticle -> clean() -> text).

Two parts:

* ``synthetic``: the generated corpus (bench/synthetic_sites.py, gold bodies known),
  streamed in order through clean() with per-source learning on and off.
* ``scrapinghub``: the 181-page article-extraction benchmark in ../shared, scored by its
  own score.py with bench.adapters as the extractors (quality and fast HTML, flattened
  text), next to trafilatura / resiliparse / C4 line rules alone from the same run; and
  the flattened-text and HTML quality F1 on the odd (development) and even (held-out)
  halves (bench/text_holdout.py, bench/html_holdout.py).

    python -m bench.clean_benchmark                       # both parts, print tables
    python -m bench.clean_benchmark --part synthetic --pages 1200
    python -m bench.clean_benchmark --write bench/results/clean.md
    python -m bench.clean_benchmark --part rates          # HTML rates against the peers

score.py times its extractors one after another, so the first one pays the one-off costs
(imports, jusText's stop lists, dateparser's locales) and each one meets whatever caches
the previous ones warmed on the same pages: its docs/s are for F1 tables, not for ratios.
``rates`` times each HTML mode against its peer page by page (ours and the peer on the same
page, the order swapped every page), once per page, after a warm-up on pages not timed.

The metric is the benchmark's: 4-gram shingles, per-document TP/FP/FN normalised,
F1 of mean precision and mean recall.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.synthetic_sites import Page, generate
from service.errors import Rejection
from service.models import RawArticle
from service.settings import CleanConfig
from service.stages.clean import BoilerplateMemory, clean

ROOT = Path(__file__).resolve().parents[1]
SCORE = ROOT.parent / "shared" / "benchmarks" / "article-extraction" / "score.py"
_TOKEN_RE = re.compile(r"\w+")


def shingle_tpfpfn(true: str, pred: str, n: int = 4) -> tuple[float, float, float]:
    """score.py's per-document matching: multiset overlap of n-gram shingles, normalised."""

    def grams(text: str) -> Counter[tuple[str, ...]]:
        tok = _TOKEN_RE.findall(text)
        return Counter(tuple(tok[i : i + n]) for i in range(max(1, len(tok) - n + 1)) if tok)

    t, p = grams(true), grams(pred)
    tp = sum((t & p).values())
    fp, fn = sum((p - t).values()), sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def prf(docs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    p = statistics.mean([precision(*d) for d in docs if d[0] + d[1] > 0] or [0.0])
    r = statistics.mean([recall(*d) for d in docs if d[0] + d[2] > 0] or [0.0])
    return (2 * p * r / (p + r) if p + r else 0.0), p, r


def run_synthetic(pages: list[Page], cfg: CleanConfig) -> dict[str, object]:
    """Stream the pages through clean() in order with one shared memory; score vs gold."""
    memory = BoilerplateMemory({}, cfg)
    groups: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    rejected, fields_ok, fields_n = 0, Counter[str](), Counter[str]()
    t0 = time.perf_counter()
    for page in pages:
        raw = RawArticle(url=page.url, html=page.html, text=page.text,
                         title=page.title if page.kind == "html" else None)
        try:
            art = clean(raw, cfg, memory)
            text = art.text
        except Rejection:
            art, text, rejected = None, "", rejected + 1
        doc = shingle_tpfpfn("\n".join(page.body), text)
        for key in ("all", page.kind, page.site):
            groups[key].append(doc)
        if art is not None and page.kind == "text":
            for name, want, got in (("dateline", page.dateline, art.dateline),
                                    ("byline", page.byline, art.byline),
                                    ("tags", page.tags, art.tags),
                                    ("title", page.title, art.title)):
                fields_n[name] += 1
                fields_ok[name] += want == got
    elapsed = time.perf_counter() - t0
    return {
        "scores": {k: prf(v) for k, v in groups.items()},
        "docs_per_s": len(pages) / elapsed,
        "rejected": rejected,
        "fields": {k: fields_ok[k] / fields_n[k] for k in fields_n},
    }


def synthetic_report(n_pages: int) -> list[str]:
    pages = list(generate(n_pages))
    sites = sorted({p.site for p in pages})
    kinds = Counter(p.kind for p in pages)
    out = [f"### Synthetic sites: {len(pages)} pages, {len(sites)} sites "
           f"({kinds['html']} HTML, {kinds['text']} flattened text), seed 20240501", ""]
    out.append("| run | F1 all | P | R | F1 html | F1 text | docs/s | rejected |")
    out.append("|---|---|---|---|---|---|---|---|")
    per_site: dict[str, dict[str, float]] = defaultdict(dict)
    fields: dict[str, float] = {}
    for mode in ("quality", "fast"):
        for learn in (False, True):
            cfg = CleanConfig(mode=mode, learn_boilerplate=learn)
            res = run_synthetic(pages, cfg)
            sc = res["scores"]
            assert isinstance(sc, dict)
            label = f"{mode}, learning {'on' if learn else 'off'}"
            f1, p, r = sc["all"]
            out.append(f"| {label} | {f1:.3f} | {p:.3f} | {r:.3f} | {sc['html'][0]:.3f} | "
                       f"{sc['text'][0]:.3f} | {res['docs_per_s']:.0f} | {res['rejected']} |")
            for s in sites:
                per_site[s][label] = sc[s][0]
            if mode == "quality" and learn:
                fields = res["fields"]  # type: ignore[assignment]
            print(out[-1], flush=True)
    labels = list(next(iter(per_site.values())))
    out += ["", "| site (F1) | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    out += [f"| {s} | " + " | ".join(f"{per_site[s][k]:.3f}" for k in labels) + " |"
            for s in sites]
    out += ["", "Flattened-text metadata exact-match rate (quality, learning on): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(fields.items())), ""]
    return out


def scrapinghub_report(repeat: int) -> list[str]:
    if not SCORE.exists():
        sys.exit(f"benchmark not found at {SCORE}: it lives in ../shared, outside the repo")
    runs = [
        ("html", ["bench.adapters:quality_html", "trafilatura_precision", "trafilatura",
                  "bench.adapters:fast_html", "resiliparse_noalt"]),
        ("text", ["bench.adapters:text", "c4_lines", "justext_text"]),
    ]
    out = ["### Scrapinghub article-extraction benchmark (181 pages, score.py metric)", ""]
    for kind, extractors in runs:
        cmd = [sys.executable, str(SCORE), "--input", kind, "--repeat", str(repeat),
               "--n-bootstrap", "200"]
        for e in extractors:
            cmd += ["--extractor", e]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        out += [f"`--input {kind}`:", "", "```", *proc.stdout.strip().splitlines(), "```", ""]
        print(proc.stdout, flush=True)
    # Each cleaner is developed on the odd-indexed pages only; the even half is held out.
    for module, what in (
        ("bench.text_holdout", "`--input text`, by half (pages sorted by file name; the text "
         "cleaner is developed on the odd half, the even half is held out"),
        ("bench.html_holdout", "`--input html`, `quality`, by half (developed on the odd "
         "half, the even half held out"),
    ):
        cmd = [sys.executable, "-m", module]
        print("$", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        out += [f"{what}; `python -m {module}`):", "",
                "```", *proc.stdout.strip().splitlines(), "```", ""]
        print(proc.stdout, flush=True)
    return out


def rates_report(warmup: int = 30) -> list[str]:
    """HTML docs/s of each mode against the library it wraps, timed page by page."""
    import gzip
    import json
    import os

    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    from bench import adapters

    data = SCORE.parent / "data"
    keys = sorted(json.loads((data / "ground-truth.json").read_text(encoding="utf-8")))
    pages = []
    for k in keys:
        with gzip.open(data / "html" / f"{k}.html.gz", "rt", encoding="utf-8") as f:
            pages.append(f.read())

    def resiliparse_noalt(html: str) -> object:  # score.py's builtin of that name
        return extract_plain_text(
            HTMLTree.parse(html), main_content=True, alt_texts=False, list_bullets=False
        )

    def trafilatura_default(html: str) -> object:  # score.py's "trafilatura"
        return trafilatura.extract(html, include_comments=False)

    pairs = [("fast", adapters.fast_html, "resiliparse_noalt", resiliparse_noalt),
             ("quality", adapters.quality_html, "trafilatura", trafilatura_default)]
    for _, ours, _, peer in pairs:
        for html in pages[:warmup]:
            ours(html)
            peer(html)
    spent: dict[str, float] = defaultdict(float)
    for i, html in enumerate(pages[warmup:]):
        for mode, ours, name, peer in pairs:
            order = [(mode, ours), (name, peer)]
            for label, fn in order if i % 2 == 0 else order[::-1]:
                t0 = time.perf_counter()
                fn(html)
                spent[label] += time.perf_counter() - t0
    n = len(pages) - warmup
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    out = [f"### HTML rates against the peer, page by page ({n} pages after {warmup} "
           f"untimed, each page once, order swapped every page; load average {load})", "",
           "| mode | docs/s | peer | peer docs/s | ratio |", "|---|---|---|---|---|"]
    for mode, _, name, _ in pairs:
        ours_rate, peer_rate = n / spent[mode], n / spent[name]
        out.append(f"| {mode} | {ours_rate:.1f} | {name} | {peer_rate:.1f} | "
                   f"**{ours_rate / peer_rate:.2f}x** |")
    print("\n".join(out), flush=True)
    return [*out, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["all", "synthetic", "scrapinghub", "rates"], default="all")
    ap.add_argument("--pages", type=int, default=1200)
    ap.add_argument("--repeat", type=int, default=1, help="score.py timing repeats")
    ap.add_argument("--write", type=Path, help="write the markdown tables here")
    a = ap.parse_args()
    lines: list[str] = []
    if a.part in ("all", "scrapinghub"):
        lines += scrapinghub_report(a.repeat)
    if a.part in ("all", "rates"):
        lines += rates_report()
    if a.part in ("all", "synthetic"):
        lines += synthetic_report(a.pages)
    if a.write:
        a.write.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
