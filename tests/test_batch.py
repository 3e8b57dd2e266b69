from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from service import batch
from service.batch import JobStats, process_file
from service.models import Origin
from service.settings import CleanConfig, Settings
from support.outputs import without_clocks
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


# --- `--jobs N` (issue 17): the same output as one job ----------------------------------

# Clocks, not verdicts: when the line was processed, when a dead letter was made.
KILL_MARK = "KILL-THE-PREPARE-JOB"
INPUT = Path(tempfile.gettempdir()) / f"newsflow-test-batch-{os.getpid()}.jsonl"


def mixed_input() -> list[bytes]:
    """Flattened pages of 7 sites (chrome learned per source), HTML pages, the samples and
    every hostile kind, interleaved: what a real backfill mixes."""
    from bench.common import synthetic_payloads
    from support.hostile import interleaved

    text, html = synthetic_payloads("text", 160), synthetic_payloads("html", 24)
    hostile = [payload for _, payload in interleaved()]
    samples = SAMPLES.read_bytes().splitlines()
    lines: list[bytes] = []
    for i, page in enumerate(text):
        lines.append(page)
        if i % 8 == 0 and html:
            lines.append(html.pop())
        if i % 4 == 0 and hostile:
            lines.append(hostile.pop())
    return lines + html + hostile + samples


# `jobs=2` starts job processes: these tests are `subprocess` ones, outside `make test-fast`.
JOB_PROCESSES = pytest.mark.subprocess


def run_jobs(tmp_path: Path, lines: list[bytes], jobs: int) -> tuple[Path, JobStats]:
    # One input path for every run: the origin of a dead letter names its file.
    source, target = INPUT, tmp_path / f"out-{jobs}.jsonl"
    tmp_path.mkdir(exist_ok=True)
    source.write_bytes(b"\n".join(lines) + b"\n")
    stats = JobStats()
    # The clean deadline is wall time: on a loaded box a hostile page may pass it in one
    # run and not in another, whatever the jobs. Far off, it leaves only routing to test.
    settings = Settings(clean=CleanConfig(deadline_seconds=600))
    process_file(source, target, settings, jobs=jobs, job_stats=stats)
    return target, stats


@pytest.fixture(scope="module")
def one_job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[bytes], Path]]:
    lines = mixed_input()
    target, _ = run_jobs(tmp_path_factory.mktemp("one"), lines, 1)
    yield lines, target
    INPUT.unlink(missing_ok=True)


@JOB_PROCESSES
def test_two_jobs_give_the_output_of_one(tmp_path: Path, one_job: tuple[list[bytes], Path]) -> None:
    lines, expected = one_job
    target, stats = run_jobs(tmp_path, lines, 2)
    one, two = without_clocks(expected), without_clocks(target)
    assert len(two) == len(lines)
    assert two == one  # same order, verdicts, rejects and learned chrome
    topics = {str(record["topic"]) for record in one}
    assert topics == {"articles.clean", "articles.duplicates", "articles.rejected"}
    learned = sum(
        record["value"]["cleaning"]["removed"].get("learned", 0)  # type: ignore[index]
        for record in one
        if record["topic"] != "articles.rejected"
    )
    assert learned > 100  # the per-source memory was at work, so routing mattered
    assert all(n > 0 for n in stats.records) and stats.restarts == 0


@JOB_PROCESSES
def test_routing_sources_to_one_job_is_what_keeps_learning_the_same(
    tmp_path: Path, one_job: tuple[list[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: pages dealt out round robin (a source's pages split over both jobs)
    learn different chrome, so the equality above is not an accident of the input."""
    lines, expected = one_job
    turn = iter(range(10**9))
    monkeypatch.setattr(batch._Router, "job", lambda self, payload: next(turn) % 2)
    target, _ = run_jobs(tmp_path, lines, 2)
    assert without_clocks(target) != without_clocks(expected)


def prepare_or_die(items: list[tuple[bytes, Origin]]) -> object:
    """The job's prepare, except that a record carrying KILL_MARK kills its process."""
    if any(KILL_MARK.encode() in payload for payload, _ in items):
        os.kill(os.getpid(), signal.SIGKILL)
    return batch._worker_prepare(items)


@JOB_PROCESSES
def test_a_record_that_kills_its_job_is_a_dead_letter_and_no_line_is_lost(
    tmp_path: Path, one_job: tuple[list[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.hostile import prose

    lines = list(one_job[0])
    killers: dict[int, bytes] = {}
    for n in (5, 77, 78, len(lines) - 3):  # good articles with no source: nothing learned
        text = f"{KILL_MARK} {prose(n, 6)}"
        killers[n] = orjson.dumps({"id": f"kill-{n}", "text": text})
        lines.insert(n, killers[n])
    expected, _ = run_jobs(tmp_path / "one", lines, 1)  # in one process nothing dies
    monkeypatch.setattr(batch, "_worker_prepare", prepare_or_die)
    target, stats = run_jobs(tmp_path, lines, 2)
    out, one = without_clocks(target), without_clocks(expected)
    assert len(out) == len(lines)
    for n, record in enumerate(out):
        if n not in killers:
            assert record == one[n], n
            continue
        value: Any = record["value"]
        assert record["topic"] == "articles.rejected"
        assert value["error"]["code"] == "processing_failed"
        message = value["error"]["message"]
        assert "died on this record (" in message
        # The forkserver sometimes loses the status of a SIGKILLed child (batch._STATUS_LOST).
        assert "killed by signal SIGKILL" in message or "exit status was lost" in message
        assert value["origin"]["line"] == n + 1
        assert value["payload"] == killers[n].decode()
    assert sorted(o.line or 0 for o in stats.killed_by) == [n + 1 for n in killers]


def test_cli_process_jobs_option(tmp_path: Path, newsflow_cli: NewsflowCli) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    newsflow_cli("process", str(SAMPLES), "-o", str(one), "--jobs", "1", check=True, timeout=120)
    newsflow_cli("process", str(SAMPLES), "-o", str(two), "-j", "2", check=True, timeout=120)
    assert without_clocks(two) == without_clocks(one)


def _language_model_was_inherited() -> bool:
    """In a job: whether its Pipeline found the language model already loaded (by the
    forkserver it was forked from) instead of loading its own."""
    from service.stages.tag.stage import _load_identifier

    return _load_identifier.cache_info().hits >= 1


@JOB_PROCESSES
def test_jobs_share_the_language_model_the_forkserver_loaded() -> None:
    pool = batch._Jobs(Settings(), 2, JobStats(), None)
    try:
        inherited = [e.submit(_language_model_was_inherited).result() for e in pool.executors]
    finally:
        pool.close()
    assert inherited == [True, True]
