"""Held-out scoring of a cleaner on the Scrapinghub pages, as flattened text or as HTML.

The 181 pages are also the evaluation set, so cleaner work is developed on the
odd-indexed half (pages sorted by file name, 0-based index 1, 3, 5, ...) and the
even-indexed half is only scored, never read. This prints F1 / precision / recall for
the odd half, the even half and all pages, with the benchmark's own metric (score.py).

    python -m bench.text_holdout                        # flattened text: odd, even and all
    python -m bench.text_holdout --input html           # the HTML quality cleaner (html_holdout)
    python -m bench.text_holdout --half odd --per-doc /tmp/odd.tsv --dump /tmp/odd.json

`--extractor` scores another callable on the same halves: module:function or one of
score.py's builtins (default bench.adapters:text for text, bench.adapters:quality_html for
HTML). `--per-doc` and
`--dump` only ever write pages of the half asked for (default odd), so looking at them
cannot leak the held-out half.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SCORE = ROOT.parent / "shared" / "benchmarks" / "article-extraction" / "score.py"
DEFAULT_EXTRACTOR = {"text": "bench.adapters:text", "html": "bench.adapters:quality_html"}


def _score_module() -> ModuleType:
    if not SCORE.exists():
        sys.exit(f"benchmark not found at {SCORE}: it lives in ../shared, outside the repo")
    spec = importlib.util.spec_from_file_location("ae_score", SCORE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def halves(keys: list[str]) -> dict[str, list[str]]:
    ordered = sorted(keys)
    return {"odd": ordered[1::2], "even": ordered[0::2], "all": ordered}


def main(default_input: str = "text") -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", choices=["text", "html"], default=default_input,
                    help="what the cleaner is given: the page flattened to text, or its HTML")
    ap.add_argument("--extractor",
                    help="module:function or a score.py builtin (default: our cleaner)")
    ap.add_argument("--half", choices=["odd", "even", "all", "both"], default="both",
                    help="both = odd, even and all; details are written for --detail-half")
    ap.add_argument("--detail-half", choices=["odd", "even"], default="odd")
    ap.add_argument("--per-doc", type=Path, help="tsv of per-page P/R/F1 (detail half only)")
    ap.add_argument("--dump", type=Path, help="JSON: input, gold, output (detail half only)")
    a = ap.parse_args()
    spec = a.extractor or DEFAULT_EXTRACTOR[a.input]
    score = _score_module()
    extract: Callable[[str], str | None] = score.resolve(spec)
    gt, html = score.load_dataset(score.HERE / "data")
    split = halves(list(gt))
    wanted = ["odd", "even", "all"] if a.half == "both" else [a.half]
    keys = sorted(set().union(*(split[h] for h in wanted)))
    inputs = {k: score.flatten_html(html[k]) if a.input == "text" else html[k] for k in keys}
    preds, elapsed = {}, 0.0
    for k in keys:
        t0 = time.perf_counter()
        preds[k] = {"articleBody": extract(inputs[k]) or ""}
        elapsed += time.perf_counter() - t0
    print(f"{spec} (--input {a.input}), {len(keys)} pages, "
          f"{1000 * elapsed / len(keys):.2f} ms/page")
    for h in wanted:
        m = score.evaluate({k: gt[k] for k in split[h]}, preds, n_bootstrap=0)
        print(f"{h:>4} ({len(split[h]):3d} pages): F1 {m['f1']:.3f}  P {m['precision']:.3f}  "
              f"R {m['recall']:.3f}  accuracy {m['accuracy']:.3f}")
    detail = [k for k in split[a.detail_half] if k in preds]
    if a.per_doc and detail:
        m = score.evaluate({k: gt[k] for k in detail}, preds, n_bootstrap=0)
        with a.per_doc.open("w") as f:
            f.write("id\tprecision\trecall\n")
            for k in detail:
                x = m["per_doc"][k]
                f.write(f"{k}\t{score._precision(*x):.3f}\t{score._recall(*x):.3f}\n")
    if a.dump and detail:
        a.dump.write_text(json.dumps(
            {k: {"input": inputs[k], "gold": gt[k].get("articleBody", ""),
                 "output": preds[k]["articleBody"]} for k in detail},
            ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
