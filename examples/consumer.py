"""A downstream consumer of Newsflow: articles into SQLite, corrections applied.

    pip install aiokafka
    python examples/consumer.py --bootstrap localhost:9092 --db articles.db

It reads `articles.clean` and `articles.duplicates` with `isolation_level=read_committed`
(a worker's aborted transactions never reach it) and upserts every article by `id`:

- a record with a `correction` replaces any record of that id without one, whatever
  order the two topics deliver them in; among corrections of an id (they share a
  partition of `articles.duplicates`), the later offset wins;
- a record without a `correction` replaces only another without one (a worker that
  restarts under at_least_once may publish a first verdict again: it is the same).

The table holds each id's final verdict: the same verdicts `newsflow process` writes
for the same input. Offsets are kept in the same SQLite transaction as the rows they
produced, so a consumer killed at any point resumes exactly where its table is, with no
record applied twice or lost; the consumer group is used for partition assignment only.

Stdlib and aiokafka only, so it can be copied out of this repository as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- unique, duplicate, near_duplicate
    duplicate_of TEXT,
    similarity REAL,
    corrected INTEGER NOT NULL,      -- 1: the verdict came from a correction
    topic TEXT NOT NULL,             -- where the winning record was read
    partition INTEGER NOT NULL,
    "offset" INTEGER NOT NULL,
    url TEXT,
    title TEXT,
    language TEXT,
    section TEXT,
    record TEXT NOT NULL             -- the whole Article, as JSON
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic TEXT NOT NULL,
    partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);
"""

# The correction rule as one upsert: a correction beats a non-correction; between two
# corrections the later offset wins; between two non-corrections the newer one is kept.
UPSERT = """
INSERT INTO articles (id, status, duplicate_of, similarity, corrected, topic, partition,
                      "offset", url, title, language, section, record)
VALUES (:id, :status, :duplicate_of, :similarity, :corrected, :topic, :partition,
        :offset, :url, :title, :language, :section, :record)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status, duplicate_of = excluded.duplicate_of,
    similarity = excluded.similarity, corrected = excluded.corrected,
    topic = excluded.topic, partition = excluded.partition, "offset" = excluded."offset",
    url = excluded.url, title = excluded.title, language = excluded.language,
    section = excluded.section, record = excluded.record
WHERE excluded.corrected > articles.corrected
   OR (excluded.corrected = 0 AND articles.corrected = 0)
   OR (excluded.corrected = 1 AND articles.corrected = 1
       AND (excluded.topic, excluded.partition, excluded."offset")
           > (articles.topic, articles.partition, articles."offset"))
"""


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def row(topic: str, partition: int, offset: int, article: dict[str, Any]) -> dict[str, Any]:
    dedup = article.get("dedup") or {}
    return {
        "id": article["id"],
        "status": dedup.get("status"),
        "duplicate_of": dedup.get("duplicate_of"),
        "similarity": dedup.get("similarity"),
        "corrected": 1 if article.get("correction") else 0,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "url": article.get("url"),
        "title": article.get("title"),
        "language": (article.get("language") or {}).get("code"),
        "section": (article.get("section") or {}).get("name"),
        "record": json.dumps(article, ensure_ascii=False),
    }


def apply(db: sqlite3.Connection, topic: str, partition: int,
          messages: Iterable[tuple[int, bytes | None]]) -> int:
    """Upsert one partition's batch and store its next offset, in one transaction."""
    applied, last = 0, None
    with db:  # BEGIN ... COMMIT (or ROLLBACK on an exception)
        for offset, value in messages:
            last = offset
            if not value:
                continue
            article = json.loads(value)
            if "id" not in article or "dedup" not in article:
                continue  # not an Article (e.g. a dead letter if you subscribed to those)
            db.execute(UPSERT, row(topic, partition, offset, article))
            applied += 1
        if last is not None:
            db.execute(
                "INSERT INTO consumer_offsets VALUES (?, ?, ?) ON CONFLICT (topic, partition)"
                " DO UPDATE SET next_offset = excluded.next_offset",
                (topic, partition, last + 1),
            )
    return applied


class SeekToStored(ConsumerRebalanceListener):
    """On assignment, start each partition where the table says, else at the beginning."""

    def __init__(self, consumer: AIOKafkaConsumer, db: sqlite3.Connection) -> None:
        self.consumer, self.db = consumer, db

    async def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in assigned:
            stored = self.db.execute(
                "SELECT next_offset FROM consumer_offsets WHERE topic = ? AND partition = ?",
                (tp.topic, tp.partition),
            ).fetchone()
            if stored:
                self.consumer.seek(tp, stored[0])
            else:
                await self.consumer.seek_to_beginning(tp)


async def consume(bootstrap: str, topics: list[str], db_path: str, group: str,
                  idle_exit: float | None = None) -> int:
    """Consume until stopped (or `idle_exit` seconds with nothing new); return how many
    articles were applied."""
    db = open_db(db_path)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        isolation_level="read_committed",
        enable_auto_commit=False,  # the offsets live in SQLite, with the rows
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    consumer.subscribe(topics, listener=SeekToStored(consumer, db))
    await consumer.start()
    applied, last_seen = 0, time.monotonic()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
            for tp, messages in batches.items():
                applied += apply(db, tp.topic, tp.partition,
                                 ((m.offset, m.value) for m in messages))
                last_seen = time.monotonic()
            if idle_exit is not None and not batches and consumer.assignment() \
                    and time.monotonic() - last_seen > idle_exit:
                return applied
    finally:
        await consumer.stop()
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP",
                                                              "localhost:9092"))
    parser.add_argument("--topics", nargs="+", default=["articles.clean", "articles.duplicates"])
    parser.add_argument("--db", default="articles.db")
    parser.add_argument("--group", default="newsflow-sqlite-example")
    parser.add_argument("--idle-exit", type=float, default=None,
                        help="exit after this many seconds with nothing new (default: run on)")
    args = parser.parse_args()
    applied = asyncio.run(consume(args.bootstrap, args.topics, args.db, args.group,
                                  args.idle_exit))
    db = sqlite3.connect(args.db)
    counts = dict(db.execute("SELECT status, count(*) FROM articles GROUP BY status"))
    corrected = db.execute("SELECT count(*) FROM articles WHERE corrected = 1").fetchone()[0]
    print(f"applied {applied} records; table: {counts}, {corrected} from corrections")


if __name__ == "__main__":
    main()
