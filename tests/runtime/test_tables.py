"""Table-backed pipeline state: a failing store is the worker's trouble, not the record's."""

from __future__ import annotations

from typing import Any

import pytest

from service.errors import InfrastructureError
from service.runtime.tables import Guarded, StorageFailure


class Broken(dict[str, Any]):
    def __setitem__(self, key: str, value: Any) -> None:
        raise Exception("IO error: No space left on device")  # rocksdict's error type


def test_a_store_failure_is_an_infrastructure_error_and_a_missing_key_is_not() -> None:
    store = Guarded(Broken(kept=1))
    assert store["kept"] == 1 and "gone" not in store and store.get("gone") is None
    with pytest.raises(KeyError):
        store["gone"]
    with pytest.raises(StorageFailure, match="No space left") as failure:
        store["new"] = 2
    assert isinstance(failure.value, InfrastructureError)
    assert len(store) == 1 and list(store) == ["kept"]
