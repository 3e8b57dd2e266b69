from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_env_prefix_nested_topics_and_language_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_TOPICS__RAW", "scrapes.raw")
    monkeypatch.setenv("NEWSFLOW_LANGUAGES", "en, de,FR")
    monkeypatch.setenv("NEWSFLOW_KAFKA_BOOTSTRAP", "k1:9092,k2:9092")
    settings = Settings()
    assert settings.topics.raw == "scrapes.raw"
    assert settings.tag.languages == ("en", "de", "fr")
    assert settings.broker_url == "kafka://k1:9092;kafka://k2:9092"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.app_id = "other"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_TOPICS__PARTITIONS", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_the_section_confidence_floor_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().tag.min_section_confidence == 0.2
    monkeypatch.setenv("NEWSFLOW_SECTION_MIN_CONFIDENCE", "0.5")
    assert Settings().tag.min_section_confidence == 0.5
