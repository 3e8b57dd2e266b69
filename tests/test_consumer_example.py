"""examples/consumer.py's upsert rule, in whatever order the two topics deliver."""

from __future__ import annotations

import importlib.util
import itertools
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "consumer.py"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("newsflow_example_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def article(status: str, of: str | None, correction: bool = False) -> bytes:
    value: dict[str, Any] = {"id": "b", "dedup": {"status": status, "duplicate_of": of,
                                                  "similarity": 1.0}}
    if correction:
        value["correction"] = {"reason": "late_copy", "previous": None}
    return orjson.dumps(value)


def test_a_correction_wins_whatever_the_order(tmp_path: Path) -> None:
    consumer = example()
    first = ("clean", 0, 10, article("unique", None))
    correction1 = ("duplicates", 2, 5, article("duplicate", "a", correction=True))
    correction2 = ("duplicates", 2, 9, article("near_duplicate", "z", correction=True))
    replayed_first = ("clean", 0, 11, article("unique", None))  # at_least_once repeat
    records = [first, correction1, correction2, replayed_first]
    for n, order in enumerate(itertools.permutations(records)):
        # Within a partition Kafka keeps order: only interleavings across partitions.
        if order.index(correction1) > order.index(correction2):
            continue
        if order.index(first) > order.index(replayed_first):
            continue
        db = consumer.open_db(str(tmp_path / f"{n}.db"))
        for topic, partition, offset, value in order:
            consumer.apply(db, topic, partition, [(offset, value)])
        assert db.execute("SELECT status, duplicate_of, corrected FROM articles").fetchall() \
            == [("near_duplicate", "z", 1)], order
        offsets = dict(((t, p), o) for t, p, o in db.execute("SELECT * FROM consumer_offsets"))
        assert offsets == {("clean", 0): 12, ("duplicates", 2): 10}
        db.close()


def test_dead_letters_and_empty_values_are_passed_over(tmp_path: Path) -> None:
    consumer = example()
    db = consumer.open_db(str(tmp_path / "x.db"))
    applied = consumer.apply(db, "articles.rejected", 0,
                             [(0, orjson.dumps({"error": {"code": "invalid_json"}})), (1, None)])
    assert applied == 0
    assert db.execute("SELECT count(*) FROM articles").fetchone() == (0,)
    assert isinstance(db, sqlite3.Connection)


RECIPE = EXAMPLE.parent / "console-recipe.sql"


def test_the_console_recipe_applies_the_same_rule(tmp_path: Path) -> None:
    """The README's kafka-console-consumer recipe: lines in a partition's order (a
    correction after the record it corrects), the two topics interleaved any way."""
    clean = [article("unique", None), article("unique", None)]  # a first verdict, replayed
    duplicates = [article("duplicate", "a", correction=True),
                  article("near_duplicate", "z", correction=True)]
    for n, picks in enumerate(set(itertools.permutations("ccdd"))):
        streams = {"c": iter(clean), "d": iter(duplicates)}
        db = sqlite3.connect(tmp_path / f"{n}.db")
        db.executescript(RECIPE.read_text())
        for pick in picks:
            line = next(streams[pick]).decode()
            # what the recipe's sed makes of a line
            db.executescript("INSERT INTO inbox VALUES ('" + line.replace("'", "''") + "');")
        db.executescript("INSERT INTO inbox VALUES ('{\"error\": {\"code\": \"x\"}}');")
        assert db.execute("SELECT status, duplicate_of, corrected FROM articles").fetchall() \
            == [("near_duplicate", "z", 1)], picks
        assert db.execute("SELECT count(*) FROM inbox").fetchone() == (0,)
        db.close()


def test_the_readme_shows_the_recipe_file() -> None:
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    body = RECIPE.read_text().split("\n", 2)[2]  # without the two comment lines
    assert "```sql\n-- recipe.sql\n" + body + "```" in readme
