"""Newsflow's exceptions, grouped by what the caller should do about them.

    NewsflowError
    ├── Rejection                 input we will never be able to process: goes to articles.rejected
    │   ├── PayloadTooLarge       payload_too_large: bytes over the configured cap
    │   ├── InvalidUtf8           invalid_utf8: the bytes do not decode
    │   ├── InvalidJson           invalid_json: not JSON, truncated, or nested too deep
    │   ├── SchemaViolation       schema_violation: JSON, but not a RawArticle
    │   ├── EmptyContent          empty_content: no body text in the input
    │   ├── NoArticle             no_article: cleaning left nothing but chrome
    │   ├── ExtractionFailed      extraction_failed: the extractor raised
    │   ├── ExtractionTimeout     extraction_timeout: cleaning ran past its deadline
    │   ├── ProcessingFailed      processing_failed: a bug of ours met by this one input
    │   └── UnreadableRecord      unreadable_record: an archive record that cannot be read
    └── InfrastructureError       broker, store or configuration trouble: never dead-lettered

A `Rejection`'s `code` is a stable snake_case string that goes on the wire, so
consumers of the dead-letter topic can alert and route on it.
"""

from __future__ import annotations

from typing import ClassVar


class NewsflowError(Exception):
    """Root of every error Newsflow raises on purpose."""


class Rejection(NewsflowError):
    """Input that no retry will fix; it is dead-lettered with `code` and a message."""

    code: ClassVar[str] = "rejected"
    message: ClassVar[str] = "the input was rejected"
    retriable: ClassVar[bool] = False

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.message
        super().__init__(self.detail)


class PayloadTooLarge(Rejection):
    code = "payload_too_large"
    message = "the payload is larger than the configured limit"


class InvalidUtf8(Rejection):
    code = "invalid_utf8"
    message = "the payload is not valid UTF-8"


class InvalidJson(Rejection):
    code = "invalid_json"
    message = "the payload is not a JSON document"


class SchemaViolation(Rejection):
    code = "schema_violation"
    message = "the JSON does not match the RawArticle contract"


class EmptyContent(Rejection):
    code = "empty_content"
    message = "the article has no html or text body"


class NoArticle(Rejection):
    code = "no_article"
    message = "nothing but boilerplate was left after cleaning"


class ExtractionFailed(Rejection):
    code = "extraction_failed"
    message = "the extractor could not process the page"


class ExtractionTimeout(Rejection):
    code = "extraction_timeout"
    message = "cleaning took longer than the configured deadline"


class ProcessingFailed(Rejection):
    """A bug of ours met by one input: dead-letter it rather than stall the partition."""

    code = "processing_failed"
    message = "an unexpected error occurred while processing the article"


class UnreadableRecord(Rejection):
    """A unit of an input file that cannot be read (service/sources.py): a WARC record cut
    short, with a broken HTTP status line, or in a corrupt gzip member."""

    code = "unreadable_record"
    message = "the archive record cannot be read"


class InfrastructureError(NewsflowError):
    """Trouble outside the message itself; the message is retried, never dead-lettered."""


_BY_CODE: dict[str, type[Rejection]] = {
    cls.code: cls
    for cls in (
        PayloadTooLarge,
        InvalidUtf8,
        InvalidJson,
        SchemaViolation,
        EmptyContent,
        NoArticle,
        ExtractionFailed,
        ExtractionTimeout,
        ProcessingFailed,
    )
}


REJECTION_CODES: tuple[str, ...] = tuple(_BY_CODE)
