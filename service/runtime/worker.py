"""Build the streaming service: app, topics, tables, agents and the web endpoints."""

from __future__ import annotations

import asyncio

import faust
from prometheus_client import generate_latest

from service import metrics
from service.memory import freeze_startup_objects
from service.pipeline import Pipeline
from service.runtime import faust_compat
from service.runtime.admin import ensure_topics
from service.runtime.agents import register_agents
from service.runtime.app import Topics, make_app, make_topics
from service.runtime.commits import CommitGate
from service.runtime.dedup import DedupAgents
from service.runtime.delivery import Delivery
from service.runtime.tables import Guarded, make_boilerplate_table
from service.settings import Settings

# aiohttp sets the charset itself and refuses one inside content_type.
_EXPOSITION = "text/plain; version=0.0.4"


class Service:
    """Everything the worker runs, wired once from `Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: faust.App = make_app(settings)
        self.topics: Topics = make_topics(self.app, settings)
        self.boilerplate = make_boilerplate_table(self.app, settings)
        self.pipeline = Pipeline(settings, Guarded(self.boilerplate))
        self.delivery = Delivery()
        register_agents(self.app, self.topics, self.pipeline, settings, self.delivery)
        self.dedup = DedupAgents(self.app, self.topics, self.pipeline, settings, self.delivery)
        self.gate = CommitGate.of(self.app)
        metrics.OLDEST_UNCOMMITTED.set_function(self.stalled_for)
        self._register_pages()

    def stalled_for(self) -> float:
        """How long processed input has waited for its commit (see CommitGate)."""
        consumer = self.app.consumer
        try:
            assigned = consumer.assignment()
        except Exception:  # noqa: BLE001 - no consumer yet: nothing processed either
            return 0.0
        return self.gate.stalled_for(faust_compat.committed_offsets(consumer), assigned)

    def state(self) -> str:
        """Why the worker is not ready, or "ready": what /readyz says, so an operator (and
        the fault harness, which kills a worker in the middle of one) can tell them apart."""
        app = self.app
        if app.in_recovery:  # restoring Tables; faust's `rebalancing` stays set meanwhile
            return "recovering"
        if app.rebalancing:
            return "rebalancing"
        if self.delivery.stalled_topics() or self.stalled_for() > self.settings.stall_seconds:
            return "stalled"  # committing nothing: a supervisor should restart it
        try:
            assigned = bool(app.consumer.assignment())
        except Exception:  # noqa: BLE001 - no consumer yet means not ready
            return "starting"
        recovery = getattr(app.tables, "recovery", None)
        if recovery is None or not recovery.completed.is_set():
            return "recovering" if assigned else "starting"
        if not assigned:
            return "starting"
        if self.dedup.restoring():  # Tables applied; the in-memory dedup index not yet
            return "restoring"
        return "ready"

    def is_ready(self) -> bool:
        return self.state() == "ready"

    def _register_pages(self) -> None:
        app = self.app

        @app.page("/healthz")
        async def healthz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            return web.json({"status": "ok"})

        @app.page("/readyz")
        async def readyz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            state = self.state()
            ready = state == "ready"
            metrics.READY.set(1 if ready else 0)
            return web.json({"ready": ready, "state": state}, status=200 if ready else 503)

        @app.page("/metrics")
        async def scrape(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
            metrics.READY.set(1 if self.is_ready() else 0)
            return web.bytes(generate_latest(metrics.REGISTRY), content_type=_EXPOSITION)


def run_worker(settings: Settings) -> None:
    # faust only subscribes to topics that exist; create ours with their partition counts
    # first, so the first assignment already covers them.
    asyncio.run(ensure_topics(settings))
    service = Service(settings)
    freeze_startup_objects()
    worker = faust.Worker(
        service.app,
        loglevel=settings.log_level,
        override_logging=False,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()
