#!/usr/bin/env bash
# A local Apache Kafka 3.9 broker (KRaft, combined broker+controller) on 127.0.0.1,
# run with plain Java 17 from jars that Maven Central resolves. No Docker needed.
#
#   kafka.sh fetch                          download the jars once (cached)
#   kafka.sh start DIR [PORT] [CTRL_PORT]   format DIR and start a broker in the background
#   kafka.sh stop DIR                       stop the broker started in DIR
#   kafka.sh wait PORT [SECONDS]            wait until the broker accepts connections
#   kafka.sh restart DIR                    start a stopped broker again: same data, same ports
#   kafka.sh start-secure DIR TLS_DIR       as start, plus SSL and SASL_SSL listeners; prints
#                                           PLAINTEXT, SSL and SASL_SSL bootstrap lines
#   kafka.sh acl DIR ARGS...                kafka-acls (AclCommand) against the broker in DIR,
#                                           e.g. acl DIR --add --deny-principal User:x
#                                           --operation Write --topic t
#
# Options (environment):
#   KAFKA_AUTO_CREATE_TOPICS=false          refuse produce/metadata auto-creation (default true)
#   start-secure reads TLS_DIR/broker.pem (PKCS#8 key + certificate chain, PEM) and
#   TLS_DIR/ca.pem; KAFKA_SASL_USER and KAFKA_SASL_PASSWORD add one PLAIN and
#   SCRAM-SHA-512 user on the SASL_SSL listener. KAFKA_AUTHORIZER=true turns on ACLs
#   (StandardAuthorizer; resources without ACLs stay open; the PLAINTEXT and SSL
#   listeners' anonymous principal is a super user, so tests can manage ACLs there).
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

java_opts=(-Xms128m -Xmx512m -XX:+UseSerialGC -Dlog4j.configuration="file:$here/log4j.properties")

write_properties() {
  local dir="$1" port="$2" ctrl="$3"
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
auto.create.topics.enable=${KAFKA_AUTO_CREATE_TOPICS:-true}
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
}

format_dir() {
  local dir="$1"; shift
  local cluster
  cluster="$(java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool random-uuid)"
  java "${java_opts[@]}" -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster" \
    -c "$dir/server.properties" "$@" >"$dir/format.log" 2>&1
}

launch() {
  local dir="$1" port
  port="$(cat "$dir/port")"
  nohup java "${java_opts[@]}" -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/broker.log" 2>&1 &
  echo $! >"$dir/broker.pid"
  if ! wait_port "$port" 90; then
    tail -n 30 "$dir/broker.log" >&2
    stop "$dir"
    return 1
  fi
}

start() {
  local dir="$1" port="${2:-$(free_port)}" ctrl="${3:-$(free_port)}"
  fetch
  write_properties "$dir" "$port" "$ctrl"
  format_dir "$dir"
  echo "$port" >"$dir/port"
  launch "$dir"
  echo "127.0.0.1:$port"
}

restart() {
  local dir="$1"
  [ -f "$dir/server.properties" ] && [ -f "$dir/port" ] || {
    echo "kafka.sh: $dir holds no broker; use start" >&2; return 1; }
  if [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
    echo "kafka.sh: the broker in $dir is still running" >&2; return 1
  fi
  launch "$dir"
  echo "127.0.0.1:$(cat "$dir/port")"
}

start_secure() {
  local dir="$1" tls="$2"
  local port ctrl ssl sasl
  port="$(free_port)"; ctrl="$(free_port)"; ssl="$(free_port)"; sasl="$(free_port)"
  [ -f "$tls/broker.pem" ] && [ -f "$tls/ca.pem" ] || {
    echo "kafka.sh: $tls needs broker.pem and ca.pem" >&2; return 1; }
  fetch
  write_properties "$dir" "$port" "$ctrl"
  local user="${KAFKA_SASL_USER:-}" password="${KAFKA_SASL_PASSWORD:-}"
  sed -i \
    -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$port,SSL://127.0.0.1:$ssl,SASL_SSL://127.0.0.1:$sasl,CONTROLLER://127.0.0.1:$ctrl#" \
    -e "s#^advertised.listeners=.*#advertised.listeners=PLAINTEXT://127.0.0.1:$port,SSL://127.0.0.1:$ssl,SASL_SSL://127.0.0.1:$sasl#" \
    -e "s#^listener.security.protocol.map=.*#listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT#" \
    "$dir/server.properties"
  cat >> "$dir/server.properties" <<PROPS
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
ssl.client.auth=none
ssl.endpoint.identification.algorithm=
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
PROPS
  if [ "${KAFKA_AUTHORIZER:-false}" = "true" ]; then
    cat >> "$dir/server.properties" <<PROPS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=true
super.users=User:ANONYMOUS
PROPS
  fi
  local scram=()
  if [ -n "$user" ]; then
    cat >> "$dir/server.properties" <<PROPS
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$password";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
    chmod 600 "$dir/server.properties"
    scram=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]")
  fi
  format_dir "$dir" "${scram[@]}"
  echo "$port" >"$dir/port"
  launch "$dir"
  echo "PLAINTEXT 127.0.0.1:$port"
  echo "SSL 127.0.0.1:$ssl"
  echo "SASL_SSL 127.0.0.1:$sasl"
}

acl() {
  local dir="$1"; shift
  java -cp "$libs/*" kafka.admin.AclCommand \
    --bootstrap-server "127.0.0.1:$(cat "$dir/port")" "$@"
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
  restart) restart "$@" ;;
  start-secure) start_secure "$@" ;;
  acl) acl "$@" ;;
  stop) stop "$@" ;;
  wait) wait_port "$@" ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
