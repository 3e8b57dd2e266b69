"""Bytes off the wire to a validated `RawArticle`, or a `Rejection` that says why not."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from service.errors import InvalidJson, InvalidUtf8, PayloadTooLarge, SchemaViolation
from service.models import RawArticle
from service.settings import DecodeConfig

_BOM = b"\xef\xbb\xbf"


def decode(payload: bytes, cfg: DecodeConfig) -> RawArticle:
    if len(payload) > cfg.max_bytes:
        raise PayloadTooLarge(f"{len(payload)} bytes exceeds the limit of {cfg.max_bytes}")
    if payload.startswith(_BOM):
        # RFC 8259 lets a parser ignore a BOM; Windows tools still write one.
        payload = payload[len(_BOM):]
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidUtf8(f"invalid UTF-8 at byte {exc.start}: {exc.reason}") from None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidJson(str(exc)[:300]) from None
    if not isinstance(document, dict):
        raise SchemaViolation(f"expected a JSON object, got {type(document).__name__}")
    try:
        return RawArticle.model_validate(document)
    except ValidationError as exc:
        raise SchemaViolation(_summarise(exc)) from None


def _summarise(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "document"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
