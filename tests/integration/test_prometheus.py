"""A real Prometheus scrapes a real worker on a real broker; its answers match what happened.

One worker and one Prometheus server (Debian's package, via scripts/prometheus.sh) serve
every test in this module: articles go in through Kafka, the outputs are read back from
the topics, and Prometheus's HTTP API must report the same counts per outcome. The
Grafana dashboard and the alert rules are then checked against the live series.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from service.batch import run as run_batch
from support.kafka import WorkerProcess, collect, free_port, isolated_env, produce, settings_from
from tests.test_deploy import DASHBOARD, PROMETHEUS, SYNTHETIC_SERIES, dashboard_queries, tool
from tests.test_deploy import metric_names as names_in

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "articles.jsonl"
JOB = "newsflow"


def inputs() -> list[bytes]:
    """Samples (good and bad), exact copies under new ids, and three kinds of invalid input."""
    lines = [line for line in SAMPLES.read_bytes().splitlines() if line.strip()]
    good = [orjson.loads(line) for line in lines if _is_article(line)]
    copies = [
        orjson.dumps({**doc, "id": f"{doc['id']}-copy", "url": None}) for doc in good[:3]
    ]
    invalid = [b"not json at all", b"\xff\xfe\x00 not utf-8", b'{"id": "empty", "text": ""}']
    return lines + copies + invalid


def _is_article(line: bytes) -> bool:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and bool(doc.get("text") or doc.get("html"))


@dataclass
class Stack:
    worker: WorkerProcess
    env: dict[str, str]
    prometheus_url: str
    expected: Counter[str]  # outcome -> count, from the records read off the output topics
    codes: Counter[str]  # rejection code -> count
    total: int

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def by(self, label: str, promql: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql)}

    def scalar(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def scrape(self) -> str:
        url = f"http://127.0.0.1:{self.worker.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text: str = response.read().decode()
        return text


def start_prometheus(tmp: Path, target: str) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus on a free loopback port, scraping `target` every second, with our rules."""
    port = free_port()
    (tmp / "alerts.yml").write_bytes((PROMETHEUS / "alerts.yml").read_bytes())
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            tool("prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp / "prometheus.log").read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError("prometheus not ready in 60s")


def wait_for(check: Any, timeout: float = 45.0, what: str = "") -> Any:
    """Poll `check()` until it returns a truthy value; the last value is in the failure."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("prometheus")
    # One raw partition keeps the order, so the verdicts equal batch mode's exactly.
    env = isolated_env(kafka_bootstrap, NEWSFLOW_TOPICS__PARTITIONS="1")
    settings = settings_from(env)
    worker = WorkerProcess(env, tmp / "worker.log").start()
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        worker.wait_ready()
        prometheus, url = start_prometheus(tmp, f"127.0.0.1:{worker.web_port}")
        # Traffic only after a first scrape, so rate() sees the counters move, and after
        # the alert rules saw the worker up (absent(up) is briefly true before that).
        probe = Stack(worker, env, url, Counter(), Counter(), 0)
        wait_for(lambda: probe.query(f'up{{job="{JOB}"}} == 1'), what="a first scrape")
        time.sleep(3)
        lines = inputs()
        asyncio.run(produce(kafka_bootstrap, settings.topics.raw, lines, partitions=1))
        records = asyncio.run(collect(settings, expected=len(lines)))
        assert len(records) == len(lines), worker.log()

        expected: Counter[str] = Counter()
        codes: Counter[str] = Counter()
        for record in records:
            if "error" in record.value:
                expected["rejected"] += 1
                codes[record.value["error"]["code"]] += 1
            else:
                status = record.value["dedup"]["status"]
                expected["clean" if status == "unique" else status] += 1
        yield Stack(worker, env, url, expected, codes, len(lines))
    finally:
        if prometheus is not None:
            prometheus.terminate()
            try:
                prometheus.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prometheus.kill()
                prometheus.wait()
        worker.kill()


def outputs_by_outcome(stack: Stack) -> dict[str, float]:
    return stack.by(
        "outcome", f'sum by (outcome) (newsflow_messages_total{{job="{JOB}", outcome!="tagged"}})'
    )


def test_prometheus_counts_match_the_output_topics(stack: Stack) -> None:
    # The inputs hold every outcome, so a counter that is never incremented would show.
    assert stack.expected["clean"] > 0 and stack.expected["rejected"] >= 4
    assert stack.expected["duplicate"] + stack.expected["near_duplicate"] >= 3
    want = {outcome: float(n) for outcome, n in stack.expected.items()}
    want = {"clean": 0.0, "duplicate": 0.0, "near_duplicate": 0.0, "rejected": 0.0} | want
    got = wait_for(lambda: (o := outputs_by_outcome(stack)) == want and o, what=f"{want}")
    assert sum(got.values()) == stack.total, "every input is counted once, on one outcome"

    codes = stack.by("code", f'sum by (code) (newsflow_rejections_total{{job="{JOB}"}} > 0)')
    assert codes == {code: float(n) for code, n in stack.codes.items()}
    assert {"invalid_json", "invalid_utf8"} <= set(codes)

    # Everything not rejected at the first stage was handed to dedup, and dedup emitted it.
    tagged = stack.scalar(f'sum(newsflow_messages_total{{job="{JOB}", outcome="tagged"}})')
    dedup = stack.scalar(f'sum(newsflow_messages_total{{job="{JOB}", stage="dedup"}})')
    assert tagged == dedup
    assert dedup == stack.total - stack.by(
        "stage", f'sum by (stage) (newsflow_rejections_total{{job="{JOB}"}})'
    ).get("prepare", 0)

    # Per-article series add up to the unique articles; one latency sample per output.
    clean = float(stack.expected["clean"])
    for family in ("newsflow_articles_by_language_total", "newsflow_articles_by_section_total"):
        assert stack.scalar(f'sum({family}{{job="{JOB}"}})') == clean, family
    latency = stack.scalar(f'sum(newsflow_end_to_end_latency_seconds_count{{job="{JOB}"}})')
    assert latency == stack.total
    cleaned = stack.scalar(f'sum(newsflow_clean_text_chars_count{{job="{JOB}"}})')
    assert cleaned == tagged


def test_batch_mode_predicts_the_same_counts(stack: Stack, tmp_path: Path) -> None:
    settings = settings_from(isolated_env("127.0.0.1:1"))
    predicted: Counter[str] = Counter()
    for output in run_batch(iter(inputs()), settings, "inputs"):
        if output.topic == settings.topics.rejected:
            predicted["rejected"] += 1
        else:
            status = output.value()["dedup"]["status"]
            predicted["clean" if status == "unique" else status] += 1
    got = wait_for(lambda: outputs_by_outcome(stack), what="outputs")
    assert {k: v for k, v in got.items() if v} == {k: float(n) for k, n in predicted.items()}


def lag_by_topic(stack: Stack) -> dict[str, float]:
    return stack.by("topic", f'sum by (topic) (newsflow_consumer_lag_messages{{job="{JOB}"}})')


def test_worker_is_up_ready_and_reports_lag(stack: Stack) -> None:
    assert stack.scalar(f'up{{job="{JOB}"}}') == 1.0
    wait_for(lambda: stack.scalar(f'newsflow_ready{{job="{JOB}"}}') == 1.0, what="ready")
    topics = wait_for(lambda: lag_by_topic(stack), what="lag series")
    inputs_ = {t for t in topics if t.endswith((".raw", ".tagged"))}
    assert len(inputs_) == 2, topics
    # Once everything is processed and committed, the worker is not behind on its inputs.
    wait_for(
        lambda: all(lag_by_topic(stack).get(t) == 0.0 for t in inputs_),
        timeout=60,
        what="input lag back to 0",
    )


def test_lag_is_reported_for_input_topics_only(stack: Stack) -> None:
    """Changelog partitions are written, never committed: their 'lag' only ever grows."""
    topics = wait_for(lambda: lag_by_topic(stack), what="lag series")
    assert all(t.endswith((".raw", ".tagged")) for t in topics), sorted(topics)


def test_dashboard_queries_name_exported_metrics_and_run(stack: Stack) -> None:
    exported: set[str] = set()
    for family in text_string_to_metric_families(stack.scrape()):
        exported.add(family.name)
        exported.update(sample.name for sample in family.samples)
    assert "newsflow_stage_duration_seconds_bucket" in exported

    dashboard = json.loads(DASHBOARD.read_text())
    queries = dashboard_queries(dashboard)
    assert len(queries) >= 15
    with_data = set()
    for title, expr in queries:
        used = names_in(expr)
        assert used, f"{title}: names no metric"
        missing = used - exported - SYNTHETIC_SERIES
        assert not missing, f"{title}: {sorted(missing)} not exported by the worker"
        if expr.startswith("label_values("):
            continue
        promql = (
            expr.replace("$__rate_interval", "1m")
            .replace("$__range", "5m")
            .replace('job=~"$job"', f'job=~"{JOB}"')
        )
        assert "$" not in promql, promql
        if stack.query(promql):  # raises unless Prometheus accepts the query
            with_data.add(title)
    for title in (
        "Throughput by stage and outcome",
        "Rejects by reason",
        "End-to-end latency p50 / p95 / p99",
        "Duplicate ratio",
        "Language mix",
        "Section mix",
        "Top sources",
    ):
        assert title in with_data, f"{title} shows nothing after a real run"
    jobs = stack.by("job", "count by (job) (newsflow_build_info)")
    assert JOB in jobs, "the $job variable's query finds the worker"


def test_alert_rules_evaluate_cleanly_and_stay_quiet(stack: Stack) -> None:
    def rules() -> list[dict[str, Any]]:
        url = f"{stack.prometheus_url}/api/v1/rules"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        found = [r for g in body["data"]["groups"] for r in g["rules"]]
        return found if all(r.get("lastEvaluation", "").startswith("2") for r in found) else []

    evaluated = wait_for(rules, what="rule evaluation")
    assert len(evaluated) == len(yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())[
        "groups"
    ][0]["rules"])
    for rule in evaluated:
        assert rule["health"] == "ok", rule
        # A healthy run with a ready worker: nothing may be pending or firing.
        assert rule["state"] == "inactive", rule


def test_topics_describe_shows_end_offsets(stack: Stack) -> None:
    """`newsflow topics describe` counts what went into and out of the worker."""
    settings = settings_from(stack.env)
    names = [settings.topics.raw, settings.topics.clean, settings.topics.rejected, "no.such"]
    done = subprocess.run(
        [sys.executable, "-m", "service", "topics", "describe", *names],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, "a missing topic makes describe fail"
    lines = done.stdout.splitlines()
    totals = {
        line.split("\t")[0]: int(line.rsplit("=", 1)[1])
        for line in lines
        if "end_offset_total=" in line
    }
    assert totals[settings.topics.raw] == stack.total
    assert totals[settings.topics.rejected] == stack.expected["rejected"]
    assert f"{settings.topics.raw}\tpartitions=1\treplication=1\tend_offset_total" in done.stdout
    assert "no.such\tmissing" in lines
