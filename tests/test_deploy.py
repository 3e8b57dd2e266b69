"""The deploy/ files hang together: compose wiring, ports, provisioning, and promtool's verdict.

Docker cannot run here, so docker-compose.yml is checked structurally. Prometheus files
are checked by the real `promtool` (installed by scripts/prometheus.sh).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from service import metrics

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "newsflow.json"
INSTALL_SCRIPT = ROOT / "scripts" / "prometheus.sh"

# Series Prometheus itself adds to every target; no exporter defines them.
SYNTHETIC_SERIES = frozenset({"up"})
_METRIC = re.compile(r"\b(newsflow_[a-z0-9_]+)\b")


@cache
def tool(name: str) -> str:
    """Path of `prometheus` or `promtool`: PATH first, else install via scripts/prometheus.sh."""
    found = shutil.which(name)
    if found is None:
        done = subprocess.run(
            ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=900
        )
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} unavailable; scripts/prometheus.sh said:\n{done.stderr[-2000:]}")
    return found


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(ROOT / "docker-compose.yml")
    return data


def exported_names() -> set[str]:
    """Every sample name the worker's registry can export (histograms as _bucket/_sum/_count)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def metric_names(expr: str) -> set[str]:
    synthetic = {n for n in SYNTHETIC_SERIES if re.search(rf"\b{n}\b", expr)}
    return set(_METRIC.findall(expr)) | synthetic


def dashboard_queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every panel target and the templating queries."""
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                found.append((panel["title"], target["expr"]))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and query:
            found.append((f"${variable['name']}", str(query)))
    return found


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path for the `./host:/container[:ro]` volumes."""
    mounts = {}
    for volume in service.get("volumes", []):
        parts = volume.split(":")
        if parts[0].startswith("."):
            mounts[parts[1]] = (ROOT / parts[0]).resolve()
    return mounts


def published(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port."""
    ports = {}
    for mapping in service.get("ports", []):
        parts = str(mapping).split(":")
        container, host = parts[-1], parts[-2] if len(parts) > 1 else parts[-1]
        ports[int(container)] = int(host)
    return ports


# -- compose ---------------------------------------------------------------------------


def test_compose_has_the_four_services_wired() -> None:
    services = compose()["services"]
    assert set(services) >= {"kafka", "worker", "prometheus", "grafana"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    roles = services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert set(roles.split(",")) == {"broker", "controller"}, "KRaft, no ZooKeeper"
    assert "zookeeper" not in services
    assert services["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "worker" in services["prometheus"]["depends_on"]
    assert "prometheus" in services["grafana"]["depends_on"]


def test_compose_referenced_files_exist() -> None:
    services = compose()["services"]
    build = services["worker"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    for name, service in services.items():
        for container, host in bind_mounts(service).items():
            assert host.exists(), f"{name}: {host} (mounted at {container}) is missing"


def test_dockerfile_copies_existing_paths_and_exposes_the_web_port() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                if "*" not in source:
                    assert (ROOT / source).exists(), line
    assert re.search(r"^EXPOSE 6066$", text, re.M)
    assert "NEWSFLOW_WEB_HOST=0.0.0.0" in text, "the worker must listen beyond loopback"
    assert re.search(r'^ENTRYPOINT \["newsflow"\]', text, re.M)


def test_ports_agree_across_compose_prometheus_and_grafana() -> None:
    services = compose()["services"]
    worker_env = services["worker"]["environment"]
    web_port = int(worker_env["NEWSFLOW_WEB_PORT"])
    assert worker_env["NEWSFLOW_WEB_HOST"] == "0.0.0.0"
    assert web_port in published(services["worker"])

    # The worker's bootstrap names the kafka service's in-network listener.
    host, port = worker_env["NEWSFLOW_KAFKA_BOOTSTRAP"].split(":")
    advertised = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{host}:{port}" in advertised
    assert f":{port}" in services["kafka"]["environment"]["KAFKA_LISTENERS"]
    assert host == "kafka"

    # Prometheus scrapes the worker service on its web port.
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "newsflow")
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"worker:{web_port}"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert 9090 in published(services["prometheus"])

    # Grafana's datasource points at the prometheus service.
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    url = datasources["datasources"][0]["url"]
    assert url == "http://prometheus:9090"
    assert 3000 in published(services["grafana"])


def test_prometheus_rule_files_are_mounted_beside_the_config() -> None:
    prometheus = compose()["services"]["prometheus"]
    mounts = bind_mounts(prometheus)
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = config_arg.split("=", 1)[1]
    assert mounts[config_path] == (PROMETHEUS / "prometheus.yml").resolve()
    for rule_file in load_yaml(PROMETHEUS / "prometheus.yml")["rule_files"]:
        in_container = str(Path(config_path).parent / rule_file)
        assert mounts.get(in_container) == (PROMETHEUS / rule_file).resolve(), rule_file


def test_grafana_provisioning_matches_the_mounts_and_dashboard() -> None:
    grafana = compose()["services"]["grafana"]
    mounts = bind_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == (GRAFANA / "provisioning").resolve()
    providers = load_yaml(GRAFANA / "provisioning" / "dashboards" / "newsflow.yml")["providers"]
    path = providers[0]["options"]["path"]
    assert mounts[path] == DASHBOARD.parent.resolve()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent == Path(path) and Path(home).name == DASHBOARD.name

    uid = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"][
        0
    ]["uid"]
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == uid, panel["title"]


# -- dashboard and alerts against the metric definitions ------------------------------


def test_dashboard_has_the_required_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = {title for title, _ in dashboard_queries(dashboard)}
    for wanted in (
        "Throughput by stage and outcome",
        "Rejects by reason",
        "Consumer lag by topic",
        "End-to-end latency p50 / p95 / p99",
        "Duplicate ratio",
        "Language mix",
        "Section mix",
        "Top sources",
    ):
        assert wanted in titles
    exprs = " ".join(expr for _, expr in dashboard_queries(dashboard))
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}," in exprs
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_dashboard_and_alerts_use_only_defined_metrics() -> None:
    names = exported_names()
    queries = dashboard_queries(json.loads(DASHBOARD.read_text()))
    queries += [(rule["alert"], rule["expr"]) for rule in alert_rules()]
    for title, expr in queries:
        used = metric_names(expr)
        assert used, f"{title}: no metric in {expr!r}"
        unknown = used - names - SYNTHETIC_SERIES
        assert not unknown, f"{title}: {sorted(unknown)} are not defined in service/metrics.py"


def test_metric_names_follow_prometheus_conventions() -> None:
    for family in metrics.REGISTRY.collect():
        assert family.name.startswith("newsflow_"), family.name
        if family.type == "histogram":
            assert family.name.endswith(("_seconds", "_chars", "_candidates")), family.name
        if family.type == "gauge" and family.name.endswith("_total"):
            pytest.fail(f"gauge {family.name} must not end in _total")
        for sample in family.samples:
            assert not sample.name.endswith(("_milliseconds", "_ms", "_bytes_kb")), sample.name


def test_every_alert_has_a_firing_test_case() -> None:
    tests = load_yaml(PROMETHEUS / "alerts_test.yml")["tests"]
    firing = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    quiet = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if not case.get("exp_alerts")
    }
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts == firing, "each alert needs a case where it fires"
    assert alerts - quiet == set(), f"no quiet case for {sorted(alerts - quiet)}"
    required = {
        "NewsflowWorkerDown",
        "NewsflowConsumerLagGrowing",
        "NewsflowHighRejectRatio",
        "NewsflowNoOutput",
        "NewsflowCleanTextDrop",
    }
    assert required <= alerts
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


# -- promtool ---------------------------------------------------------------------------


Promtool = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def promtool() -> Promtool:
    """`promtool ARGS` in deploy/prometheus (or `cwd`); tests/conftest.py marks its users."""
    binary = tool("promtool")

    def run(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *args], cwd=cwd, capture_output=True, text=True, timeout=120
        )

    return run


def test_promtool_check_config(promtool: Promtool) -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_check_rules(promtool: Promtool) -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_promtool_test_rules(promtool: Promtool) -> None:
    done = promtool("test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rule_tests_catch_a_broken_threshold(
    tmp_path: Path, promtool: Promtool
) -> None:
    """The unit tests bite: loosen one threshold and `promtool test rules` must fail."""
    broken = (PROMETHEUS / "alerts.yml").read_text().replace("> 0.05", "> 0.5")
    assert broken != (PROMETHEUS / "alerts.yml").read_text()
    (tmp_path / "alerts.yml").write_text(broken)
    shutil.copy(PROMETHEUS / "alerts_test.yml", tmp_path / "alerts_test.yml")
    done = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert done.returncode != 0
    assert "NewsflowHighRejectRatio" in done.stdout + done.stderr


# -- recording helpers in service/metrics.py ----------------------------------------------


class _Consumer:
    """Just the two consumer calls `record_consumer_lag` makes."""

    def __init__(self, highwater: dict[Any, int]) -> None:
        self._highwater = highwater

    def assignment(self) -> set[Any]:
        return set(self._highwater)

    def highwater(self, tp: Any) -> int:
        return self._highwater[tp]


def test_record_consumer_lag_skips_changelogs_and_drops_revoked_partitions() -> None:
    from aiokafka import TopicPartition as TP

    def lag(topic: str, partition: int) -> float | None:
        return metrics.REGISTRY.get_sample_value(
            "newsflow_consumer_lag_messages", {"topic": topic, "partition": str(partition)}
        )

    raw0, raw1, log = TP("x.raw", 0), TP("x.raw", 1), TP("app-dedup-docs-changelog", 0)
    consumer = _Consumer({raw0: 50, raw1: 7, log: 900})
    metrics.record_consumer_lag(consumer, {raw0: 20}, {"x.raw", "x.tagged"})
    assert (lag("x.raw", 0), lag("x.raw", 1)) == (30.0, 7.0)
    assert lag("app-dedup-docs-changelog", 0) is None
    metrics.record_consumer_lag(_Consumer({raw1: 9}), {raw1: 9}, {"x.raw"})
    assert (lag("x.raw", 0), lag("x.raw", 1)) == (None, 0.0)
