"""The wire contract: what scrapers send, what consumers read, what ops drain.

`RawArticle` is lenient about what it ignores (unknown fields) and strict about what
it reads (a number where text belongs is a schema violation, not a silent coercion).
`write_schemas()` exports JSON Schema to `schemas/`; a test fails when they drift.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = "1"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RawArticle(BaseModel):
    """What an upstream scraper publishes to `articles.raw`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str | None = Field(default=None, max_length=512)
    url: str | None = Field(default=None, max_length=8192)
    html: str | None = None
    text: str | None = None
    title: str | None = Field(default=None, max_length=4096)
    source: str | None = Field(default=None, max_length=512)
    fetched_at: datetime | None = Field(
        default=None, description="RFC 3339 string or epoch seconds/milliseconds"
    )
    language: str | None = Field(default=None, max_length=64, description="a hint")
    section: str | None = Field(default=None, max_length=256, description="a hint")
    meta: dict[str, Any] | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_from_int(cls, value: object) -> object:
        # Many scrapers use numeric ids; bool is an int subclass but never an id.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("fetched_at")
    @classmethod
    def _fetched_at_utc(cls, value: datetime | None) -> datetime | None:
        return _as_utc(value)

    @model_validator(mode="after")
    def _has_body(self) -> RawArticle:
        if self.html is None and self.text is None:
            raise ValueError("one of 'html' or 'text' is required")
        return self


class CleaningReport(BaseModel):
    """What cleaning removed, so ops can see a template change eating articles."""

    model_config = ConfigDict(frozen=True)

    input_kind: Literal["html", "text"]
    lines_kept: int = 0
    lines_removed: int = 0
    removed: dict[str, int] = Field(default_factory=dict)


class Language(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="ISO 639-1, or 'und' when unsure")
    confidence: float = Field(ge=0, le=1)
    hint: str | None = Field(default=None, description="the scraper's hint, as it was sent")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="IPTC Media Topic top-level code, e.g. medtop:15000000")
    name: str
    confidence: float = Field(ge=0, le=1)
    method: Literal["hint", "url", "text"]


class Dedup(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["unique", "duplicate", "near_duplicate"]
    duplicate_of: str | None = None
    similarity: float = Field(default=0.0, ge=0, le=1)


class CorrectionInfo(BaseModel):
    """Streaming only: this record replaces an earlier verdict for the same id."""

    model_config = ConfigDict(frozen=True)

    # late_copy: an earlier copy arrived after the verdict. redecided: a worker died
    # between publishing a verdict and recording it, and its successor decided again;
    # what it had published is not known, so `previous` is null.
    reason: Literal["late_copy", "redecided"]
    previous: Dedup | None


class _ArticleBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    url: str | None = None
    canonical_url: str | None = None
    source: str | None = None
    title: str | None = None
    text: str
    dateline: str | None = None
    byline: str | None = None
    published_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    fetched_at: datetime | None = None
    cleaning: CleaningReport | None = None


class CleanedArticle(_ArticleBody):
    """The clean stage's output; the scraper's hints ride along for the tag stage."""

    language_hint: str | None = None
    section_hint: str | None = None


class TaggedArticle(_ArticleBody):
    """The tag stage's output, published on the internal tagged topic."""

    language: Language
    section: Section | None = None


class Article(TaggedArticle):
    """What downstream consumers read on `articles.clean` and `articles.duplicates`."""

    dedup: Dedup
    processed_at: datetime = Field(default_factory=utcnow)
    schema_version: str = SCHEMA_VERSION
    correction: CorrectionInfo | None = Field(
        default=None,
        description="set on a re-published article whose verdict changed (partitioned mode)",
    )


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class Origin(BaseModel):
    """Where a message came from: a Kafka position, or a line of a batch file."""

    model_config = ConfigDict(frozen=True)

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    line: int | None = None
    timestamp: datetime | None = None


class Rejected(BaseModel):
    """A dead letter on `articles.rejected`: why, and the original bytes to find it by."""

    model_config = ConfigDict(frozen=True)

    error: ErrorInfo
    payload: str = Field(description="the original bytes: UTF-8 text, or base64")
    payload_encoding: Literal["utf-8", "base64"]
    payload_size: int = Field(description="size of the original payload in bytes")
    payload_sha256: str
    payload_truncated: bool = Field(description="true when 'payload' is only a prefix")
    origin: Origin
    received_at: datetime = Field(default_factory=utcnow)
    schema_version: str = SCHEMA_VERSION


CONTRACT_MODELS: dict[str, type[BaseModel]] = {
    "raw_article": RawArticle,
    "article": Article,
    "rejected": Rejected,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    return {name: model.model_json_schema() for name, model in CONTRACT_MODELS.items()}


def write_schemas(directory: Path) -> list[Path]:
    """Export the contract; `tests/test_models.py` checks the committed copy matches."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written
