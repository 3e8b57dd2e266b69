"""Every Prometheus metric Newsflow exports, defined once. Only `runtime` and `batch` record.

Label values with unbounded cardinality (languages, sections, sources) pass through
`BoundedLabel`, which keeps the first N values it sees and folds the rest into `other`.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Collection, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from service.errors import REJECTION_CODES

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_E2E_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

MESSAGES = Counter(
    "newsflow_messages_total",
    "Messages leaving a stage, by outcome (clean, duplicate, near_duplicate, rejected, tagged).",
    ["stage", "outcome"],
    registry=REGISTRY,
)
REJECTIONS = Counter(
    "newsflow_rejections_total",
    "Messages sent to the dead-letter topic, by reason code.",
    ["stage", "code"],
    registry=REGISTRY,
)
STAGE_LATENCY = Histogram(
    "newsflow_stage_duration_seconds",
    "Processing time per message in each stage.",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
END_TO_END_LATENCY = Histogram(
    "newsflow_end_to_end_latency_seconds",
    "From the raw message timestamp (or fetched_at) to publication of the result.",
    ["outcome"],
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "newsflow_consumer_lag_messages",
    "High watermark minus the committed offset, per topic and partition.",
    ["topic", "partition"],
    registry=REGISTRY,
)
ARTICLES_BY_LANGUAGE = Counter(
    "newsflow_articles_by_language_total",
    "Published unique articles by detected language (top codes, the rest as 'other').",
    ["language"],
    registry=REGISTRY,
)
ARTICLES_BY_SECTION = Counter(
    "newsflow_articles_by_section_total",
    "Published unique articles by IPTC section ('none' when below the confidence threshold).",
    ["section"],
    registry=REGISTRY,
)
DEDUP_INDEX_SIZE = Gauge(
    "newsflow_dedup_index_entries",
    "Articles held in this worker's dedup band stores (bounded by dedup.max_entries).",
    registry=REGISTRY,
)
DEDUP_EVICTIONS = Counter(
    "newsflow_dedup_evictions_total",
    "Articles dropped from the dedup index to stay within dedup.max_entries; "
    "reason 'early' while still inside the window (verdicts may then differ from batch).",
    ["reason"],
    registry=REGISTRY,
)
OLDEST_UNCOMMITTED = Gauge(
    "newsflow_oldest_uncommitted_batch_seconds",
    "Seconds since the oldest processed batch whose input offsets are not committed yet; "
    "over NEWSFLOW_STALL_SECONDS the worker is not ready (its outputs are held back).",
    registry=REGISTRY,
)
DEDUP_CANDIDATES = Histogram(
    "newsflow_dedup_candidates",
    "Near-duplicate candidates verified per lookup.",
    buckets=(0, 1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
DEDUP_BUCKET_OVERFLOW = Counter(
    "newsflow_dedup_bucket_overflow_total",
    "Dedup bucket entries dropped because a bucket held max_candidates.",
    registry=REGISTRY,
)
DEDUP_CORRECTIONS = Counter(
    "newsflow_dedup_corrections_total",
    "Dedup verdicts re-published on the duplicates topic after a late copy.",
    registry=REGISTRY,
)
BOILERPLATE_LINES_REMOVED = Counter(
    "newsflow_boilerplate_lines_removed_total",
    "Lines removed by cleaning, by source (top sources only) and reason.",
    ["source", "reason"],
    registry=REGISTRY,
)
CLEAN_TEXT_CHARS = Histogram(
    "newsflow_clean_text_chars",
    "Length of the cleaned body; a drop for one source means its template changed.",
    ["source"],
    buckets=(0, 200, 500, 1000, 2000, 4000, 8000, 16000, 64000),
    registry=REGISTRY,
)
READY = Gauge(
    "newsflow_ready",
    "1 when the worker is connected, assigned and restored; 0 otherwise.",
    registry=REGISTRY,
)
PUBLISH_ERRORS = Counter(
    "newsflow_publish_errors_total",
    "Failed attempts to publish a result; the input is retried, never dropped.",
    ["topic"],
    registry=REGISTRY,
)
STORAGE_ERRORS = Counter(
    "newsflow_storage_errors_total",
    "Failed reads or writes of the worker's state (a full or failing data dir disk under "
    "rocksdb://); the input is retried, never dead-lettered.",
    ["stage"],
    registry=REGISTRY,
)
DEDUP_REPLAYS = Counter(
    "newsflow_dedup_replays_total",
    "Tagged articles seen again after their verdict was published (a replay after a "
    "crash or rebalance under at_least_once): not published twice.",
    registry=REGISTRY,
)
INPUTS_REREAD = Counter(
    "newsflow_inputs_reread_total",
    "Input records faust skipped, read again from Kafka and processed.",
    ["topic"],
    registry=REGISTRY,
)
BUILD_INFO = Info("newsflow_build", "Newsflow and Kafka client versions.", registry=REGISTRY)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


BUILD_INFO.info(
    {
        "version": _version("newsflow"),
        "faust": _version("faust-streaming"),
        "aiokafka": _version("aiokafka"),
        "python": platform.python_version(),
    }
)


# Every (stage, outcome) a message can leave with, and the stages that reject.
OUTCOMES = (
    ("prepare", "tagged"),
    ("prepare", "rejected"),
    ("dedup", "clean"),
    ("dedup", "duplicate"),
    ("dedup", "near_duplicate"),
    ("dedup", "rejected"),
)
REJECTING_STAGES = ("prepare", "dedup")
EVICTION_REASONS = ("early", "aged")


def _initialise_series() -> None:
    """Export the known label combinations at 0 from the start.

    A counter series that first appears at 1 loses that increment in `rate()` and
    `increase()`, and a panel or alert over a missing series shows nothing at all.
    """
    for stage, outcome in OUTCOMES:
        MESSAGES.labels(stage, outcome)
    for stage in REJECTING_STAGES:
        for code in REJECTION_CODES:
            REJECTIONS.labels(stage, code)
    for reason in EVICTION_REASONS:
        DEDUP_EVICTIONS.labels(reason)


_initialise_series()


class BoundedLabel:
    """Keeps label cardinality bounded: the first `limit` values, then 'other'."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        value = value or "none"
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return "other"


LANGUAGE_LABEL = BoundedLabel(30)
SECTION_LABEL = BoundedLabel(20)
SOURCE_LABEL = BoundedLabel(50)


_LAG_SERIES: set[tuple[str, str]] = set()


def record_consumer_lag(
    consumer: Any, committed: Mapping[Any, int | None], topics: Collection[str]
) -> None:
    """Set the lag of the assigned partitions of `topics`, the worker's input topics,
    from their highwaters and the `committed` offsets.

    Changelog and assignor partitions are assigned to the consumer too, but the worker
    writes them and never commits them, so their "lag" grows forever; they are skipped.
    Series of partitions no longer assigned are removed, so a rebalance leaves no stale lag.
    """
    current: set[tuple[str, str]] = set()
    for tp in consumer.assignment():
        if tp.topic not in topics:
            continue
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        labels = (tp.topic, str(tp.partition))
        CONSUMER_LAG.labels(*labels).set(max(highwater - (committed.get(tp) or 0), 0))
        current.add(labels)
    for labels in _LAG_SERIES - current:
        try:
            CONSUMER_LAG.remove(*labels)
        except KeyError:
            pass
    _LAG_SERIES.clear()
    _LAG_SERIES.update(current)
