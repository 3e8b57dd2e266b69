"""The dedup engine's state lives in changelog-backed Tables, so a worker killed with
SIGKILL and started again still knows every article it saw, and copies of them sent
after the restart never come out `unique`. Also: the window really forgets.

Every article carries its fetched_at (event time decides; an article without one is
stamped with the processing time, which a restart moves)."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from service.runtime.tail import Received
from support.kafka import (
    WorkerProcess,
    collect,
    isolated_env,
    lightly_edited,
    produce,
    settings_from,
    synthetic_article,
    synthetic_body,
    wait_outputs,
)

pytestmark = pytest.mark.integration

WINDOW = 3600
ORIGINALS = 1400


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def by_id(records: list[Received]) -> dict[str, dict[str, Any]]:
    """The final output per input id, by the README's consumer rule: a record with a
    `correction` supersedes every record without one (among corrections the later
    offset wins; an id's records share a partition number).

    A worker killed under at_least_once replays what it had not committed, and loses
    the state it wrote with it, so a replayed id may be decided again before its
    original's replay arrives, and be corrected again. So every uncorrected verdict of
    an id must be the same, or be one that a correction of that id names (as its new
    or its previous verdict)."""
    plain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    fixes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        assert "error" not in record.value, record.value["error"]
        value = {**record.value, "_topic": record.topic.rsplit(".", 1)[1]}
        (fixes if value.get("correction") else plain)[value["id"]].append(value)
    changed = []
    for article_id, published in plain.items():
        named = [fix["dedup"] for fix in fixes[article_id]]
        named += [fix["correction"]["previous"] for fix in fixes[article_id]]
        verdicts = [value["dedup"] for value in published]
        unexplained = [v for v in verdicts if v != verdicts[0] and v not in named]
        if unexplained:
            changed.append((article_id, verdicts, named))
    assert not changed, f"{len(changed)} replayed ids changed verdict, e.g. {changed[:3]}"
    out = {article_id: published[0] for article_id, published in plain.items()}
    out.update({article_id: fixed[-1] for article_id, fixed in fixes.items() if fixed})
    return out


def send(bootstrap: str, topic: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Keyed by story, so an original and its copies share a partition and keep order."""
    asyncio.run(produce(bootstrap, topic, [orjson.dumps(doc) for _, doc in items],
                        keys=[story.encode() for story, _ in items]))


def test_copies_after_sigkill_restart_are_never_unique(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random(5)
    env = isolated_env(kafka_bootstrap, NEWSFLOW_DEDUP__WINDOW_SECONDS=str(WINDOW))
    settings = settings_from(env)
    raw = settings.topics.raw
    texts = [synthetic_body(rng) for _ in range(ORIGINALS)]
    now = datetime.now(UTC)
    old = now - timedelta(seconds=2 * WINDOW)
    base = now - timedelta(seconds=WINDOW / 2)

    def doc(article_id: str, story: int, text: str, copy: int = 0, **kw: Any) -> dict[str, Any]:
        # Syndicated copies come from other sites, as they do in the wild; each copy is
        # fetched a minute after the one before it.
        kw.setdefault("fetched_at", iso(base + timedelta(seconds=story // 2 + 60 * copy)))
        return synthetic_article(article_id, text, source=f"site{(story + 7 * copy) % 97}.test",
                                 **kw)

    # Before the kill: 1,400 originals, 300 exact and 300 near copies (2,000 inputs).
    before: list[tuple[str, dict[str, Any]]] = []
    for i, text in enumerate(texts):
        extra: dict[str, Any] = {"fetched_at": iso(old)} if i == 0 else {}  # story 0 ages out
        before.append((f"s{i}", doc(f"o{i}", i, text, **extra)))
        if 1 <= i <= 300:
            before.append((f"s{i}", doc(f"x{i}", i, text, copy=1)))
        elif 300 < i <= 600:
            before.append((f"s{i}", doc(f"n{i}", i, lightly_edited(text, rng), copy=1)))
    assert len(before) == 2000

    # After the restart: more copies of stories seen before the kill, and fresh stories.
    after: list[tuple[str, dict[str, Any]]] = []
    for i in range(601, 1001):
        text = texts[i] if i <= 800 else lightly_edited(texts[i], rng)
        after.append((f"s{i}", doc(f"r{i}", i, text, copy=2)))
    for i in range(1, 101):
        after.append((f"s{i}", doc(f"y{i}", i, lightly_edited(texts[i], rng, 1), copy=3)))
    fresh = [(f"f{j}", doc(f"f{j}", 1400 + j, synthetic_body(rng))) for j in range(100)]
    after += fresh
    # Fetched now, more than WINDOW after story 0.
    after.append(("s0", doc("late0", 0, texts[0], copy=2, fetched_at=iso(now))))

    first = WorkerProcess(env, tmp_path / "worker-1.log").start()
    second = WorkerProcess(env, tmp_path / "worker-2.log")
    try:
        first.wait_ready()
        send(kafka_bootstrap, raw, before)
        wait_outputs(settings, len(before), timeout=180)
        first.kill(signal.SIGKILL)
        killed = time.monotonic()
        second.start()
        second.wait_ready()
        print(f"\n[dedup restart] SIGKILL -> ready with restored tables: "
              f"{time.monotonic() - killed:.1f}s")
        send(kafka_bootstrap, raw, after)
        records = asyncio.run(collect(settings, expected=len(before) + len(after), timeout=180))
    finally:
        first.kill()
        second.kill()

    out = by_id(records)
    missing = {d["id"] for _, d in before + after} - set(out)
    assert not missing, f"{len(missing)} inputs never came out, e.g. {sorted(missing)[:5]}"

    def status(article_id: str) -> str:
        return str(out[article_id]["dedup"]["status"])

    # Before the kill: originals unique, copies point at them.
    not_unique = [(i, out[f"o{i}"]["dedup"]) for i in range(ORIGINALS)
                  if status(f"o{i}") != "unique"]
    assert not not_unique, f"{len(not_unique)} originals not unique, e.g. {not_unique[:3]}"
    for i in range(1, 601):
        copy = out[f"x{i}" if i <= 300 else f"n{i}"]
        assert copy["dedup"]["duplicate_of"] == f"o{i}", copy["dedup"]
        assert copy["_topic"] == "duplicates"
        assert copy["dedup"]["status"] == ("duplicate" if i <= 300 else "near_duplicate")

    # After the restart: no copy of a story seen before the kill is unique.
    copies_after = [f"r{i}" for i in range(601, 1001)] + [f"y{i}" for i in range(1, 101)]
    unique_after = [a for a in copies_after if status(a) == "unique"]
    assert not unique_after, f"{len(unique_after)} copies unique after restart: {unique_after[:5]}"
    for i in range(601, 1001):
        assert out[f"r{i}"]["dedup"]["duplicate_of"] == f"o{i}"
        assert status(f"r{i}") == ("duplicate" if i <= 800 else "near_duplicate")
    assert all(status(f"f{j}") == "unique" for j in range(100)), "fresh stories stay unique"

    # The window forgets: story 0 was fetched 2 windows ago, so today's copy is new.
    assert status("late0") == "unique" and out["late0"]["_topic"] == "clean"
