#!/usr/bin/env bash
# A local Apache Kafka 3.9 broker (KRaft, combined broker+controller) on 127.0.0.1,
# run with plain Java 17 from jars that Maven Central resolves. No Docker needed.
#
#   kafka.sh fetch                          download the jars once (cached)
#   kafka.sh start DIR [PORT] [CTRL_PORT]   format DIR and start a broker in the background
#   kafka.sh stop DIR                       stop the broker started in DIR
#   kafka.sh wait PORT [SECONDS]            wait until the broker accepts connections
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
libs="${NEWSFLOW_KAFKA_LIBS:-$here/libs}"

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  echo "kafka.sh: resolving Apache Kafka jars from Maven Central into $libs" >&2
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local port="$1" seconds="${2:-60}"
  python3 - "$port" "$seconds" <<'PY'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(f"kafka.sh: nothing listening on 127.0.0.1:{port}")
PY
}

start() {
  local dir="$1" port="${2:-$(free_port)}" ctrl="${3:-$(free_port)}"
  fetch
  mkdir -p "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=2097152
log.cleaner.threads=1
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
log.segment.bytes=67108864
num.network.threads=2
num.io.threads=2
PROPS
  local cp="$libs/*"
  local java_opts=(-Xms128m -Xmx512m -XX:+UseSerialGC -Dlog4j.configuration="file:$here/log4j.properties")
  local cluster
  cluster="$(java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid)"
  java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cluster" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1
  nohup java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" \
    >"$dir/broker.log" 2>&1 &
  echo $! >"$dir/broker.pid"
  echo "$port" >"$dir/port"
  if ! wait_port "$port" 90; then
    tail -n 30 "$dir/broker.log" >&2
    stop "$dir"
    return 1
  fi
  echo "127.0.0.1:$port"
}

stop() {
  local dir="$1" pid
  [ -f "$dir/broker.pid" ] || return 0
  pid="$(cat "$dir/broker.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/broker.pid"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  fetch) fetch ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  wait) wait_port "$@" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
