"""Dedup: one rule (`rule`), one signature (`signature`), one engine (`engine`).

Batch mode runs the engine in one process (`LocalDedup`); the worker runs the same
engine spread over partitions (`service/runtime/dedup.py`). See `rule` for the
contract every mode keeps.
"""

from service.stages.dedup.engine import (
    BandStore,
    Correction,
    Evicted,
    Gatherer,
    Journal,
    LocalDedup,
    Offer,
    Probe,
    make_probe,
    per_partition,
    probe_keys,
    reference_verdicts,
)
from service.stages.dedup.rule import URL_FLOOR, Candidate, Verdict, decide, improve, match
from service.stages.dedup.signature import Signer, body_fingerprint, signer, similarity

__all__ = [
    "URL_FLOOR",
    "BandStore",
    "Candidate",
    "Correction",
    "Evicted",
    "Gatherer",
    "Journal",
    "LocalDedup",
    "Offer",
    "Probe",
    "Signer",
    "Verdict",
    "body_fingerprint",
    "decide",
    "improve",
    "make_probe",
    "match",
    "per_partition",
    "probe_keys",
    "reference_verdicts",
    "signer",
    "similarity",
]
