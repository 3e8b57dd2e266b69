from __future__ import annotations

import pytest

from service.errors import (
    InvalidJson,
    InvalidUtf8,
    PayloadTooLarge,
    Rejection,
    SchemaViolation,
)
from service.settings import DecodeConfig
from service.stages.clean.decode import decode

CFG = DecodeConfig(max_bytes=4096)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"not json", InvalidJson),
        (b'{"text": "trunc', InvalidJson),
        (b"[1, 2]", SchemaViolation),
        (b"42", SchemaViolation),
        (b'"a string"', SchemaViolation),
        (b"null", SchemaViolation),
        (b"{}", SchemaViolation),
        (b'{"text": 123}', SchemaViolation),
        (b'{"html": ["<p>"]}', SchemaViolation),
        (b'{"id": {"a": 1}, "text": "x"}', SchemaViolation),
        (b'{"text": "\xff\xfe"}', InvalidUtf8),
        (b'{"text": "' + b"a" * 5000 + b'"}', PayloadTooLarge),
        (b'{"text": "\\ud800"}', InvalidJson),
        (b"[" * 2000 + b"]" * 2000, InvalidJson),
    ],
)
def test_bad_payloads_raise_their_own_rejection(payload: bytes, error: type[Rejection]) -> None:
    with pytest.raises(error) as caught:
        decode(payload, CFG)
    assert caught.value.code == error.code
    assert caught.value.detail


def test_valid_payload_decodes() -> None:
    raw = decode('{"id": "a", "text": "Grüße", "extra": 1}'.encode(), CFG)
    assert raw.id == "a" and raw.text == "Grüße"
