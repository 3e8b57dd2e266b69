"""Proposed runtime changes, applied by monkeypatch inside one benchmark worker process.

`python -m bench.stream_benchmark --variants patched-NAME` runs the real Service with
`register_agents` (or the loop) replaced, so a proposal's effect is measured on the real
broker before anyone edits service/. The agents below are copies of
service/runtime/agents.py with only the named change; they are measurement tools, not
production code (e.g. `single-hop` is only correct while one process owns dedup).

  send-soon   publish with `topic.send_soon` (no await, no per-message coroutine)
  single-hop  dedup right after tag in the raw agent: no tagged topic round trip
  overlap     prepare batch N+1 in the executor while batch N is published
  uvloop      the same agents on uvloop
  all         send-soon + single-hop + overlap + uvloop
  process-pool  prepare (clean + tag) in a 1-process pool (spawn): off the GIL, on the
              other core; boilerplate memory becomes a plain dict in the child
  inline      prepare on the event loop thread (no executor, no GIL hand-offs)
  switch-1ms  sys.setswitchinterval(0.001) (default 5 ms): shorter GIL convoys
  lean-index  the dedup `bands` store as a plain dict (no changelog): what 32 band
              writes per unique article cost on the loop
  lean-boilerplate  per-source boilerplate windows in a plain dict: what writing each
              source's whole window (~200 pages of line hashes) per batch costs
Join names with "." to combine them, e.g. `patched-inline.lean-index`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import Any

import faust

from service import metrics
from service.models import Origin, Rejected, TaggedArticle
from service.pipeline import Pipeline, Routed, dump
from service.runtime import agents as base
from service.runtime.app import Topics
from service.runtime.tables import WriteBehindStore
from service.settings import Settings

_CHILD: Pipeline | None = None


def _child_init() -> None:
    global _CHILD
    from service.stages.index import InMemoryDedupIndex

    _CHILD = Pipeline(Settings(), InMemoryDedupIndex(), {})


def _child_prepare(items: Sequence[tuple[bytes, Origin]]) -> list[TaggedArticle | Rejected]:
    assert _CHILD is not None
    return [_CHILD.prepare(payload, origin) for payload, origin in items]


def make_register(
    *, send_soon: bool, single_hop: bool, overlap: bool, executor_kind: str = "thread"
) -> Any:
    def register_agents(
        app: faust.App, topics: Topics, pipeline: Pipeline, settings: Settings,
        boilerplate: WriteBehindStore,
    ) -> None:
        executor: Any = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-clean")
        if executor_kind == "process":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            executor = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_child_init
            )

        def prepare_timed(items: Sequence[tuple[bytes, Origin]]) -> list[TaggedArticle | Rejected]:
            observe = metrics.STAGE_LATENCY.labels("prepare").observe
            results = []
            for payload, origin in items:
                started = time.perf_counter()
                results.append(pipeline.prepare(payload, origin))
                observe(time.perf_counter() - started)
            return results

        async def send(topic: faust.TopicT, key: bytes | None, value: bytes, ts: float) -> None:
            if send_soon:
                topic.send_soon(key=key, value=value, timestamp=ts)
            else:
                await topic.send(key=key, value=value, timestamp=ts)

        async def publish(routed: Routed, ts: float, stage: str) -> None:
            await send(topics.by_name[routed.topic], routed.key, routed.to_json(), ts)
            base.record_outcome(routed, stage, ts)

        async def emit(events: Sequence[Any], results: list[TaggedArticle | Rejected]) -> None:
            boilerplate.flush()
            for event, result in zip(events, results, strict=True):
                ts = event.message.timestamp
                if isinstance(result, Rejected):
                    await publish(pipeline.route_rejected(result), ts, "prepare")
                    continue
                base.record_cleaning(result)
                if single_hop:
                    await publish(pipeline.finish(result), ts, "dedup")
                    continue
                await send(topics.tagged, result.id.encode("utf-8"), dump(result), ts)
                metrics.MESSAGES.labels("prepare", "tagged").inc()

        @app.agent(topics.raw, name="newsflow.prepare")
        async def prepare(stream: faust.StreamT[bytes]) -> None:
            loop = asyncio.get_running_loop()
            batches = base._batches(stream, settings)
            if not overlap:
                async for events in batches:
                    items = [(base._payload(e), base.origin_of(e)) for e in events]
                    if executor_kind == "inline":
                        results = prepare_timed(items)
                    elif executor_kind == "process":
                        results = await loop.run_in_executor(executor, _child_prepare, items)
                    else:
                        results = await loop.run_in_executor(executor, prepare_timed, items)
                    await emit(events, results)
                return
            # Overlap: while batch N is published, batch N+1 is already being prepared.
            # (Batch N's events are acked when the next batch is taken: a crash between
            # the two may lose batch N's outputs, so production code must ack by hand.)
            pending: tuple[Sequence[Any], Future[Any]] | None = None
            async for events in batches:
                items = [(base._payload(e), base.origin_of(e)) for e in events]
                work = _child_prepare if executor_kind == "process" else prepare_timed
                future = executor.submit(work, items)
                if pending is not None:
                    await emit(pending[0], await asyncio.wrap_future(pending[1]))
                pending = (events, future)
                if not stream_has_more(stream):
                    await emit(events, await asyncio.wrap_future(future))
                    pending = None

        @app.agent(topics.tagged, name="newsflow.dedup")
        async def dedup(stream: faust.StreamT[bytes]) -> None:
            observe = metrics.STAGE_LATENCY.labels("dedup").observe
            async for events in base._batches(stream, settings):
                for event in events:
                    started = time.perf_counter()
                    routed = pipeline.finish_payload(base._payload(event), base.origin_of(event))
                    observe(time.perf_counter() - started)
                    await publish(routed, event.message.timestamp, "dedup")

    return register_agents


def stream_has_more(stream: faust.StreamT[bytes]) -> bool:
    """True when events are already buffered behind this batch (so keep overlapping)."""
    channel: Any = stream.channel
    queue = getattr(channel, "queue", None)
    return bool(queue is not None and queue.qsize())


def use_uvloop() -> None:
    import mode.loop

    mode.loop.use("uvloop")


def apply(spec: str, worker_module: ModuleType) -> None:
    """Apply one patch, or several joined by "." (e.g. "inline.lean-index")."""
    flags: dict[str, dict[str, Any]] = {
        "baseline": {},
        "send-soon": {"send_soon": True},
        "single-hop": {"single_hop": True},
        "overlap": {"overlap": True},
        "uvloop": {},
        "all": {"send_soon": True, "single_hop": True, "overlap": True},
        "process-pool": {"executor_kind": "process"},
        "inline": {"executor_kind": "inline"},
        "switch-1ms": {},
        "lean-index": {},
        "lean-boilerplate": {},
    }
    names = spec.split(".")
    unknown = [n for n in names if n not in flags]
    if unknown:
        raise SystemExit(f"unknown patch {unknown}; known: {sorted(flags)}")
    options: dict[str, Any] = {"send_soon": False, "single_hop": False, "overlap": False}
    for name in names:
        options.update(flags[name])
    worker_module.register_agents = make_register(**options)  # type: ignore[attr-defined]
    if "uvloop" in names or "all" in names:
        use_uvloop()
    if "switch-1ms" in names:
        import sys

        sys.setswitchinterval(0.001)
    if "lean-index" in names:
        make_tables = worker_module.make_dedup_tables

        def lean(app: faust.App, settings: Settings) -> dict[str, Any]:
            tables: dict[str, Any] = make_tables(app, settings)
            tables["bands"] = {}
            return tables

        worker_module.make_dedup_tables = lean  # type: ignore[attr-defined]
    if "lean-boilerplate" in names:
        # Learned chrome kept in a plain dict: no Table write of the whole 200-page window.
        worker_module.make_boilerplate_table = (  # type: ignore[attr-defined]
            lambda app, settings: {}
        )
