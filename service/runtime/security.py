"""Kafka client security from `Settings.kafka_security`: TLS and SASL for every client.

faust takes `broker_credentials`; plain aiokafka clients (admin, producer, tail) take
keyword arguments. Both are built here from one sub-config, so the worker and the tools
always agree on how they authenticate. The password leaves its SecretStr only here.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer
from faust.auth import Credentials, SASLCredentials, SSLCredentials

from service.settings import KafkaSecurity, Settings

__all__ = ["aiokafka_kwargs", "committed_reader", "faust_credentials", "ssl_context"]

# A record may be as large as the raw topic allows (16 MiB); a fetch holds a few.
MAX_PARTITION_FETCH_BYTES = 16 * 1024 * 1024
FETCH_MAX_BYTES = 64 * 1024 * 1024


def ssl_context(security: KafkaSecurity) -> ssl.SSLContext | None:
    """A client TLS context trusting `ssl_cafile` (else the system store), or None."""
    if not security.uses_ssl:
        return None
    context = ssl.create_default_context(
        purpose=ssl.Purpose.SERVER_AUTH,
        cafile=str(security.ssl_cafile) if security.ssl_cafile else None,
    )
    context.check_hostname = security.ssl_check_hostname
    if security.ssl_certfile is not None and security.ssl_keyfile is not None:
        context.load_cert_chain(str(security.ssl_certfile), str(security.ssl_keyfile))
    return context


def faust_credentials(settings: Settings) -> Credentials | None:
    """faust's `broker_credentials`, or None for PLAINTEXT."""
    security = settings.kafka_security
    context = ssl_context(security)
    if security.security_protocol.startswith("SASL_"):
        assert security.password is not None  # checked by KafkaSecurity
        return SASLCredentials(
            username=security.username,
            password=security.password.get_secret_value(),
            ssl_context=context,
            mechanism=security.sasl_mechanism,
        )
    if context is not None:
        return SSLCredentials(context)
    return None


def aiokafka_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer/Consumer/AdminClient."""
    security = settings.kafka_security
    kwargs: dict[str, Any] = {"security_protocol": security.security_protocol}
    context = ssl_context(security)
    if context is not None:
        kwargs["ssl_context"] = context
    if security.security_protocol.startswith("SASL_"):
        assert security.password is not None
        kwargs.update(
            sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.username,
            sasl_plain_password=security.password.get_secret_value(),
        )
    return kwargs


def committed_reader(settings: Settings, *topics: str) -> AIOKafkaConsumer:
    """A consumer of committed records only, from the earliest offset, committing
    nothing: what `replay`, `tail` and the offset guard read topics with."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        **aiokafka_kwargs(settings),
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=MAX_PARTITION_FETCH_BYTES,
        fetch_max_bytes=FETCH_MAX_BYTES,
    )
