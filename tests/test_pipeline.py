from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import orjson
import pytest

from service import pipeline as pipeline_module
from service.errors import InvalidJson
from service.models import Article, Origin, Rejected, TaggedArticle
from service.pipeline import Pipeline, make_rejected
from service.settings import Settings

BODY = (
    "The regional water company said on Monday that it would replace four hundred kilometres "
    "of old pipes over the next decade, after a summer of record leaks and supply cuts."
)


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(Settings())


def test_first_copy_is_clean_and_an_exact_copy_is_a_duplicate(pipeline: Pipeline) -> None:
    first = pipeline.process(orjson.dumps({"id": "w1", "text": BODY}), Origin(line=1))
    copy = pipeline.process(orjson.dumps({"id": "w2", "text": BODY + "  "}), Origin(line=2))
    assert first.topic == "articles.clean" and isinstance(first.value, Article)
    assert copy.topic == "articles.duplicates" and isinstance(copy.value, Article)
    assert copy.value.dedup.status == "duplicate"
    assert copy.value.dedup.duplicate_of == "w1"
    assert first.key == b"w1"


def test_a_probe_made_by_another_pipeline_with_the_same_clock_gives_the_same_verdicts() -> None:
    """What `newsflow process --jobs N` relies on: a job's pipeline makes the probes (no
    fetched_at here, so the event time is the shared clock) and the parent's gives the
    verdicts, as one pipeline alone would."""
    now = datetime(2026, 3, 2, tzinfo=UTC)
    alone, job, parent = (Pipeline(Settings(), now=now) for _ in range(3))
    payloads = [orjson.dumps({"id": i, "text": BODY + tail}) for i, tail in
                (("w2", " Officials said more."), ("w1", ""), ("w3", "  "))]
    expected = [alone.process(p, Origin(line=n)) for n, p in enumerate(payloads)]
    got = []
    for n, payload in enumerate(payloads):
        article = job.prepare(payload, Origin(line=n))
        assert isinstance(article, TaggedArticle)
        probe = job.probe(article)
        assert probe is not None and probe.me.t == int(now.timestamp())
        got.append(parent.finish(article, probe))
    assert [(r.topic, r.value.dedup) for r in got] == [  # type: ignore[union-attr]
        (r.topic, r.value.dedup) for r in expected  # type: ignore[union-attr]
    ]
    assert {r.topic for r in got} == {"articles.clean", "articles.duplicates"}


def test_bad_input_is_routed_to_rejected_with_its_origin(pipeline: Pipeline) -> None:
    routed = pipeline.process(b"{nope", Origin(topic="articles.raw", partition=3, offset=17))
    assert routed.topic == "articles.rejected"
    assert isinstance(routed.value, Rejected)
    assert routed.value.error.code == "invalid_json"
    assert routed.value.origin.offset == 17 and routed.value.payload == "{nope"


def test_rejected_keeps_invalid_utf8_as_base64() -> None:
    payload = b'{"text": "\xff"}'
    rejected = make_rejected(payload, Origin(line=1), InvalidJson("x"), max_bytes=1000)
    assert rejected.payload_encoding == "base64"
    assert base64.b64decode(rejected.payload) == payload
    assert rejected.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert not rejected.payload_truncated


def test_rejected_large_payload_keeps_a_prefix_size_and_hash() -> None:
    payload = ("é" * 1000).encode()  # a cut at 301 bytes lands inside a character
    rejected = make_rejected(payload, Origin(line=1), InvalidJson("x"), max_bytes=301)
    assert rejected.payload_truncated and rejected.payload_size == 2000
    assert rejected.payload_encoding == "utf-8"
    assert payload.decode().startswith(rejected.payload) and len(rejected.payload) == 150
    assert rejected.payload_sha256 == hashlib.sha256(payload).hexdigest()


def test_an_unexpected_error_is_dead_lettered_not_raised(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(pipeline.tagger, "tag", explode)
    routed = pipeline.process(orjson.dumps({"text": BODY}), Origin(line=1))
    assert isinstance(routed.value, Rejected)
    assert routed.value.error.code == "processing_failed"
    assert "RuntimeError: bug" in routed.value.error.message


def test_a_pipeline_that_only_finishes_loads_no_tagger_until_it_prepares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[object] = []
    real = pipeline_module.make_tagger

    def counting(cfg: object) -> object:
        made.append(cfg)
        return real(cfg)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_module, "make_tagger", counting)
    Pipeline(Settings())
    assert len(made) == 1  # eager by default: a bad model fails the start
    finisher = Pipeline(Settings(), prepares=False)
    assert len(made) == 1
    routed = finisher.process(orjson.dumps({"text": BODY}), Origin(line=1))
    assert len(made) == 2 and not isinstance(routed.value, Rejected)
