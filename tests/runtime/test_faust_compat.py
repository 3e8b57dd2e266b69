"""The faust patches: applied on import, and each does what its docstring says."""

from __future__ import annotations

import asyncio
import types
import weakref
from typing import Any

from faust.tables import recovery as faust_recovery
from faust.transport.drivers import aiokafka as faust_aiokafka

from service.runtime import faust_compat as compat


class _Consumer:
    def __init__(self) -> None:
        self.asked: list[Any] = []

    def last_stable_offset(self, tp: Any) -> None:
        return None  # never fetched: what a fresh worker's consumer knows

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        self.asked.extend(partitions)
        return {tp: 42 for tp in partitions}


class _Thread:
    consumer_in_transaction = True

    def __init__(self) -> None:
        self.inner = _Consumer()

    def _ensure_consumer(self) -> _Consumer:
        return self.inner


async def test_recovery_highwaters_come_from_the_broker_even_under_exactly_once() -> None:
    assert faust_aiokafka.AIOKafkaConsumerThread._highwaters is (
        compat._highwaters_from_the_broker
    )
    thread = _Thread()
    got = await faust_aiokafka.AIOKafkaConsumerThread._highwaters(thread, ["changelog-0"])
    assert got == {"changelog-0": 42}, "not None from an unfetched partition's LSO"
    assert thread.inner.asked == ["changelog-0"]


class _Recovery:
    """What `_recovery_read_to_the_end` reads of faust's `Recovery`: one changelog
    partition applied to offset 7, its highwater 9 (the two left: markers, or not)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_recovery = True
        self.active_highwaters = {"changelog-0": 9}
        self.active_offsets = {"changelog-0": 7}


class _RecoveringApp:
    in_transaction = True

    def __init__(self, position: int | None) -> None:
        self.tables = types.SimpleNamespace(recovery=_Recovery(self))
        self.consumer = types.SimpleNamespace(position=self._position)
        self._at = position

    async def _position(self, tp: Any) -> int | None:
        return self._at


def _changelog_wait(monkeypatch: Any, app: Any, clear: bool,
                    arrives: bool) -> tuple[Any, list[Any]]:
    """faust's 5 s changelog wait, on an empty queue (or one whose record comes while
    recovery waits), with our reader saying whether anything committed is left."""
    asked: list[Any] = []

    async def nothing_committed_in(reader: Any, spans: Any) -> bool:
        asked.append(dict(spans))
        return clear

    monkeypatch.setattr(compat, "_nothing_committed_in", nothing_committed_in)
    monkeypatch.setattr(compat, "_RECOVERY_READERS", weakref.WeakKeyDictionary())
    monkeypatch.setattr(compat, "RECOVERY_QUIET_SECONDS", 0.01)
    monkeypatch.setattr(compat, "RECOVERY_IDLE_SECONDS", 0.05)
    compat.prove_recovery_ends(app, lambda: "reader")

    async def run() -> Any:
        queue: asyncio.Queue[str] = asyncio.Queue()
        if arrives:
            asyncio.get_running_loop().call_later(0.02, queue.put_nowait, "record")
        try:
            return await faust_recovery.asyncio.wait_for(queue.get(), timeout=5.0)
        except TimeoutError:
            return "timeout"

    return asyncio.run(run()), asked


def test_recovery_ends_on_the_first_quiet_wait_when_only_markers_are_left(
        monkeypatch: Any) -> None:
    app = _RecoveringApp(position=10)  # fetched past the highwater
    got, asked = _changelog_wait(monkeypatch, app, clear=True, arrives=False)
    assert got == "timeout"
    assert asked == [{"changelog-0": (7, 9)}], "our reader looked at offsets 8..9 only"
    assert app.tables.recovery.active_offsets == {"changelog-0": 9}, \
        "marked applied, so faust's need_recovery() is False on this very timeout"


def test_recovery_keeps_waiting_while_a_committed_record_is_left(monkeypatch: Any) -> None:
    app = _RecoveringApp(position=10)
    got, asked = _changelog_wait(monkeypatch, app, clear=False, arrives=True)
    assert got == "record", "the record still on its way is waited for, and returned"
    assert asked and app.tables.recovery.active_offsets == {"changelog-0": 7}


def test_recovery_asks_no_reader_before_its_consumer_fetched_past_the_end(
        monkeypatch: Any) -> None:
    app = _RecoveringApp(position=9)  # offset 9 not fetched yet
    got, asked = _changelog_wait(monkeypatch, app, clear=True, arrives=False)
    assert got == "timeout" and asked == []
    assert app.tables.recovery.active_offsets == {"changelog-0": 7}


def test_faust_s_other_waits_and_asyncio_are_untouched(monkeypatch: Any) -> None:
    asked: list[float | None] = []

    async def wait_for(awaitable: Any, timeout: float | None) -> Any:
        asked.append(timeout)
        return await awaitable

    async def value() -> int:
        return 7

    async def run() -> int:
        monkeypatch.setattr(asyncio, "wait_for", wait_for)
        return await faust_recovery.asyncio.wait_for(value(), timeout=90.0)

    assert faust_recovery.asyncio is not asyncio
    assert asyncio.run(run()) == 7
    assert asked == [90.0]
    assert faust_recovery.asyncio.Event is asyncio.Event


def test_table_manager_starts_recovery_without_a_sleep() -> None:
    from faust.tables import manager as faust_manager

    assert faust_manager.TableManager.on_start is compat._table_manager_on_start


def test_private_faust_state_is_touched_only_here() -> None:
    """No other module that deals with faust or aiokafka objects (imports them, or is
    handed them: the runtime and the metrics it records) reads a private attribute of
    someone else's object (`x._name`, or getattr(x, "_name")): faust_compat is the one
    list of what we depend on."""
    import ast
    from pathlib import Path

    root = Path(compat.__file__).parents[1]
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        touches = "faust" in source or "aiokafka" in source or path.parent.name == "runtime"
        if path.name == "faust_compat.py" or not touches:
            continue
        for node in ast.walk(ast.parse(source)):
            name = None
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    name = node.attr
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "getattr" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant) \
                    and str(node.args[1].value).startswith("_"):
                name = str(node.args[1].value)
            if name is not None:
                line = getattr(node, "lineno", 0)
                found.append(f"{path.relative_to(root.parent)}:{line} {name}")
    assert not found, found


class _Sent:
    """A changelog send's acknowledged future (what faust hands `_on_changelog_sent`)."""

    def __init__(self, tp: Any, offset: int) -> None:
        self.metadata = types.SimpleNamespace(topic_partition=tp, offset=offset)

    def result(self) -> Any:
        return self.metadata


def test_a_rocksdb_table_holds_to_an_offset_only_while_its_writes_follow_on(
    tmp_path: Any, caplog: Any
) -> None:
    """A write acknowledged after records of another writer (a paused worker resuming
    while the partition's new owner writes) must not move the offset the database says
    it holds everything up to: the next restore reads from there, and gets them."""
    import faust
    from faust.types import TP

    app = faust.App("compat-rocksdb", store="rocksdb://", datadir=str(tmp_path),
                    processing_guarantee="at_least_once")
    table: Any = app.Table("probes", partitions=4)
    tp = TP(table.changelog_topic.get_topic_name(), 1)
    held = []
    for offset in (0, 1, 2, 5, 6):  # 3 and 4: another worker's writes
        table._on_changelog_sent(_Sent(tp, offset))
        held.append(table.data.persisted_offset(tp))
    assert held == [0, 1, 2, 2, 2]
    assert "another worker wrote to a changelog partition" in caplog.text
    # What recovery applies sets it as before: the database then holds through 6.
    table.data.set_persisted_offset(tp, 6)
    table._on_changelog_sent(_Sent(tp, 7))
    assert table.data.persisted_offset(tp) == 7
    other = TP(tp.topic, 2)  # a partition's database is its own
    assert table.data.persisted_offset(other) is None


def test_memory_tables_keep_faust_s_changelog_callback(monkeypatch: Any) -> None:
    import faust
    from faust.types import TP

    called = []
    monkeypatch.setattr(compat, "_FAUST_ON_CHANGELOG_SENT",
                        lambda table, fut: called.append(fut.result().offset))
    app = faust.App("compat-memory", store="memory://")
    table: Any = app.Table("probes", partitions=4)
    table._on_changelog_sent(_Sent(TP(table.changelog_topic.get_topic_name(), 0), 9))
    assert called == [9]
