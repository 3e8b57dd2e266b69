"""make_app: the settings reach faust."""

from __future__ import annotations

import pytest

from service.runtime.app import make_app
from service.settings import Settings


def test_the_commit_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_COMMIT_INTERVAL_SECONDS", raising=False)
    assert make_app(Settings(app_id="newsflow-unit-default")).conf.broker_commit_interval == 2.8
    monkeypatch.setenv("NEWSFLOW_COMMIT_INTERVAL_SECONDS", "0.7")
    settings = Settings(app_id="newsflow-unit-commit")
    assert settings.commit_interval_seconds == 0.7
    assert make_app(settings).conf.broker_commit_interval == 0.7


def test_the_producer_linger_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_PRODUCER_LINGER_SECONDS", raising=False)
    assert make_app(Settings(app_id="newsflow-unit-linger-default")).conf.producer_linger == 0.005
    monkeypatch.setenv("NEWSFLOW_PRODUCER_LINGER_SECONDS", "0.001")
    assert make_app(Settings(app_id="newsflow-unit-linger")).conf.producer_linger == 0.001
