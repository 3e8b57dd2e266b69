from __future__ import annotations

from pathlib import Path

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


def test_rocksdb_store_is_refused_under_exactly_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_STORE", "rocksdb://")
    assert Settings().store == "rocksdb://"  # at_least_once, the default
    monkeypatch.setenv("NEWSFLOW_PROCESSING_GUARANTEE", "exactly_once")
    with pytest.raises(ValidationError, match="rocksdb:// does not work with .*exactly_once"):
        Settings()
    monkeypatch.setenv("NEWSFLOW_STORE", "memory://")
    assert Settings().processing_guarantee == "exactly_once"


def test_unknown_stores_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_STORE", "aerospike://")
    with pytest.raises(ValidationError):
        Settings()


def test_rocksdb_store_gives_every_table_the_rocksdict_driver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from service.runtime.app import make_app
    from service.runtime.tables import ROCKSDB_OPTIONS, make_boilerplate_table

    monkeypatch.setenv("NEWSFLOW_STORE", "rocksdb://")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path))
    settings = Settings()
    app = make_app(settings)
    table = make_boilerplate_table(app, settings)
    store = table.data
    assert type(store).__module__ == "faust.stores.rocksdb"
    assert store.use_rocksdict and store.driver == "rocksdict"  # type: ignore[attr-defined]
    assert store.rocksdb_options.block_cache_size == ROCKSDB_OPTIONS["block_cache_size"]  # type: ignore[attr-defined]
    assert ROCKSDB_OPTIONS["driver"] == "rocksdict"  # faust popped a copy, not ours


def test_static_membership_is_on_for_exactly_once_and_opt_in_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.runtime.app import make_app

    monkeypatch.setenv("NEWSFLOW_APP_ID", "desk")
    assert Settings().consumer_instance_id is None  # at_least_once: dynamic membership
    monkeypatch.setenv("NEWSFLOW_PROCESSING_GUARANTEE", "exactly_once")
    assert Settings().consumer_instance_id == "desk-worker"  # one worker per app id
    monkeypatch.setenv("NEWSFLOW_GROUP_INSTANCE_ID", "desk-pod-0")
    settings = Settings()
    assert settings.consumer_instance_id == "desk-pod-0"
    assert make_app(settings).conf.consumer_group_instance_id == "desk-pod-0"
