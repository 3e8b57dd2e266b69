"""Session fixtures: a real Apache Kafka broker, started from Maven Central jars.

Markers follow the fixtures (see `pytest_collection_modifyitems`): a test that uses a
broker fixture, or sits in tests/integration/, is `integration`; one that uses a fixture
that starts a process (a worker, the CLI, promtool) is `subprocess`. A new fixture of
either kind goes in BROKER_FIXTURES or SUBPROCESS_FIXTURES, and its tests are marked."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.kafka import Broker

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seeds" / "000_ddffc17b4b401ebd.txt"
INTEGRATION_DIR = ROOT / "tests" / "integration"

# Fixtures that start a Kafka broker or hand out one (by name, wherever defined).
BROKER_FIXTURES = frozenset({
    "kafka_bootstrap",  # here: the session broker
    "own_broker",  # integration/test_faults.py: a broker to stop and restart
    "secure_broker",  # integration/test_security.py: TLS and SASL listeners
})
# Fixtures that start some other process.
SUBPROCESS_FIXTURES = frozenset({
    "newsflow_cli",  # here: `python -m service ...`
    "promtool",  # test_deploy.py
    "stack",  # integration/test_prometheus.py: a worker and a Prometheus server
    "streamed",  # integration/test_hostile_broker.py: a worker
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by fixture, so that `-m "not integration and not subprocess"` is the unit suite."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROKER_FIXTURES or INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)
        if used & SUBPROCESS_FIXTURES:
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """NEWSFLOW_KAFKA_BOOTSTRAP if set, else a broker of our own on free ports."""
    existing = os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP")
    if existing:
        yield existing
        return
    broker = Broker.start(tmp_path_factory.mktemp("kafka"))
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("../shared/seeds is not present")
    return SEED.read_text(encoding="utf-8")


NewsflowCli = Callable[..., "subprocess.CompletedProcess[bytes]"]


@pytest.fixture
def newsflow_cli() -> NewsflowCli:
    """Run `python -m service ARGS` (the `newsflow` command) to completion, from the
    checkout, with its output captured; `env` is added to this environment."""

    def run(*args: str, env: dict[str, str] | None = None, check: bool = False,
            timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "service", *args], capture_output=True, cwd=ROOT,
            env={**os.environ, **(env or {})}, check=check, timeout=timeout,
        )

    return run
