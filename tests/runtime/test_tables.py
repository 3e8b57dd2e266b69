from __future__ import annotations

import pytest

from service.runtime.tables import WriteBehindStore


def test_writes_wait_for_flush_and_reads_see_them() -> None:
    table: dict[str, object] = {"a": 1}
    store = WriteBehindStore(table)
    store["b"] = 2
    assert store["b"] == 2 and "b" not in table
    del store["a"]
    with pytest.raises(KeyError):
        store["a"]
    assert store.get("a") is None and table["a"] == 1
    assert store.flush() == 2
    assert table == {"b": 2}


def test_deleting_a_missing_key_raises_like_a_dict() -> None:
    with pytest.raises(KeyError):
        del WriteBehindStore({})["nope"]
