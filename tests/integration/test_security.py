"""TLS and SASL (SCRAM-SHA-512, PLAIN) to a real broker, configured only through
NEWSFLOW_KAFKA_SECURITY__*; secrets stay out of logs and /metrics; endpoints bind to
loopback; a denied ACL stalls the output without losing it."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from support.kafka import (
    KAFKA_SH,
    WorkerProcess,
    collect,
    http_get,
    isolated_env,
    kafka_acl,
    listening_addresses,
    make_tls_files,
    metric_value,
    produce_with,
    settings_from,
    start_secure_broker,
)
from tests.integration.test_faults import articles

pytestmark = pytest.mark.integration

USER = "newsflow"
LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str],
                                                                               Path, str]]:
    import subprocess

    base = tmp_path_factory.mktemp("secure-kafka")
    tls = make_tls_files(base / "tls")
    password = "pw-" + secrets.token_hex(12)
    # ACLs on: resources without any stay open, and the deny test below adds one.
    listeners = start_secure_broker(base / "broker", tls, USER, password,
                                    KAFKA_AUTHORIZER="true")
    listeners["dir"] = str(base / "broker")
    try:
        yield listeners, tls, password
    finally:
        subprocess.run(["bash", str(KAFKA_SH), "stop", str(base / "broker")], check=False)


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [("SSL", None), ("SASL_SSL", "SCRAM-SHA-512"), ("SASL_SSL", "PLAIN")],
)
def test_worker_runs_over_tls_and_sasl_without_leaking_secrets(
    secure_broker: tuple[dict[str, str], Path, str], tmp_path: Path,
    protocol: str, mechanism: str | None,
) -> None:
    listeners, tls, password = secure_broker
    security = {
        "NEWSFLOW_KAFKA_SECURITY__SECURITY_PROTOCOL": protocol,
        "NEWSFLOW_KAFKA_SECURITY__SSL_CAFILE": str(tls / "ca.pem"),
    }
    if mechanism is not None:
        security.update({
            "NEWSFLOW_KAFKA_SECURITY__SASL_MECHANISM": mechanism,
            "NEWSFLOW_KAFKA_SECURITY__USERNAME": USER,
            "NEWSFLOW_KAFKA_SECURITY__PASSWORD": password,
        })
    env = isolated_env(listeners[protocol], NEWSFLOW_LOG_LEVEL="INFO",
                       NEWSFLOW_TOPICS__PARTITIONS="1", **security)
    settings = settings_from(env)
    assert password not in repr(settings) and password not in str(settings.model_dump())
    lines = articles(20, f"sec-{protocol}-{mechanism}")
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        asyncio.run(produce_with(settings, settings.topics.raw, lines))
        values = [r.value for r in asyncio.run(collect(settings, expected=len(lines)))]
        status, metrics_text = http_get(f"http://127.0.0.1:{worker.web_port}/metrics")
        bound = listening_addresses(worker.web_port)
    finally:
        worker.kill()
    assert len(values) == len(lines)
    assert status == 200 and "newsflow_" in metrics_text
    assert password not in metrics_text
    assert password not in worker.log_path.read_text(errors="replace")
    assert bound and bound <= LOOPBACK, f"web/metrics endpoint listens on {bound}"


def test_wrong_password_never_gets_ready(
    secure_broker: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    listeners, tls, password = secure_broker
    wrong = password + "-wrong"
    env = isolated_env(
        listeners["SASL_SSL"],
        NEWSFLOW_KAFKA_SECURITY__SECURITY_PROTOCOL="SASL_SSL",
        NEWSFLOW_KAFKA_SECURITY__SSL_CAFILE=str(tls / "ca.pem"),
        NEWSFLOW_KAFKA_SECURITY__USERNAME=USER,
        NEWSFLOW_KAFKA_SECURITY__PASSWORD=wrong,
    )
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        with pytest.raises(AssertionError):
            worker.wait_ready(timeout=20)
    finally:
        worker.kill()
    assert wrong not in worker.log_path.read_text(errors="replace")


def test_denied_write_is_not_ready_alerts_and_drops_nothing(
    secure_broker: tuple[dict[str, str], Path, str], tmp_path: Path
) -> None:
    """Authorisation fails on an output topic: Kafka refuses the deliveries for good. The
    worker must say so (/readyz, newsflow_publish_errors_total) and send them again
    until the ACL is fixed, never committing an input whose output was refused."""
    listeners, tls, password = secure_broker
    env = isolated_env(
        listeners["SASL_SSL"],
        NEWSFLOW_TOPICS__PARTITIONS="1",
        NEWSFLOW_KAFKA_SECURITY__SECURITY_PROTOCOL="SASL_SSL",
        NEWSFLOW_KAFKA_SECURITY__SSL_CAFILE=str(tls / "ca.pem"),
        NEWSFLOW_KAFKA_SECURITY__SASL_MECHANISM="SCRAM-SHA-512",
        NEWSFLOW_KAFKA_SECURITY__USERNAME=USER,
        NEWSFLOW_KAFKA_SECURITY__PASSWORD=password,
    )
    settings = settings_from(env)
    clean = settings.topics.clean
    acl = ("--deny-principal", f"User:{USER}", "--operation", "Write", "--topic", clean)
    broker_dir = Path(listeners["dir"])
    lines = articles(200, "acl")
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        kafka_acl(broker_dir, "--add", *acl)
        asyncio.run(produce_with(settings, settings.topics.raw, lines))
        deadline = time.monotonic() + 60
        status, errors = 200, 0.0
        while (status == 200 or not errors) and time.monotonic() < deadline:
            time.sleep(1)
            status, _ = http_get(f"http://127.0.0.1:{worker.web_port}/readyz")
            _, text = http_get(f"http://127.0.0.1:{worker.web_port}/metrics")
            errors = metric_value(text, "newsflow_publish_errors_total", topic=clean) or 0.0
        print(f"\n[acl denied] /readyz {status}, publish errors {errors:.0f}")
        assert status == 503, "not ready while Kafka refuses an output topic"
        assert errors >= 1, "newsflow_publish_errors_total{topic} counts the refusals"
        kafka_acl(broker_dir, "--remove", "--force", *acl)
        granted = time.monotonic()
        worker.wait_ready(timeout=90)
        print(f"[acl denied] ready {time.monotonic() - granted:.1f}s after the ACL was removed")
        records = asyncio.run(collect(settings, expected=len(lines)))
    finally:
        worker.kill()
    ids = Counter(str(r.value["id"]) for r in records if "error" not in r.value)
    expected = {orjson.loads(line)["id"] for line in lines}
    assert set(ids) == expected, f"{len(expected - set(ids))} inputs dropped while denied"
    assert all(r.topic == clean for r in records), "a refused write is never dead-lettered"
