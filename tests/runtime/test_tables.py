from __future__ import annotations

from datetime import timedelta

from service import metrics
from service.runtime.tables import MeteredDedupIndex


def test_metered_dedup_index_records_size_candidates_and_evictions() -> None:
    from service.settings import DedupConfig
    from service.stages.dedup import deduplicate
    from service.stages.index import STORES
    from tests.stages.test_dedup import T0, article, paragraphs

    def value(name: str) -> float:
        return metrics.REGISTRY.get_sample_value(name) or 0.0

    index = MeteredDedupIndex({name: {} for name in STORES}, size_every=0)
    cfg = DedupConfig(window_seconds=3600)
    lookups = value("newsflow_dedup_candidates_count")
    evicted = value("newsflow_dedup_evictions_total")
    for i in range(5):
        deduplicate(article(f"m{i}", paragraphs(300 + i), 0), index, cfg, now=T0)
    assert value("newsflow_dedup_index_entries") == 5.0
    assert value("newsflow_dedup_candidates_count") == lookups + 5
    later = T0 + timedelta(hours=3)
    deduplicate(article("late", paragraphs(400), 3), index, cfg, now=later)
    assert value("newsflow_dedup_evictions_total") == evicted + 5
    assert value("newsflow_dedup_index_entries") == 1.0
