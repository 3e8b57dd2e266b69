#!/usr/bin/env bash
# End to end on this machine: broker, worker, sample articles in, results out, then tidy up.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
run="$(mktemp -d -t newsflow-demo.XXXXXX)"
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  bash deploy/kafka/kafka.sh stop "$run/kafka"
  rm -rf "$run"
}
trap cleanup EXIT

echo "==> starting Apache Kafka (KRaft) on 127.0.0.1"
NEWSFLOW_KAFKA_BOOTSTRAP="$(bash deploy/kafka/kafka.sh start "$run/kafka" | tail -n1)"
export NEWSFLOW_KAFKA_BOOTSTRAP NEWSFLOW_SESSION_TIMEOUT_SECONDS=6 NEWSFLOW_LOG_LEVEL=WARNING
export NEWSFLOW_DATA_DIR="$run/data" NEWSFLOW_WEB_PORT="${NEWSFLOW_WEB_PORT:-6066}"
echo "    broker at $NEWSFLOW_KAFKA_BOOTSTRAP"

echo "==> creating topics"
$BIN/newsflow topics

echo "==> starting the worker (metrics on http://127.0.0.1:$NEWSFLOW_WEB_PORT/metrics)"
$BIN/newsflow worker >"$run/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$NEWSFLOW_WEB_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$worker_pid" 2>/dev/null || { cat "$run/worker.log"; exit 1; }
  sleep 0.5
done

echo "==> publishing samples/articles.jsonl"
$BIN/newsflow produce samples/articles.jsonl

echo "==> what arrived on the output topics"
lines=$(grep -c . samples/articles.jsonl)
$BIN/newsflow tail --idle 5 --max "$lines"

echo "==> one clean article in full"
$BIN/newsflow tail "${NEWSFLOW_TOPICS__CLEAN:-articles.clean}" --json --max 1 \
  | $BIN/python -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["value"], indent=2, ensure_ascii=False))'

echo "==> newsflow counters from /metrics"
curl -fs "http://127.0.0.1:$NEWSFLOW_WEB_PORT/metrics" | grep -E '^newsflow_(messages|rejections)_total' | grep -v ' 0.0$' || true
