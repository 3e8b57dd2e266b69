"""Test helpers for the real broker: start/stop it, run workers, produce and collect."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from service.runtime.tail import Received, read_topics
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    bootstrap: str
    directory: Path | None = None

    @classmethod
    def start(cls, directory: Path) -> Broker:
        out = subprocess.run(
            ["bash", str(KAFKA_SH), "start", str(directory), str(free_port()), str(free_port())],
            check=True, capture_output=True, text=True, timeout=600,
        )
        return cls(bootstrap=out.stdout.strip().splitlines()[-1], directory=directory)

    def stop(self) -> None:
        if self.directory is not None:
            subprocess.run(["bash", str(KAFKA_SH), "stop", str(self.directory)], check=False)


def isolated_env(bootstrap: str, **extra: str) -> dict[str, str]:
    """Env for one test's worker: its own app id and topic names on the shared broker."""
    run = uuid.uuid4().hex[:8]
    env = {
        "NEWSFLOW_KAFKA_BOOTSTRAP": bootstrap,
        "NEWSFLOW_APP_ID": f"newsflow-test-{run}",
        "NEWSFLOW_TOPICS__RAW": f"t{run}.raw",
        "NEWSFLOW_TOPICS__TAGGED": f"t{run}.tagged",
        "NEWSFLOW_TOPICS__CLEAN": f"t{run}.clean",
        "NEWSFLOW_TOPICS__DUPLICATES": f"t{run}.duplicates",
        "NEWSFLOW_TOPICS__REJECTED": f"t{run}.rejected",
        "NEWSFLOW_TOPICS__PARTITIONS": "4",
        "NEWSFLOW_SESSION_TIMEOUT_SECONDS": "6",
        "NEWSFLOW_WEB_PORT": str(free_port()),
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def settings_from(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None)

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.env}
        data_dir = self.log_path.parent / f"data-{uuid.uuid4().hex[:6]}"
        env.setdefault("NEWSFLOW_DATA_DIR", str(data_dir))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "worker"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.log_path.parent,
        )
        return self

    @property
    def web_port(self) -> int:
        return int(self.env["NEWSFLOW_WEB_PORT"])

    def wait_ready(self, timeout: float = 90.0) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.web_port}/readyz", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"worker not ready in {timeout}s\n{self.log()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


async def produce(bootstrap: str, topic: str, payloads: Iterable[bytes],
                  keys: Iterable[bytes | None] | None = None, partitions: int = 4) -> int:
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5,
                                max_request_size=16 * 1024 * 1024)
    await producer.start()
    try:
        key_list = list(keys) if keys is not None else None
        futures = []
        for i, payload in enumerate(payloads):
            key = key_list[i] if key_list is not None else None
            futures.append(await producer.send(topic, payload, key=key))
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


async def collect(settings: Settings, expected: int, timeout: float = 120.0) -> list[Received]:
    """Everything on the three output topics: at least `expected`, plus any extra (dupes)."""
    names = [settings.topics.clean, settings.topics.duplicates, settings.topics.rejected]
    return [
        record
        async for record in read_topics(
            settings, names, min_records=expected, idle_seconds=3.0, timeout_seconds=timeout
        )
    ]


def jsonl(records: Iterable[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]
