"""Batch pipeline throughput on one core, with the per-stage split (issue 8, part 1).

    python -m bench.pipeline_benchmark                 # print the table
    python -m bench.pipeline_benchmark --write         # and replace its section of perf.md
    python -m bench.pipeline_benchmark --repeats 5 --profile html-zyte/quality

Runs `service.stages.*` exactly as `Pipeline.process` does (decode -> clean -> tag ->
dedup -> encode), timing each stage, on: synthetic flattened text and synthetic HTML
(bench/synthetic_sites.py), and the 181 real pages of ../shared (read at run time).
Each repeat uses a fresh Pipeline (empty dedup index and boilerplate memory). Same-run
references: trafilatura alone with our options, resiliparse alone, and the floor, a
plain read-a-line-and-json.loads loop. "hop" is what the worker pays on top of batch
mode for its two-topic design: encode the tagged article, decode it again.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from collections.abc import Callable

import orjson
import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from bench.common import (
    Stopwatch,
    forget_memos,
    machine_line,
    median,
    synthetic_payloads,
    table,
    write_section,
    zyte_payloads,
)
from service.errors import Rejection
from service.models import TaggedArticle
from service.pipeline import Pipeline, dump
from service.settings import CleanConfig, Settings
from service.stages.clean import clean, decode

STAGES = ("decode", "clean", "tag", "dedup", "encode")
TARGETS = {
    "text": "≥ 1,000/s",
    "html-quality": "≥ 0.9× trafilatura",
    "html-fast": "≥ 300/s",
}


def settings_for(mode: str) -> Settings:
    return Settings(clean=CleanConfig(mode=mode))  # type: ignore[arg-type]


CLOCK = time.thread_time  # CPU seconds of this thread; see Stopwatch


def prime_memos(settings: Settings, seen: list[bytes] | None) -> None:
    """Empty the process memos (judged lines, stems, language walks), then fill them
    with `seen`, other articles of the same sites, untimed: a timed pass is then charged
    as a worker that has been running is, never for having met its own lines before."""
    forget_memos()
    if seen:
        run_pipeline(seen, settings)


def run_pipeline(payloads: list[bytes], settings: Settings) -> tuple[Stopwatch, int, float]:
    """One pass through fresh pipeline state; returns stage times, rejections, hop seconds."""
    pipeline = Pipeline(settings)
    watch, rejected, hop = Stopwatch(CLOCK), 0, 0.0
    cfg = settings.clean
    for payload in payloads:
        t = CLOCK()
        try:
            raw = decode(payload, settings.decode)
            t = watch.add("decode", t)
            cleaned = clean(raw, cfg, pipeline.memory)
            t = watch.add("clean", t)
            tagged = pipeline.tagger.tag(cleaned)
            t = watch.add("tag", t)
        except Rejection:
            rejected += 1
            continue
        routed = pipeline.finish(tagged)
        t = watch.add("dedup", t)
        routed.to_json()
        t = watch.add("encode", t)
        TaggedArticle.model_validate_json(dump(tagged))
        hop += CLOCK() - t
    return watch, rejected, hop


def floor_rate(payloads: list[bytes]) -> float:
    """Read lines from a file and json.loads each: nothing can be faster than this."""
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl") as fh:
        fh.write(b"\n".join(payloads) + b"\n")
        fh.flush()
        t = CLOCK()
        with open(fh.name, "rb") as lines:
            n = sum(1 for line in lines if json.loads(line))
        return n / (CLOCK() - t)


def reference_rate(payloads: list[bytes], extract: Callable[[str], object]) -> float:
    htmls = [orjson.loads(p)["html"] for p in payloads]
    t = CLOCK()
    for html in htmls:
        extract(html)
    return len(htmls) / (CLOCK() - t)


def trafilatura_same_options(html: str) -> object:
    # The call html.extract_quality makes, without our metadata pass and line filter.
    return trafilatura.bare_extraction(
        html, include_comments=False, favor_precision=True, with_metadata=True
    )


def resiliparse_alone(html: str) -> object:
    return extract_plain_text(HTMLTree.parse(html), main_content=True, alt_texts=False)


def warm_up(payloads: list[bytes]) -> None:
    """Load models and lexicons once, so the first repeat is not charged for imports."""
    for mode in ("quality", "fast"):
        run_pipeline(payloads[:20], settings_for(mode))


INPUTS = ("text-synthetic", "html-synthetic", "html-zyte")
SEEN_SEED = 7  # the synthetic pages a pass has "seen" before it; the timed ones use the default


def measure(
    repeats: int, quick: bool, only: tuple[str, ...] = INPUTS
) -> tuple[list[list[object]], list[str]]:
    n_text, n_html = (300, 150) if quick else (600, 400)
    makers: dict[str, Callable[[], list[bytes]]] = {
        "text-synthetic": lambda: synthetic_payloads("text", n_text),
        "html-synthetic": lambda: synthetic_payloads("html", n_html),
        "html-zyte": zyte_payloads,
    }
    inputs = {name: makers[name]() for name in INPUTS if name in only}
    # Before each timed pass: other pages of the same synthetic sites (another seed).
    seen = {
        "text-synthetic": synthetic_payloads("text", n_text // 2, seed=SEEN_SEED),
        "html-synthetic": synthetic_payloads("html", n_html // 2, seed=SEEN_SEED),
    }
    warm_up(inputs.get("text-synthetic", [])[:20] + inputs.get("html-zyte", [])[:5]
            or next(iter(inputs.values()))[:20])
    rows: list[list[object]] = []
    notes: list[str] = []
    for name, payloads in inputs.items():
        modes = ["quality"] if name.startswith("text") else ["quality", "fast"]
        floor = median([floor_rate(payloads) for _ in range(repeats)])
        refs: dict[str, float] = {}
        if name.startswith("html"):
            refs["quality"] = median(
                [reference_rate(payloads, trafilatura_same_options) for _ in range(repeats)]
            )
            refs["fast"] = median(
                [reference_rate(payloads, resiliparse_alone) for _ in range(repeats)]
            )
        for mode in modes:
            runs, walls = [], []
            for _ in range(repeats):
                prime_memos(settings_for(mode), seen.get(name))
                started = time.perf_counter()
                runs.append(run_pipeline(payloads, settings_for(mode)))
                walls.append(len(payloads) / (time.perf_counter() - started))
            per_stage = {
                s: median([w.seconds.get(s, 0.0) for w, _, _ in runs]) / len(payloads) * 1e3
                for s in STAGES
            }
            totals = [sum(w.seconds.values()) for w, _, _ in runs]
            rate = len(payloads) / median(totals)
            hop_ms = median([h for _, _, h in runs]) / len(payloads) * 1e3
            ref = refs.get(mode)
            kind = "text" if name.startswith("text") else f"html-{mode}"
            rows.append([
                name, mode if kind != "text" else "-", len(payloads), runs[0][1],
                *(round(per_stage[s], 3) for s in STAGES), round(hop_ms, 3),
                rate, ref if ref is not None else "-",
                f"{rate / ref:.2f}×" if ref else "-", floor, TARGETS[kind], median(walls),
            ])
    return rows, notes


def profile(target: str, repeats: int) -> None:
    """cProfile one input/mode (e.g. html-zyte/quality) and print the top functions."""
    name, mode = target.split("/")
    payloads = {
        "text-synthetic": lambda: synthetic_payloads("text", 600),
        "html-synthetic": lambda: synthetic_payloads("html", 400),
        "html-zyte": zyte_payloads,
    }[name]()
    warm_up(payloads[:20])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        run_pipeline(payloads, settings_for(mode))
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


HEADERS = [
    "input", "clean mode", "n", "rejected",
    *(f"{s} ms" for s in STAGES), "hop ms", "articles/s", "reference/s", "ratio",
    "json floor/s", "target", "wall articles/s",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="fewer synthetic pages")
    ap.add_argument("--write", action="store_true", help="replace the section in perf.md")
    ap.add_argument("--profile", metavar="INPUT/MODE", help="cProfile instead of measuring")
    ap.add_argument(
        "--inputs", default=",".join(INPUTS),
        help=f"comma-separated subset of {', '.join(INPUTS)} (default: all)",
    )
    args = ap.parse_args()
    only = tuple(name.strip() for name in args.inputs.split(",") if name.strip())
    unknown = sorted(set(only) - set(INPUTS))
    if unknown:
        ap.error(f"unknown inputs: {', '.join(unknown)}")
    if args.profile:
        profile(args.profile, args.repeats)
        return
    machine = machine_line()
    rows, _ = measure(args.repeats, args.quick, only)
    out = table(HEADERS, rows)
    print(machine)
    print(out)
    if args.write:
        command = "python -m bench.pipeline_benchmark --write" + (
            f" --repeats {args.repeats}" if args.repeats != 3 else ""
        ) + (" --quick" if args.quick else "") + (
            f" --inputs {args.inputs}" if only != INPUTS else ""
        )
        body = (
            "## 1. Batch pipeline, in-process, one core\n\n"
            f"`{command}`: {machine}. Median of {args.repeats} passes; each pass a fresh "
            "Pipeline (empty dedup index and boilerplate memory). Stage columns are mean ms "
            "per article; articles/s is the whole decode→encode path. Reference: trafilatura "
            "`bare_extraction` with our options (quality rows) or resiliparse alone (fast "
            "rows), on the same pages in the same run. All rates are per CPU-second of the "
            "benchmark thread (`time.thread_time`), which the other jobs on this shared "
            "machine disturb far less than wall time; the last column is wall time (incl. "
            "the hop and timer overhead). `hop ms` is the worker-only cost of "
            "the two-topic design (encode the tagged article, then validate it again), not "
            "included in articles/s.\n\n" + out + "\n"
        )
        print("wrote", write_section("pipeline", body))


if __name__ == "__main__":
    main()
