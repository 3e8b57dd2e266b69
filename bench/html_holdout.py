"""Held-out scoring of the HTML `quality` cleaner: `bench.text_holdout --input html`.

The same protocol as the flattened-text cleaner's (pages sorted by file name; develop on
the odd-indexed half, score the even half only): see bench/text_holdout.py.

    python -m bench.html_holdout                         # odd, even and all
    python -m bench.html_holdout --extractor trafilatura_precision
    python -m bench.html_holdout --half odd --per-doc /tmp/odd.tsv --dump /tmp/odd.json
"""

from __future__ import annotations

from bench.text_holdout import main

if __name__ == "__main__":
    main(default_input="html")
