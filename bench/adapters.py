"""score.py extractor adapters: the benchmark's callables, routed through our clean().

`python score.py --extractor bench.adapters:quality_html` (run from the repo root) scores
the real code path: RawArticle -> clean() -> CleanedArticle.text. A page that clean()
rejects scores as empty, exactly as a rejected article would reach no consumer.
"""

from __future__ import annotations

from service.errors import Rejection
from service.models import RawArticle
from service.settings import CleanConfig
from service.stages.clean import clean

_QUALITY = CleanConfig(mode="quality", learn_boilerplate=False)
_FAST = CleanConfig(mode="fast", learn_boilerplate=False)


def _run(raw: RawArticle, cfg: CleanConfig) -> str:
    try:
        return clean(raw, cfg).text
    except Rejection:
        return ""


def quality_html(html: str) -> str:
    return _run(RawArticle(html=html), _QUALITY)


def fast_html(html: str) -> str:
    return _run(RawArticle(html=html), _FAST)


def text(flattened: str) -> str:
    return _run(RawArticle(text=flattened), _QUALITY)
