"""Session fixtures: a real Apache Kafka broker, started from Maven Central jars."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka import Broker

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seeds" / "000_ddffc17b4b401ebd.txt"


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
