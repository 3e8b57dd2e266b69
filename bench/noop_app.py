"""faust's no-op passthrough: the streaming benchmarks' reference worker.

    NEWSFLOW_... python -m bench.noop_app

Same `make_app(settings)` as the real worker (same producer linger, buffer sizes,
timeouts), one agent that consumes the raw topic and produces the same key, bytes and
timestamp to the clean topic, one `await topic.send` per message: the idiomatic faust
agent. Whatever the real worker loses against this is our code, not faust's floor.
`/readyz` answers 200 once the consumer has an assignment, like the real worker's.
"""

from __future__ import annotations

import asyncio

import faust

from service.runtime.admin import ensure_topics
from service.runtime.app import make_app, make_topics
from service.settings import Settings


def build(settings: Settings) -> faust.App:
    app = make_app(settings)
    topics = make_topics(app, settings)

    @app.agent(topics.raw, name="bench.noop")
    async def passthrough(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await topics.clean.send(
                key=event.key, value=event.value, timestamp=event.message.timestamp
            )

    @app.page("/readyz")
    async def readyz(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        try:
            ready = bool(app.consumer.assignment()) and not app.rebalancing
        except Exception:  # noqa: BLE001 - no consumer yet means not ready
            ready = False
        return web.json({"ready": ready}, status=200 if ready else 503)

    return app


def main() -> None:
    settings = Settings()
    asyncio.run(ensure_topics(settings))
    app = build(settings)
    worker = faust.Worker(
        app, loglevel=settings.log_level, override_logging=False, redirect_stdouts=False
    )
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
