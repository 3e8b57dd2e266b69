"""The one place Newsflow reads its configuration from (env vars prefixed `NEWSFLOW_`).

Stages never see `Settings`; they receive the small frozen sub-configs built here,
so a stage's behaviour is fully described by its arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicSettings(_Frozen):
    """Topic names live here and nowhere else."""

    raw: str = "articles.raw"
    tagged: str = "newsflow.tagged"
    clean: str = "articles.clean"
    duplicates: str = "articles.duplicates"
    rejected: str = "articles.rejected"
    partitions: int = Field(default=8, ge=1)
    # Dedup's partitions (tagged, bands, answers and their tables); unset: `partitions`.
    tagged_partitions: int = Field(default=0, ge=0)
    # Dedup's hops: probes keyed by band, answers keyed by article id (docs/SCALE_OUT.md).
    bands: str = "newsflow.bands"
    answers: str = "newsflow.answers"
    replication_factor: int = Field(default=1, ge=1)


    @model_validator(mode="after")
    def _dedup_partitions_default_to_partitions(self) -> TopicSettings:
        if not self.tagged_partitions:
            object.__setattr__(self, "tagged_partitions", self.partitions)
        return self


class DecodeConfig(_Frozen):
    max_bytes: int = Field(default=4_000_000, ge=1024)
    # Rejected records carry at most this many bytes of the original payload.
    rejected_payload_max_bytes: int = Field(default=65_536, ge=256)


class CleanConfig(_Frozen):
    mode: Literal["quality", "fast"] = "quality"
    deadline_seconds: float = Field(default=5.0, gt=0)
    max_html_chars: int = Field(default=2_000_000, ge=1024)
    min_text_chars: int = Field(default=80, ge=0)
    # Per-source boilerplate learning (see stages/clean/boilerplate.py).
    learn_boilerplate: bool = True
    boilerplate_min_pages: int = Field(default=4, ge=2)
    boilerplate_window_pages: int = Field(default=200, ge=10)


class TagConfig(_Frozen):
    languages: tuple[str, ...] = ()
    min_language_chars: int = Field(default=20, ge=0)
    min_language_confidence: float = Field(default=0.5, ge=0, le=1)
    section_model: Path | None = None
    min_section_confidence: float = Field(default=0.2, ge=0, le=1)


class DedupConfig(_Frozen):
    """The rule is in service/stages/dedup/rule.py; these are its knobs."""

    # Which pairs may match: |Δ event time| <= window. None: any (batch mode's default).
    window_seconds: float | None = Field(default=7 * 24 * 3600, gt=0)
    # Storage, separately: articles held, over all partitions; past it the oldest go
    # first, counted by newsflow_dedup_evictions_total{reason="early"} while in-window.
    max_entries: int = Field(default=1_000_000, ge=1)
    threshold: float = Field(default=0.7, gt=0, le=1)
    # Edited copies: the share of the smaller text found in the other, for texts of at
    # least min_shingles word shingles (about two short paragraphs), judged on the
    # Jaccard estimate lowered by containment_sigmas standard errors (b-bit MinHash of
    # num_perm bytes: small texts and very unequal sizes give noisy estimates).
    containment: float = Field(default=0.65, gt=0, le=1)
    containment_sigmas: float = Field(default=1.5, ge=0)
    min_shingles: int = Field(default=40, ge=1)
    # ... and, when the later article is the larger (it grew the earlier one), the
    # earlier is at least this share of it: a follow-up that quotes a whole short story
    # inside more new text than the story is not a copy; an update adding a paragraph is.
    containment_min_ratio: float = Field(default=0.5, ge=0, le=1)
    # ... and, when the later article is the smaller (a cut: paragraphs dropped, which
    # adds nothing new), it keeps at least this share of the earlier one.
    containment_cut_min_ratio: float = Field(default=0.3, ge=0, le=1)
    # Optional guards, off by default: the smaller at most this share of the larger, and
    # a Jaccard floor. With 3-word shingles they kept templated prose apart (0.8, 0.45);
    # 6-word shingles do that without them (docs/DEDUP.md, "Tuning").
    containment_max_ratio: float = Field(default=1.0, ge=0, le=1)
    containment_min_jaccard: float = Field(default=0.0, ge=0, le=1)
    num_perm: int = Field(default=192, ge=16)
    # 64 bands of 3 rows: a pair at Jaccard 0.4 shares a band with p = 0.985.
    bands: int = Field(default=64, ge=1)
    # Word 6-grams: copies share whole paragraphs, templated prose (a stock phrase in
    # every sentence) only short runs. Changing it makes stored signatures incomparable.
    shingle_size: int = Field(default=6, ge=1)
    max_candidates: int = Field(default=64, ge=1)


class KafkaSecurity(_Frozen):
    """How every Kafka client authenticates (NEWSFLOW_KAFKA_SECURITY__*).

    The password is a SecretStr, so it never shows in a repr, a log line or /metrics.
    """

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    # PEM files: the CA that signed the broker certificate, and an optional client pair.
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True

    @model_validator(mode="after")
    def _complete(self) -> KafkaSecurity:
        if self.security_protocol.startswith("SASL_") and (
            not self.username or self.password is None
        ):
            raise ValueError(f"{self.security_protocol} needs username and password")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile go together")
        return self

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")


class Settings(BaseSettings):
    """Every knob, read once from the environment by the CLI."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
    )

    app_id: str = "newsflow"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Where Table state is kept between restarts: `memory://` (rebuilt from the changelogs
    # at every start) or `rocksdb://` (rocksdict; only the changelog tail is read). The
    # RocksDB files live under `data_dir`, which is one worker's own: two workers must not
    # share one. `rocksdb://` is refused under exactly_once (see `_store_fits_guarantee`).
    store: Literal["memory://", "rocksdb://"] = "memory://"
    data_dir: Path = Path(".newsflow-data")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    log_level: str = "INFO"
    batch_size: int = Field(default=256, ge=1)
    batch_within_seconds: float = Field(default=0.01, gt=0)
    # How long the producer gathers records into one request. Every internal hop pays it
    # twice (its output waits, and the batch waits for the acknowledgement).
    producer_linger_seconds: float = Field(default=0.005, ge=0)
    # faust waits this long for a group to settle; tests lower it.
    session_timeout_seconds: float = Field(default=30.0, gt=0)
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # /readyz turns 503 when a finished batch has waited this long for its commit.
    stall_seconds: float = Field(default=60.0, gt=0)
    # How often input offsets are committed (under exactly_once: the transaction). A crash
    # under at_least_once repeats up to this much input per stage, and read_committed
    # consumers see output this much later under exactly_once; shorter means more commits
    # (and transaction markers) for the broker. faust's default.
    commit_interval_seconds: float = Field(default=2.8, gt=0)
    # Kafka static membership (KIP-345): a worker restarted under the same id takes back
    # its partitions at once instead of waiting out the dead member's session. Each
    # worker needs its own (a pod name, a systemd instance). Unset, exactly_once uses
    # `<app_id>-worker` (it runs one worker per app id); at_least_once joins dynamically.
    # The cost: a static worker that stops leaves its partitions idle for a session.
    group_instance_id: str | None = Field(default=None, min_length=1)

    kafka_security: KafkaSecurity = KafkaSecurity()
    topics: TopicSettings = TopicSettings()
    decode: DecodeConfig = DecodeConfig()
    clean: CleanConfig = CleanConfig()
    dedup: DedupConfig = DedupConfig()

    # Issue-facing names kept flat: NEWSFLOW_LANGUAGES, NEWSFLOW_SECTION_MODEL.
    languages: Annotated[tuple[str, ...], NoDecode] = ()
    section_model: Path | None = None
    # Below this confidence the section is left empty (bench/results/tag.md has the
    # reliability table it was chosen from).
    section_min_confidence: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _store_fits_guarantee(self) -> Settings:
        # faust 0.15.3 writes Table changes to RocksDB as they are made, not when the
        # transaction commits, so an aborted transaction (a worker killed mid-batch)
        # leaves writes in RocksDB that no read_committed changelog reader ever sees; and
        # under exactly_once it never stores the changelog offset it has read up to
        # (`TableManager.on_commit` looks it up by *input* partition, robinhood/faust#599),
        # so a restart reads the whole changelog anyway, onto those writes.
        if self.store == "rocksdb://" and self.processing_guarantee == "exactly_once":
            raise ValueError(
                "NEWSFLOW_STORE=rocksdb:// does not work with NEWSFLOW_PROCESSING_GUARANTEE="
                "exactly_once: faust writes Table changes to RocksDB before the transaction "
                "commits, so an aborted transaction leaves them behind. Use memory:// with "
                "exactly_once, or rocksdb:// with at_least_once (README, Configuration)")
        return self

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(code.strip().lower() for code in value.split(",") if code.strip())
        return value

    @property
    def tag(self) -> TagConfig:
        return TagConfig(languages=self.languages, section_model=self.section_model,
                         min_section_confidence=self.section_min_confidence)

    @property
    def consumer_instance_id(self) -> str | None:
        if self.group_instance_id is not None:
            return self.group_instance_id
        if self.processing_guarantee == "exactly_once":
            return f"{self.app_id}-worker"
        return None

    @property
    def broker_url(self) -> str:
        hosts = ";".join(f"kafka://{h.strip()}" for h in self.kafka_bootstrap.split(","))
        return hosts
