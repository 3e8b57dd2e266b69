from __future__ import annotations

from pathlib import Path

import orjson

from service.batch import process_file
from service.settings import Settings
from tests.conftest import NewsflowCli

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "articles.jsonl"


def test_one_output_line_per_input_line_in_order(tmp_path: Path) -> None:
    lines = [
        b'{"id": "a", "text": "'
        + b"The mayor opened the new bridge on Friday morning. " * 3
        + b'"}',
        b"",
        b"\xff",
        b'{"id": "b", "text": 7}',
        b'{"id": "c", "text": "'
        + b"The mayor opened the new bridge on Friday morning. " * 3
        + b'"}',
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    counts = process_file(source, target, Settings())
    out = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    assert len(out) == len(lines)
    assert [o["topic"] for o in out] == [
        "articles.clean",
        "articles.rejected",
        "articles.rejected",
        "articles.rejected",
        "articles.duplicates",
    ]
    assert [o["value"]["origin"]["line"] for o in out[1:4]] == [2, 3, 4]
    assert [o["value"]["error"]["code"] for o in out[1:4]] == [
        "invalid_json",
        "invalid_utf8",
        "schema_violation",
    ]
    assert out[4]["value"]["dedup"]["duplicate_of"] == "a"
    assert counts == {"articles.clean": 1, "articles.rejected": 3, "articles.duplicates": 1}


def test_cli_process_on_the_seed_page(
    tmp_path: Path, seed_text: str, newsflow_cli: NewsflowCli
) -> None:
    source = tmp_path / "seed.jsonl"
    source.write_bytes(orjson.dumps({"id": "seed", "text": seed_text}) + b"\n")
    result = newsflow_cli("process", str(source), check=True, timeout=120)
    [line] = result.stdout.splitlines()
    record = orjson.loads(line)
    assert record["topic"] == "articles.clean"
    article = record["value"]
    assert "Listen Live" not in article["text"] and "Get short URL" not in article["text"]
    assert "Terrorists in Syria win because of Washington" in article["text"]
    assert article["language"]["code"] == "en"
    assert b"processed 1 lines" in result.stderr


def test_cli_process_on_the_samples_keeps_counts(
    tmp_path: Path, newsflow_cli: NewsflowCli
) -> None:
    target = tmp_path / "out.jsonl"
    newsflow_cli("process", str(SAMPLES), "-o", str(target), check=True, timeout=120)
    inputs = [line for line in SAMPLES.read_bytes().splitlines()]
    assert len(target.read_bytes().splitlines()) == len(inputs)
