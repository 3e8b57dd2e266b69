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
from collections.abc import Iterable, Sequence
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
        "NEWSFLOW_TOPICS__BANDS": f"t{run}.bands",
        "NEWSFLOW_TOPICS__ANSWERS": f"t{run}.answers",
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
    """`python -m service worker` (or, for the benchmarks, another app module: `args`)."""

    env: dict[str, str]
    log_path: Path
    args: Sequence[str] = ("service", "worker")
    cwd: Path | None = None  # default: beside the log; ROOT to run a module of bench/
    process: subprocess.Popen[bytes] | None = field(default=None)

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.env}
        data_dir = self.log_path.parent / f"data-{uuid.uuid4().hex[:6]}"
        env.setdefault("NEWSFLOW_DATA_DIR", str(data_dir))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.args],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd or self.log_path.parent,
        )
        return self

    @property
    def web_port(self) -> int:
        return int(self.env["NEWSFLOW_WEB_PORT"])

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

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


# --- Fault-test helpers: synthetic articles, broker restarts, worker probes. ---

_NOUNS = (
    "council minister harbour market budget bridge railway hospital school festival "
    "museum river farmer union court senator village factory airport station library "
    "teacher doctor engineer orchestra stadium reservoir vineyard pipeline ferry harvest "
    "election treaty province committee inspector volunteer bakery shipyard glacier "
    "telescope satellite laboratory tribunal parliament mayor coalition regulator"
).split()
_VERBS = (
    "approved rejected delayed announced expanded questioned funded reopened reviewed "
    "criticised welcomed postponed inspected upgraded suspended defended described "
    "measured restored challenged confirmed"
).split()
_ADJECTIVES = (
    "northern coastal local regional annual urgent modest historic temporary national "
    "independent rural public private remote crowded quiet rising falling disputed"
).split()
_PLACES = (
    "Aberdeen Bergen Cork Dresden Evora Faro Gdansk Haarlem Izmir Jena Kaunas Lyon "
    "Malmo Nantes Oulu Porto Quimper Riga Split Turku Utrecht Varna Wroclaw Zadar"
).split()


def _sentence(rng: Any) -> str:
    words = [
        rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_VERBS), "the",
        rng.choice(_ADJECTIVES), rng.choice(_NOUNS), "near", rng.choice(_PLACES),
        "after", rng.choice(_NOUNS), "and", rng.choice(_NOUNS), rng.choice(_VERBS),
        str(rng.randint(2, 9999)), rng.choice(_NOUNS) + "s",
    ]
    return "The " + " ".join(words) + "."


def synthetic_body(rng: Any, paragraphs: int = 3, sentences: int = 3) -> str:
    """Prose-looking English from word banks: every story distinct, every line unique."""
    return "\n\n".join(
        " ".join(_sentence(rng) for _ in range(sentences)) for _ in range(paragraphs)
    )


def lightly_edited(text: str, rng: Any, edits: int = 2) -> str:
    """A near duplicate: swap a few words, as a syndicating site's copy editor would."""
    words = text.split(" ")
    editable = [i for i, word in enumerate(words) if word.isalpha() and word.islower()]
    for i in rng.sample(editable, edits):
        words[i] = rng.choice([noun for noun in _NOUNS if noun != words[i]])
    return " ".join(words)


def synthetic_article(
    article_id: str, text: str, *, source: str = "example.org", fetched_at: str | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": article_id,
        "url": f"https://{source}/news/{article_id}",
        "source": source,
        "title": f"Story {article_id}",
        "text": text,
    }
    if fetched_at is not None:
        record["fetched_at"] = fetched_at
    return record


def restart_broker(broker: Broker, timeout: float = 120.0) -> None:
    """Start a stopped broker again on the same data dir and ports (`kafka.sh restart`)."""
    assert broker.directory is not None
    subprocess.run(
        ["bash", str(KAFKA_SH), "restart", str(broker.directory)],
        check=True, capture_output=True, text=True, timeout=timeout,
    )


def start_broker(directory: Path, **env: str) -> Broker:
    """A dedicated broker; `env` passes kafka.sh options such as KAFKA_AUTO_CREATE_TOPICS."""
    out = subprocess.run(
        ["bash", str(KAFKA_SH), "start", str(directory), str(free_port()), str(free_port())],
        check=True, capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )
    return Broker(bootstrap=out.stdout.strip().splitlines()[-1], directory=directory)


def http_get(url: str, timeout: float = 3.0) -> tuple[int, str]:
    """Status and body, also for 5xx answers (urllib raises on those)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """One sample from a Prometheus exposition, or None when it is absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def wait_outputs(settings: Settings, at_least: int, timeout: float = 120.0) -> int:
    """Block until `at_least` records sit on the output topics; return how many were seen."""
    names = [settings.topics.clean, settings.topics.duplicates, settings.topics.rejected]

    async def count() -> int:
        seen = 0
        async for _ in read_topics(settings, names, max_records=at_least, min_records=at_least,
                                   idle_seconds=timeout, timeout_seconds=timeout):
            seen += 1
        return seen

    return asyncio.run(count())


def make_tls_files(directory: Path) -> Path:
    """A throwaway CA and a broker certificate for 127.0.0.1 (openssl CLI), as kafka.sh
    start-secure wants them: ca.pem, and broker.pem = PKCS#8 key + certificate."""
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=newsflow-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
        "-subj", "/CN=localhost")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.ext")
    run("pkcs8", "-topk8", "-nocrypt", "-in", "broker.key", "-out", "broker.p8")
    (directory / "broker.pem").write_text(
        (directory / "broker.p8").read_text() + (directory / "broker.crt").read_text()
    )
    return directory


def start_secure_broker(
    directory: Path, tls: Path, user: str, password: str, **env: str
) -> dict[str, str]:
    """PLAINTEXT, SSL and SASL_SSL (PLAIN + SCRAM-SHA-512) listeners on one broker."""
    out = subprocess.run(
        ["bash", str(KAFKA_SH), "start-secure", str(directory), str(tls)],
        check=True, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KAFKA_SASL_USER": user, "KAFKA_SASL_PASSWORD": password, **env},
    )
    return dict(line.split(" ", 1) for line in out.stdout.strip().splitlines()[-3:])


def kafka_acl(directory: Path, *args: str) -> None:
    """Add or remove ACLs on the broker started in `directory` (kafka.sh acl)."""
    subprocess.run(["bash", str(KAFKA_SH), "acl", str(directory), *args],
                   check=True, capture_output=True, text=True, timeout=120)


async def produce_with(settings: Settings, topic: str, payloads: Iterable[bytes]) -> int:
    """Like `produce`, with the settings' TLS/SASL options (the topic must exist)."""
    from aiokafka import AIOKafkaProducer

    from service.runtime.security import aiokafka_kwargs

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap,
                                **aiokafka_kwargs(settings))
    await producer.start()
    try:
        futures = [await producer.send(topic, payload) for payload in payloads]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a socket listening on `port` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.add(address)
    return found
