"""The faust patches: applied on import, and each does what its docstring says."""

from __future__ import annotations

from typing import Any

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


def test_table_recovery_waits_less_for_a_changelog_record(monkeypatch: Any) -> None:
    """faust's recovery loop asks for 5 s; it gets RECOVERY_IDLE_SECONDS. Its other waits,
    and asyncio itself, are untouched."""
    import asyncio

    from faust.tables import recovery as faust_recovery

    asked: list[float | None] = []

    async def wait_for(awaitable: Any, timeout: float | None) -> Any:
        asked.append(timeout)
        return await awaitable

    async def value() -> int:
        return 7

    async def run() -> list[int]:
        monkeypatch.setattr(asyncio, "wait_for", wait_for)
        wait = faust_recovery.asyncio.wait_for
        return [await wait(value(), timeout=5.0), await wait(value(), timeout=90.0)]

    assert faust_recovery.asyncio is not asyncio
    assert asyncio.run(run()) == [7, 7]
    assert asked == [compat.RECOVERY_IDLE_SECONDS, 90.0]
    assert faust_recovery.asyncio.Event is asyncio.Event


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
