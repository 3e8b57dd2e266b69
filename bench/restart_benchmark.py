"""Seconds from a worker's restart to /readyz ready, memory:// against rocksdb:// (issue 16).

    python -m bench.restart_benchmark                       # N = 20,000, both stores
    python -m bench.restart_benchmark --n 50000 --stores rocksdb
    python -m bench.restart_benchmark --bootstrap 127.0.0.1:9092   # an existing broker

Nothing is skipped: the dedup state is filled through a real `newsflow worker`
(at_least_once, 4 partitions, `fast` cleaning) on a real broker. N synthetic articles
(support/kafka.py word banks, 3 paragraphs, 10% exact and 10% near copies, fetched
within the last day) are produced at once and the worker takes them as fast as it can;
once N outcomes are on the output topics the worker is SIGKILLed and a second one
started on the same data dir. Reported: seconds from the second start to /readyz 200
(Tables recovered, partitions assigned), and to its "dedup restored" log line (the
in-memory band and gather stores rebuilt from the Tables, which /readyz does not wait
for), with the RocksDB size on disk. The machine's load is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from bench.common import load_average, machine_line
from support.kafka import (
    WorkerProcess,
    isolated_env,
    lightly_edited,
    produce,
    settings_from,
    start_broker,
    synthetic_article,
    synthetic_body,
    wait_outputs,
)


def articles(n: int, seed: int = 16) -> list[tuple[bytes, bytes]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out: list[tuple[bytes, bytes]] = []
    originals: list[str] = []
    for i in range(n):
        fetched = (now - timedelta(seconds=rng.randint(0, 86_400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        kind = rng.random()
        if originals and kind < 0.1:
            text = rng.choice(originals)
        elif originals and kind < 0.2:
            text = lightly_edited(rng.choice(originals), rng)
        else:
            text = synthetic_body(rng)
            originals.append(text)
        doc = synthetic_article(f"a{i:07d}", text, source=f"site{i % 50}.test",
                                fetched_at=fetched)
        out.append((doc["id"].encode(), orjson.dumps(doc)))
    return out


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return int(response.status) == 200
    except OSError:
        return False


def restored_seconds(log: Path) -> float | None:
    for line in log.read_text(errors="replace").splitlines():
        if "dedup restored" in line:
            return float(orjson.loads(line).get("seconds", 0.0))
    return None


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(store: str, n: int, bootstrap: str, workdir: Path) -> dict[str, float | int | None]:
    data = workdir / f"data-{store}"
    env = isolated_env(bootstrap, NEWSFLOW_STORE=f"{store}://", NEWSFLOW_DATA_DIR=str(data),
                       NEWSFLOW_CLEAN__MODE="fast", NEWSFLOW_LOG_LEVEL="INFO",
                       NEWSFLOW_DEDUP__WINDOW_SECONDS=str(7 * 86_400))
    settings = settings_from(env)
    items = articles(n)
    first = WorkerProcess(env, workdir / f"{store}-fill.log").start()
    second = WorkerProcess(env, workdir / f"{store}-restart.log")
    try:
        first.wait_ready(180)
        started = time.monotonic()
        asyncio.run(produce(bootstrap, settings.topics.raw, [v for _, v in items],
                            keys=[k for k, _ in items]))
        wait_outputs(settings, n, timeout=max(600.0, n / 10))
        fill = time.monotonic() - started
        time.sleep(settings.commit_interval_seconds * 2)  # let the last commits land
        first.kill(signal.SIGKILL)
        size = du(data)
        restart = time.monotonic()
        second.start()
        while not ready(second.web_port):
            assert second.process is not None and second.process.poll() is None, second.log()
            time.sleep(0.1)
        to_ready = time.monotonic() - restart
        restored = None
        while restored is None and time.monotonic() - restart < to_ready + 600:
            restored = restored_seconds(second.log_path)
            time.sleep(0.2)
        to_restored = time.monotonic() - restart
    finally:
        first.kill()
        second.kill()
    return {"fill_s": round(fill, 1), "ready_s": round(to_ready, 1),
            "restored_s": round(to_restored, 1), "rebuild_s": restored,
            "data_mb": round(size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--stores", nargs="+", default=["memory", "rocksdb"],
                        choices=["memory", "rocksdb"])
    parser.add_argument("--bootstrap", default=os.environ.get("NEWSFLOW_KAFKA_BOOTSTRAP"))
    parser.add_argument("--keep", type=Path, help="keep the logs and data dirs here")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="restart-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        broker = None if args.bootstrap else start_broker(workdir / "kafka")
        bootstrap = args.bootstrap or (broker.bootstrap if broker else "")
        try:
            for store in args.stores:
                before = load_average()
                result = run(store, args.n, bootstrap, workdir)
                print(f"{store}:// N={args.n}: {result} load {before} -> {load_average()}",
                      flush=True)
        finally:
            if broker is not None:
                broker.stop()


if __name__ == "__main__":
    main()
