"""decode → clean → tag → dedup → route, shared by `newsflow process` and the worker.

The pipeline turns every input into exactly one `(topic, record)`: an article for
`articles.clean` or `articles.duplicates`, or a dead letter for `articles.rejected`.
It records no metrics and knows no Kafka; the callers do that at the edges.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from service.errors import (
    InfrastructureError,
    PayloadTooLarge,
    ProcessingFailed,
    Rejection,
    SchemaViolation,
)
from service.models import (
    Article,
    CorrectionInfo,
    ErrorInfo,
    Origin,
    Rejected,
    TaggedArticle,
    utcnow,
)
from service.settings import Settings, TagConfig
from service.stages.clean import BoilerplateMemory, clean, decode
from service.stages.dedup import Correction, LocalDedup, Probe, make_probe
from service.stages.tag import Tagger, load_model

logger = logging.getLogger(__name__)

# A clean record must fit Kafka's default message.max.bytes (about 1 MB). The worker's
# producer accepts 16 MiB (service/runtime/app.py), but a cluster left at the default
# refuses more, so an article whose record would not fit is dead-lettered instead. The
# margin covers the dedup verdict added after this check.
MAX_RECORD_BYTES = 900_000
# Dead-letter messages stay short whatever an exception carries.
MAX_ERROR_MESSAGE_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Routed:
    """Where one input ends up; `key` is the Kafka key to publish it with."""

    topic: str
    value: Article | Rejected
    key: bytes | None = None

    def to_json(self) -> bytes:
        return dump(self.value)


def dump(record: BaseModel) -> bytes:
    return orjson.dumps(record.model_dump())


class Pipeline:
    """The stage functions with their configuration and state bound once."""

    def __init__(
        self,
        settings: Settings,
        boilerplate: MutableMapping[str, Any] | None = None,
        now: datetime | None = None,
        prepares: bool = True,
    ) -> None:
        """`prepares=False` for a process that only finishes what prepare jobs made
        (`newsflow process --jobs`): its tagger, and the models behind it, are loaded
        only if it ever prepares. Otherwise they load here, so a bad model fails the
        start rather than every record."""
        self.settings = settings
        self.topics = settings.topics
        self._tagger = make_tagger(settings.tag) if prepares else None
        # Per-source learned chrome: a dict in batch mode, a Table-backed store in the worker.
        self.memory = BoilerplateMemory({} if boilerplate is None else boilerplate, settings.clean)
        # The dedup engine in one process (batch mode); the worker spreads the same engine
        # over partitions (service/runtime/dedup.py) and never calls `finish`.
        self.dedup = LocalDedup(settings.dedup)
        # The event time of an article without fetched_at (and the cap on future ones):
        # one instant for a whole batch run, so ties fall to the id, not to the clock.
        self.now = now

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            self._tagger = make_tagger(self.settings.tag)
        return self._tagger

    def prepare(self, payload: bytes, origin: Origin) -> TaggedArticle | Rejected:
        """The stateless part: decode, clean and tag, or a dead letter."""
        try:
            raw = decode(payload, self.settings.decode)
            cleaned = clean(raw, self.settings.clean, self.memory)
            return within_record_limit(self.tagger.tag(cleaned))
        except Rejection as rejection:
            return self.reject(payload, origin, rejection)
        except InfrastructureError:
            raise  # not the record's fault: the caller retries it
        except Exception as exc:  # noqa: BLE001 - one input must never stop the stream
            logger.exception("unexpected error at %s", origin.model_dump(exclude_none=True))
            return self.reject(payload, origin, ProcessingFailed(f"{type(exc).__name__}: {exc}"))

    def finish(self, article: TaggedArticle, probe: Probe | None = None) -> Routed:
        """The stateful part: dedup against everything seen, then pick the output topic.
        `probe` is the article's dedup probe when a prepare job made it already."""
        verdict = self.dedup.deduplicate(article, self.now, probe)
        result = Article(**dict(article), dedup=verdict, processed_at=utcnow())
        topic = self.topics.clean if verdict.status == "unique" else self.topics.duplicates
        return Routed(topic=topic, value=result, key=result.id.encode("utf-8"))

    def probe(self, article: TaggedArticle) -> Probe | None:
        """The dedup probe `finish` would make first (its CPU-heavy part), for a prepare
        job to make beside `prepare`; None when it fails, and `finish` makes it again."""
        try:
            return make_probe(article, self.settings.dedup, self.now)
        except Exception:  # noqa: BLE001 - finish meets the same input and handles it
            return None

    def finish_payload(self, payload: bytes, origin: Origin) -> Routed:
        """`finish` for a tagged record read back off the internal topic."""
        try:
            article = TaggedArticle.model_validate_json(payload)
        except ValidationError as exc:
            return self.route_rejected(self.reject(payload, origin, SchemaViolation(str(exc))))
        try:
            return self.finish(article)
        except Exception as exc:  # noqa: BLE001 - one input must never stop the stream
            logger.exception("unexpected dedup error at %s", origin.model_dump(exclude_none=True))
            failure = ProcessingFailed(f"{type(exc).__name__}: {exc}")
            return self.route_rejected(self.reject(payload, origin, failure))

    def process(self, payload: bytes, origin: Origin) -> Routed:
        prepared = self.prepare(payload, origin)
        if isinstance(prepared, Rejected):
            return self.route_rejected(prepared)
        return self.finish(prepared)

    def route_rejected(self, rejected: Rejected) -> Routed:
        return Routed(topic=self.topics.rejected, value=rejected)

    def reject(self, payload: bytes, origin: Origin, rejection: Rejection) -> Rejected:
        logger.debug(
            "rejected",
            extra={"code": rejection.code, **origin.model_dump(exclude_none=True, mode="json")},
        )
        return make_rejected(
            payload, origin, rejection, self.settings.decode.rejected_payload_max_bytes
        )


def make_tagger(cfg: TagConfig) -> Tagger:
    """The tagger, with the trained section model when `cfg.section_model` names one
    (scikit-learn is imported only then)."""
    model = None if cfg.section_model is None else load_model(cfg.section_model)
    return Tagger(cfg, model=model)


def within_record_limit(article: TaggedArticle) -> TaggedArticle:
    # At most 4 bytes per character: only a long body is worth encoding twice to measure.
    if len(article.text) * 4 < MAX_RECORD_BYTES // 2:
        return article
    size = len(dump(article))
    if size > MAX_RECORD_BYTES:
        raise PayloadTooLarge(f"the cleaned article is {size} bytes, over {MAX_RECORD_BYTES}")
    return article


def make_rejected(payload: bytes, origin: Origin, rejection: Rejection, max_bytes: int) -> Rejected:
    """Keep the original bytes, or a prefix plus size and sha256 when too large to republish."""
    truncated = len(payload) > max_bytes
    kept = payload[:max_bytes] if truncated else payload
    text = _utf8_or_none(kept, may_end_mid_character=truncated)
    encoded: dict[str, Any] = (
        {"payload": text, "payload_encoding": "utf-8"}
        if text is not None
        else {"payload": base64.b64encode(kept).decode("ascii"), "payload_encoding": "base64"}
    )
    return Rejected(
        error=ErrorInfo(code=rejection.code, message=rejection.detail[:MAX_ERROR_MESSAGE_CHARS]),
        payload_size=len(payload),
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_truncated=truncated,
        origin=origin,
        **encoded,
    )


def _utf8_or_none(data: bytes, *, may_end_mid_character: bool) -> str | None:
    # A prefix may cut through a multi-byte character; that is not the input's fault.
    for cut in range(4 if may_end_mid_character else 1):
        try:
            return data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def corrected(routed: Routed, correction: Correction, topic: str) -> Routed:
    """The article re-published with its new verdict and `correction`."""
    assert isinstance(routed.value, Article)
    value = routed.value.model_copy(
        update={
            "dedup": correction.verdict.dedup(),
            "correction": CorrectionInfo(
                reason=correction.reason,
                previous=None if correction.previous is None else correction.previous.dedup(),
            ),
        }
    )
    return Routed(topic=topic, value=value, key=routed.key)
