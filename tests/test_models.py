from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.models import RawArticle, json_schemas

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@pytest.mark.parametrize("name", ["raw_article", "article", "rejected"])
def test_committed_schemas_match_the_models(name: str) -> None:
    committed = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    assert committed == json_schemas()[name], "run `newsflow schemas` and commit the result"


def test_raw_article_needs_a_body() -> None:
    with pytest.raises(ValidationError, match="one of 'html' or 'text'"):
        RawArticle.model_validate({"id": "a"})


def test_raw_article_tolerates_unknown_fields_and_numeric_ids() -> None:
    raw = RawArticle.model_validate({"id": 42, "text": "body", "crawler": {"v": 2}})
    assert raw.id == "42"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T08:15:00+01:00", datetime(2026, 11, 27, 7, 15, tzinfo=UTC)),
        (1795767300, datetime.fromtimestamp(1795767300, UTC)),
        (1795767300000, datetime.fromtimestamp(1795767300, UTC)),
    ],
)
def test_fetched_at_accepts_rfc3339_and_epoch(value: object, expected: datetime) -> None:
    assert RawArticle.model_validate({"text": "x", "fetched_at": value}).fetched_at == expected


@pytest.mark.parametrize("field", ["text", "html", "title", "url"])
def test_wrong_types_are_not_coerced(field: str) -> None:
    with pytest.raises(ValidationError):
        RawArticle.model_validate({"text": "x", field: 123} if field != "text" else {field: 123})


def test_boolean_is_not_an_id() -> None:
    with pytest.raises(ValidationError):
        RawArticle.model_validate({"id": True, "text": "x"})
