"""`newsflow replay`'s decisions, without a broker (tests/integration/test_replay.py has one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.errors import InvalidUtf8, PayloadTooLarge
from service.models import Origin, Rejected
from service.pipeline import make_rejected
from service.replay import DeadLetter, Filters, Ledger, Report, decide, original_payload

RAW = "articles.raw"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def dead(payload: bytes = b'{"id": "a", "text": "x"}', *, code: str = "too_large",
         topic: str = RAW, partition: int = 0, offset: int = 7, minutes: int = 0,
         cap: int = 65_536, where: str = "articles.rejected:0:1") -> DeadLetter:
    rejection = PayloadTooLarge("big") if code == "too_large" else InvalidUtf8("bad")
    value = make_rejected(payload, Origin(topic=topic, partition=partition, offset=offset),
                          rejection, cap)
    value = value.model_copy(update={"received_at": T0 + timedelta(minutes=minutes)})
    return DeadLetter(where, value)


def test_filters_by_reason_time_and_origin() -> None:
    ledger = Ledger()
    letter = dead(minutes=30)
    assert decide(letter, Filters(), ledger, RAW, 3)[0] == "replay"
    assert decide(letter, Filters(reasons=frozenset({"invalid_utf8"})), ledger, RAW, 3)[0] \
        == "filtered"
    assert decide(letter, Filters(reasons=frozenset({"payload_too_large"})), ledger, RAW, 3)[0] \
        == "replay"
    assert decide(letter, Filters(since=T0 + timedelta(minutes=31)), ledger, RAW, 3)[0] \
        == "filtered"
    assert decide(letter, Filters(until=T0 + timedelta(minutes=30)), ledger, RAW, 3)[0] \
        == "filtered"  # until is exclusive
    assert decide(letter, Filters(since=T0, until=T0 + timedelta(hours=1)), ledger, RAW, 3)[0] \
        == "replay"
    assert decide(letter, Filters(origin_partitions=frozenset({1})), ledger, RAW, 3)[0] \
        == "filtered"
    # By default only what the worker read from the raw topic; others when named.
    internal = dead(topic="newsflow.tagged")
    assert decide(internal, Filters(), ledger, RAW, 3)[0] == "filtered"
    named = Filters(origin_topics=frozenset({"newsflow.tagged"}))
    assert decide(internal, named, ledger, RAW, 3)[0] == "replay"
    from_file = dead(topic="crawl.warc.gz")
    assert decide(from_file, Filters(), ledger, RAW, 3)[0] == "filtered"


def test_truncated_corrupt_replayed_and_looping_dead_letters_are_refused() -> None:
    ledger = Ledger()
    truncated = dead(b'{"id": "a", "text": "' + b"x" * 600 + b'"}', cap=256)
    assert truncated.value.payload_truncated
    assert decide(truncated, Filters(), ledger, RAW, 3) == ("truncated", None)

    tampered = dead()
    tampered = DeadLetter(tampered.position,
                          tampered.value.model_copy(update={"payload": '{"id": "b"}'}))
    assert decide(tampered, Filters(), ledger, RAW, 3) == ("corrupt", None)

    letter = dead(where="articles.rejected:0:5")
    ledger.add("articles.rejected:0:5", {"raw": f"{RAW}:0:7", "count": 1})
    assert decide(letter, Filters(), ledger, RAW, 3) == ("already_replayed", None)

    # The dead letter of a replayed input (origin: the position the replay published).
    again = dead(offset=7, where="articles.rejected:1:9")
    outcome, plan = decide(again, Filters(), ledger, RAW, 3)
    assert outcome == "replay" and plan is not None and plan.count == 2
    assert decide(again, Filters(), ledger, RAW, 1) == ("max_replays", None)


def test_base64_payloads_come_back_byte_for_byte() -> None:
    letter = dead(b"\xff\xfe not utf-8", code="invalid_utf8")
    assert letter.value.payload_encoding == "base64"
    outcome, plan = decide(letter, Filters(), Ledger(), RAW, 3)
    assert outcome == "replay" and plan is not None
    assert plan.payload == b"\xff\xfe not utf-8"
    broken = Rejected.model_validate({**letter.value.model_dump(), "payload": "not base64!"})
    assert original_payload(broken) is None


def test_report_by_reason() -> None:
    report = Report(dry_run=True, read=3)
    report.add("payload_too_large", "replay")
    report.add("payload_too_large", "truncated", "articles.rejected:0:4")
    report.add("invalid_json", "filtered")
    assert report.lines() == [
        "read 3 dead letters; would replay 1",
        "reason\treplay\talready_replayed\ttruncated\tcorrupt\tmax_replays\tfiltered",
        "invalid_json\t0\t0\t0\t0\t0\t1",
        "payload_too_large\t1\t0\t1\t0\t0\t0",
        "refused articles.rejected:0:4 payload_too_large truncated",
    ]
