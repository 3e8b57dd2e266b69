"""Pipeline state backed by faust Tables, so it survives restarts and rebalances."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import faust
from faust.types import TableT

from service.settings import Settings
from service.stages.index import STORES


def make_dedup_tables(app: faust.App, settings: Settings) -> dict[str, TableT]:
    # Dedup reads one ordered stream (tagged_partitions, 1 by default) so the tables are
    # co-partitioned with it; use_partitioner lets batch code write without an event.
    return {
        name: app.Table(
            f"newsflow-dedup-{name}",
            partitions=settings.topics.tagged_partitions,
            key_type=str,
            use_partitioner=True,
            help=f"Dedup index store {name!r} (see service/stages/index.py).",
        )
        for name in STORES
    }


def make_boilerplate_table(app: faust.App, settings: Settings) -> TableT:
    # Learned chrome per source. Keys spread over the raw topic's partition count; after a
    # rebalance a worker relearns the sources whose partitions it did not restore.
    return app.Table(
        "newsflow-boilerplate",
        partitions=settings.topics.partitions,
        key_type=str,
        use_partitioner=True,
        help="Per-source line-hash windows for boilerplate learning.",
    )


_DELETED = object()


class WriteBehindStore(MutableMapping[str, Any]):
    """Reads through to a Table; writes wait here until `flush()` on the event loop.

    Cleaning runs in an executor thread, and a Table write sends a changelog record,
    which must happen on the loop thread. The agent flushes after every batch.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self._table = table
        self._pending: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self._pending[key] if key in self._pending else self._table[key]
        if value is _DELETED:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._pending[key] = value

    def __delitem__(self, key: str) -> None:
        self[key]  # raises KeyError when absent, like a dict
        self._pending[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        raise TypeError("iterating a Table-backed store is not supported")

    def __len__(self) -> int:
        return len(self._table)

    def flush(self) -> int:
        written = len(self._pending)
        for key, value in self._pending.items():
            if value is _DELETED:
                self._table.pop(key, None)
            else:
                self._table[key] = value
        self._pending.clear()
        return written
