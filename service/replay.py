"""`newsflow replay`: put dead letters back through the pipeline once their cause is fixed.

It reads the rejected topic up to its end at the start of the run (read_committed, so
it never chases the dead letters its own replays may cause), keeps those that pass the
filters (reason code, `received_at` range, origin topic and partition), and publishes each
one's original payload to the raw topic.

- **Once.** Every replay is recorded in a compacted ledger topic (`<rejected>.replays`,
  keyed by the dead letter's topic/partition/offset), in the same Kafka transaction as
  the replayed message. A dead letter in the ledger is never replayed again, whatever the
  filters of a later run, and a run that dies midway leaves no replay half-recorded.
- **No loops.** A replayed message carries the header `newsflow-replays` (1 for the first
  replay of an input, n + 1 for a replay of a dead letter its n-th replay caused). The
  worker does not copy headers into dead letters, so the count of a new dead letter is
  found through the ledger, which maps each raw position it published to its count. At
  `max_replays` the dead letter is refused (`max_replays` in the report).
- **Whole payloads only.** A dead letter whose payload is a prefix (`payload_truncated`)
  is refused and reported, never replayed as if whole; so is one whose payload does not
  match its `payload_sha256`.
- **Raw input only, by default.** Only dead letters that the worker read from the raw
  topic are replayed unless `origin_topics` names others: a dead letter of a later stage
  holds an internal record, and one written by `newsflow process` or `produce` (origin: a
  file) holds what the file held, such as a WARC record.

`--dry-run` reads the same way and reports what a run would do, by reason code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from pydantic import ValidationError

from service.models import Rejected
from service.runtime.admin import ensure_topics
from service.runtime.security import aiokafka_kwargs, committed_reader
from service.settings import Settings

REPLAYS_HEADER = "newsflow-replays"
REPLAY_OF_HEADER = "newsflow-replay-of"
DEFAULT_MAX_REPLAYS = 3
# Replays per Kafka transaction.
_BATCH = 500

Outcome = Literal[
    "replay",  # would be / was replayed
    "already_replayed",  # in the ledger: replayed by an earlier run
    "truncated",  # refused: the payload is a prefix of the original
    "corrupt",  # refused: the payload does not match its sha256, or is not a dead letter
    "max_replays",  # refused: replayed max_replays times already
    "filtered",  # not selected by reason, time range or origin
]


@dataclass(frozen=True, slots=True)
class Filters:
    reasons: frozenset[str] = frozenset()  # empty: every reason
    since: datetime | None = None  # received_at >= since
    until: datetime | None = None  # received_at < until
    origin_topics: frozenset[str] = frozenset()  # empty: the raw topic only
    origin_partitions: frozenset[int] = frozenset()  # empty: every partition

    def selects(self, dead: Rejected, raw_topic: str) -> bool:
        if self.reasons and dead.error.code not in self.reasons:
            return False
        if self.since is not None and dead.received_at < self.since:
            return False
        if self.until is not None and dead.received_at >= self.until:
            return False
        topics = self.origin_topics or {raw_topic}
        if dead.origin.topic not in topics:
            return False
        return not self.origin_partitions or dead.origin.partition in self.origin_partitions


@dataclass(slots=True)
class Report:
    """What a run did (or, dry, would do): counts by outcome and by reason code."""

    dry_run: bool
    read: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_reason: dict[str, Counter[str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # "topic:partition:offset reason"

    def add(self, reason: str, outcome: str, position: str | None = None) -> None:
        self.outcomes[outcome] += 1
        self.by_reason.setdefault(reason, Counter())[outcome] += 1
        if outcome in ("truncated", "corrupt", "max_replays") and position is not None:
            self.refused.append(f"{position} {reason} {outcome}")

    @property
    def replayed(self) -> int:
        return self.outcomes["replay"]

    def lines(self, limit: int = 20) -> list[str]:
        verb = "would replay" if self.dry_run else "replayed"
        out = [f"read {self.read} dead letters; {verb} {self.replayed}"]
        columns = ("replay", "already_replayed", "truncated", "corrupt", "max_replays", "filtered")
        out.append("reason\t" + "\t".join(columns))
        for reason in sorted(self.by_reason):
            counts = self.by_reason[reason]
            out.append(reason + "\t" + "\t".join(str(counts[c]) for c in columns))
        for line in self.refused[:limit]:
            out.append(f"refused {line}")
        if len(self.refused) > limit:
            out.append(f"refused ... and {len(self.refused) - limit} more")
        return out


@dataclass(frozen=True, slots=True)
class DeadLetter:
    position: str  # "topic:partition:offset" of the dead letter
    value: Rejected


@dataclass(frozen=True, slots=True)
class Plan:
    """A dead letter to replay: its payload, and the count its replay will carry."""

    dead: DeadLetter
    payload: bytes
    count: int


def ledger_topic(settings: Settings) -> str:
    return f"{settings.topics.rejected}.replays"


def position(topic: str, partition: int | None, offset: int | None) -> str:
    return f"{topic}:{partition}:{offset}"


@dataclass(slots=True)
class Ledger:
    """Which dead letters were replayed, and the replay count of each raw position."""

    replayed: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, entry: dict[str, Any]) -> None:
        self.replayed.add(key)
        if entry.get("raw"):
            self.counts[str(entry["raw"])] = int(entry.get("count", 1))

    def count_of(self, dead: Rejected) -> int:
        """How many replays led to this dead letter's input (0: an original input)."""
        origin = dead.origin
        if origin.topic is None or origin.offset is None:
            return 0
        return self.counts.get(position(origin.topic, origin.partition, origin.offset), 0)


def decide(
    dead: DeadLetter, filters: Filters, ledger: Ledger, raw_topic: str, max_replays: int
) -> tuple[Outcome, Plan | None]:
    """What to do with one dead letter: pure, so the dry run and the run agree."""
    value = dead.value
    if not filters.selects(value, raw_topic):
        return "filtered", None
    if dead.position in ledger.replayed:
        return "already_replayed", None
    if value.payload_truncated:
        return "truncated", None
    payload = original_payload(value)
    if payload is None or hashlib.sha256(payload).hexdigest() != value.payload_sha256:
        return "corrupt", None
    count = ledger.count_of(value)
    if count >= max_replays:
        return "max_replays", None
    return "replay", Plan(dead, payload, count + 1)


def original_payload(value: Rejected) -> bytes | None:
    if value.payload_encoding == "utf-8":
        return value.payload.encode("utf-8")
    try:
        return base64.b64decode(value.payload, validate=True)
    except ValueError:
        return None


def _key(payload: bytes) -> bytes | None:
    """The scraper's id, the key `newsflow produce` gives a line."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"]).encode("utf-8")
    return None


async def _read_to_end(
    settings: Settings, topic: str, timeout: float
) -> AsyncIterator[tuple[str, int, int, bytes | None, bytes | None]]:
    """Every committed record of `topic` up to its end offsets at the start: (topic,
    partition, offset, key, value), streamed."""
    consumer = committed_reader(settings)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(settings, topic)]
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # read_committed: the end is the last stable offset, so an open transaction of the
        # worker does not hold the run back; its dead letters are for the next run.
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout:.0f}s")
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=2000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        yield tp.topic, tp.partition, message.offset, message.key, message.value
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()


async def _partitions(settings: Settings, topic: str) -> list[int]:
    """The topic's partitions (none when it does not exist), without creating it."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **aiokafka_kwargs(settings)
    )
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        return []
    return sorted(p["partition"] for p in described["partitions"])


async def _ensure_ledger(settings: Settings, name: str) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **aiokafka_kwargs(settings)
    )
    await admin.start()
    try:
        if name in set(await admin.list_topics()):
            return
        topic = NewTopic(
            name,
            num_partitions=1,
            replication_factor=settings.topics.replication_factor,
            topic_configs={"cleanup.policy": "compact"},
        )
        try:
            await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()


async def read_ledger(settings: Settings, name: str, timeout: float) -> Ledger:
    ledger = Ledger()
    async for _, _, _, key, value in _read_to_end(settings, name, timeout):
        if key is not None and value is not None:  # compaction keeps the last per key
            ledger.add(key.decode("utf-8", "replace"), orjson.loads(value))
    return ledger


async def replay(
    settings: Settings,
    filters: Filters,
    *,
    max_replays: int = DEFAULT_MAX_REPLAYS,
    dry_run: bool = False,
    target: str | None = None,
    timeout: float = 300.0,
) -> Report:
    """Replay the selected dead letters (or, `dry_run`, say what would be replayed)."""
    raw = settings.topics.raw
    target = target or raw
    ledger_name = ledger_topic(settings)
    if not dry_run:
        await ensure_topics(settings)
        await _ensure_ledger(settings, ledger_name)
    ledger = await read_ledger(settings, ledger_name, timeout)
    report = Report(dry_run=dry_run)
    publisher = None if dry_run else _Publisher(settings, target, ledger_name)
    try:
        async for topic, partition, offset, _, value in _read_to_end(
            settings, settings.topics.rejected, timeout
        ):
            report.read += 1
            where = position(topic, partition, offset)
            try:
                dead = DeadLetter(where, Rejected.model_validate_json(value or b""))
            except ValidationError:
                report.add("(not a dead letter)", "corrupt", where)
                continue
            outcome, plan = decide(dead, filters, ledger, raw, max_replays)
            report.add(dead.value.error.code, outcome, where)
            if plan is not None and publisher is not None:
                await publisher.add(plan)
        if publisher is not None:
            await publisher.flush()
    finally:
        if publisher is not None:
            await publisher.stop()
    return report


class _Publisher:
    """Replays in transactions of up to _BATCH, each with its ledger entries."""

    def __init__(self, settings: Settings, target: str, ledger: str) -> None:
        self.settings, self.target, self.ledger = settings, target, ledger
        self.pending: list[Plan] = []
        self.producer: AIOKafkaProducer | None = None

    async def add(self, plan: Plan) -> None:
        self.pending.append(plan)
        if len(self.pending) >= _BATCH:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        if self.producer is None:
            self.producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                **aiokafka_kwargs(self.settings),
                # One id for every run: a new run fences a dead one and aborts what it left open.
                transactional_id=f"{self.settings.app_id}-replay",
                enable_idempotence=True,
                max_request_size=16 * 1024 * 1024,
                linger_ms=5,
            )
            await self.producer.start()
        producer = self.producer
        async with producer.transaction():
            futures = []
            for plan in self.pending:
                headers = [
                    (REPLAYS_HEADER, str(plan.count).encode()),
                    (REPLAY_OF_HEADER, plan.dead.position.encode()),
                ]
                futures.append(
                    await producer.send(
                        self.target, plan.payload, key=_key(plan.payload), headers=headers
                    )
                )
            for plan, sent in zip(self.pending, await asyncio.gather(*futures), strict=True):
                entry = {
                    "raw": position(self.target, sent.partition, sent.offset),
                    "count": plan.count,
                    "reason": plan.dead.value.error.code,
                    "replayed_at": time.time(),
                }
                await producer.send(
                    self.ledger, orjson.dumps(entry), key=plan.dead.position.encode()
                )
        self.pending.clear()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()
