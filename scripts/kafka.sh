#!/usr/bin/env bash
# Local single-node Kafka (KRaft, broker+controller in one JVM) for tests, without
# Docker: the broker jars come from Maven Central (scripts/kafka/pom.xml) and are
# cached under .cache/kafka/ (git-ignored).
#
#   scripts/kafka.sh fetch|start|stop|status|reset
#   env: KAFKA_PORT (default 9092), KAFKA_CONTROLLER_PORT (default 9093),
#        KAFKA_RUN_DIR (default .cache/kafka/run): a second broker (fault tests) needs its own
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION=3.9.1
LIBS="$ROOT/.cache/kafka/$KAFKA_VERSION/libs"
MARKER="$LIBS/.complete"
RUN="${KAFKA_RUN_DIR:-$ROOT/.cache/kafka/run}"
DATA="$RUN/data"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/kafka.log"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-9093}"
BROKER="127.0.0.1:$PORT"

die() { echo "kafka.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found ($2)"; }

fetch() {
  [ -f "$MARKER" ] && return 0
  need mvn "apt-get install maven"; need java "apt-get install default-jre-headless"
  echo "kafka.sh: fetching Kafka $KAFKA_VERSION jars into $LIBS (Maven Central)..."
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  # copy-dependencies on a pom-packaged project copies the declared artifacts
  # (kafka_2.13 itself included) and everything they pull in at runtime.
  # (mvn prints stray ANSI resets even with -q; keep its output for errors only)
  local out; out="$(mktemp)"
  if ! mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$out" 2>&1; then
    cat "$out" >&2; rm -f "$out"; die "mvn dependency:copy-dependencies failed"
  fi
  rm -f "$out"
  ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13 jar missing after fetch"
  touch "$MARKER"
}

pid_alive() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must really be our broker.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}
answers() { kcat -L -b "$BROKER" -m "${1:-5}" >/dev/null 2>&1; }

write_config() {
  mkdir -p "$RUN"
  cat > "$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=3
# room for multi-frame JPEG chunks (default is ~1 MiB)
message.max.bytes=8388608
replica.fetch.max.bytes=8388608
PROPS
  # reload4j config: everything to kafka.log, nothing to stdout.
  cat > "$RUN/log4j.properties" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$LOG
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
PROPS
}

start() {
  need kcat "run scripts/system-deps.sh"; need java "apt-get install default-jre-headless"
  if pid_alive && answers 3; then echo "kafka.sh: already running (pid $(cat "$PIDFILE")) on $BROKER"; return 0; fi
  if pid_alive; then die "pid $(cat "$PIDFILE") alive but $BROKER not answering; run '$0 stop' first"; fi
  if answers 2; then die "something else already answers on $BROKER"; fi
  fetch
  write_config
  local java=(java -Xms256m -Xmx512m -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$RUN/log4j.properties" -cp "$LIBS/*")
  # Format only a fresh folder, so a restart keeps its topics and offsets.
  if [ ! -f "$DATA/meta.properties" ]; then
    local id; id="$("${java[@]}" kafka.tools.StorageTool random-uuid)"
    "${java[@]}" kafka.tools.StorageTool format -t "$id" -c "$RUN/server.properties" >>"$RUN/kafka.out" 2>&1 \
      || { tail -20 "$RUN/kafka.out" >&2; die "storage format failed"; }
  fi
  # New session, detached from our terminal; the shell records its own pid and then
  # execs java, so the pid file holds the broker's pid. JVM stdout/stderr (crashes
  # only) go to kafka.out.
  nohup setsid bash -c 'echo $$ > "$0"; exec "$@"' "$PIDFILE" \
    "${java[@]}" kafka.Kafka "$RUN/server.properties" >>"$RUN/kafka.out" 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    sleep 1
    if [ -f "$PIDFILE" ] && ! pid_alive; then break; fi   # died early
    if answers 2; then echo "kafka.sh: ready on $BROKER (pid $(cat "$PIDFILE"))"; return 0; fi
  done
  echo "kafka.sh: broker did not become ready on $BROKER; log tail:" >&2
  tail -n 30 "$LOG" >&2 2>/dev/null || true
  tail -n 10 "$RUN/kafka.out" >&2 2>/dev/null || true
  pid_alive && stop >&2   # don't leave a half-started broker behind
  rm -f "$PIDFILE"
  exit 1
}

stop() {
  if ! pid_alive; then rm -f "$PIDFILE"; echo "kafka.sh: not running"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then echo "kafka.sh: no exit after 30 s, SIGKILL" >&2; kill -KILL "$pid" || true; sleep 0.5; fi
  rm -f "$PIDFILE"
  echo "kafka.sh: stopped"
}

status() {
  if pid_alive && answers 3; then echo "kafka.sh: running (pid $(cat "$PIDFILE")) on $BROKER"; return 0; fi
  echo "kafka.sh: not running"; return 1
}

case "${1:-}" in
  fetch) fetch; echo "kafka.sh: jars in $LIBS" ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) stop; rm -rf "$DATA"; echo "kafka.sh: data removed" ;;
  *) echo "usage: $0 fetch|start|stop|status|reset" >&2; exit 2 ;;
esac
