#!/usr/bin/env bash
# Elasticsearch lifecycle for AlertingScout (local, single node, no Docker).
#   elastic/es.sh install   fetch the 8.19.7 integ-test-zip from Maven Central into
#                           .stack/cache, unpack into .stack/elasticsearch, create the
#                           unprivileged user when run as root (Elasticsearch refuses
#                           root; anyone else runs it as themselves)
#   elastic/es.sh start     start on 127.0.0.1:$ES_PORT (default 9200), wait for
#                           /_cluster/health, install the index templates (idempotent)
#   elastic/es.sh stop      stop it (SIGTERM, waits up to 60 s)
#   elastic/es.sh status    exit 0 when it answers /_cluster/health
#   elastic/es.sh templates install the index templates into a running server
#                           (compose.yml's elastic-setup runs this)
# Environment: ES_PORT (9200), ES_HEAP (512m), ES_USER (alertingscout-es),
#   ES_JAVA_HOME (/usr/lib/jvm/java-17-openjdk-amd64), STACK_DIR (<repo>/.stack),
#   ES_SECURITY (false; true enables xpack security without TLS).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ES_VERSION=8.19.7
STACK="${STACK_DIR:-$REPO/.stack}"
CACHE="$STACK/cache"
ES_HOME="$STACK/elasticsearch/elasticsearch-$ES_VERSION"
ES_DATA="$STACK/elasticsearch/data"
ES_LOGS="$STACK/elasticsearch/logs"
ES_PID="$STACK/elasticsearch/es.pid"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-512m}"
ES_USER="${ES_USER:-alertingscout-es}"
ES_JAVA_HOME="${ES_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
ES_SECURITY="${ES_SECURITY:-false}"
URL="http://127.0.0.1:$ES_PORT"

log() { echo "es.sh: $*" >&2; }

healthy() { curl -fsS -m 2 "$URL/_cluster/health" >/dev/null 2>&1; }

running_pid() {
  [ -f "$ES_PID" ] || return 1
  local pid; pid="$(cat "$ES_PID" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Elasticsearch refuses to run as root: root runs it as the unprivileged $ES_USER
# (created here); anyone else runs it as themselves.
is_root() { [ "$(id -u)" = 0 ]; }

as_es_user() {
  if is_root; then runuser -u "$ES_USER" -- "$@"; else "$@"; fi
}

ensure_user() {
  is_root || return 0
  if ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "creating system user $ES_USER"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" 2>/dev/null || id -u "$ES_USER" >/dev/null
  fi
}

cmd_install() {
  ensure_user
  local zip="$CACHE/elasticsearch-$ES_VERSION.zip"
  mkdir -p "$CACHE" "$STACK/elasticsearch"
  if [ ! -s "$zip" ]; then
    log "downloading elasticsearch $ES_VERSION integ-test-zip from Maven Central"
    mvn -q dependency:copy \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      -DoutputDirectory="$CACHE"
  fi
  if [ ! -x "$ES_HOME/bin/elasticsearch" ]; then
    log "unpacking into $STACK/elasticsearch"
    command -v unzip >/dev/null || { log "unzip missing: apt-get install -y unzip"; exit 1; }
    unzip -q -o "$zip" -d "$STACK/elasticsearch"
  fi
  mkdir -p "$ES_DATA" "$ES_LOGS"
  if is_root; then
    chown -R "$ES_USER" "$STACK/elasticsearch"
    # The ES user must be able to traverse to its home.
    local d="$STACK"
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  fi
  log "installed $ES_HOME"
}

put_templates() {
  for f in "$HERE"/templates/*-template.json; do
    local name; name="alertingscout-$(basename "$f" -template.json)"
    curl -fsS -m 10 -X PUT "$URL/_index_template/$name" -H 'Content-Type: application/json' \
      --data-binary "@$f" >/dev/null || { log "failed to install template $name"; return 1; }
  done
  log "index templates installed"
}

cmd_start() {
  if healthy; then log "already running on $URL"; put_templates; return 0; fi
  [ -x "$ES_HOME/bin/elasticsearch" ] || cmd_install
  ensure_user
  if is_root; then chown -R "$ES_USER" "$STACK/elasticsearch"; fi
  log "starting elasticsearch on $URL (heap $ES_HEAP) as $(is_root && echo "$ES_USER" || id -un)"
  local sec=(-E xpack.security.enabled=false)
  if [ "$ES_SECURITY" = true ]; then
    sec=(-E xpack.security.enabled=true -E xpack.security.http.ssl.enabled=false -E xpack.security.transport.ssl.enabled=false)
  fi
  rm -f "$ES_PID"
  local t0; t0=$(date +%s)
  (cd "$ES_HOME" && as_es_user env -i PATH=/usr/bin:/bin HOME=/tmp \
    ES_JAVA_HOME="$ES_JAVA_HOME" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
    bin/elasticsearch -d -p "$ES_PID" \
      -E discovery.type=single-node -E network.host=127.0.0.1 -E http.port="$ES_PORT" \
      -E transport.port=$((ES_PORT + 100)) \
      -E path.data="$ES_DATA" -E path.logs="$ES_LOGS" \
      -E cluster.routing.allocation.disk.threshold_enabled=false \
      -E action.destructive_requires_name=false \
      "${sec[@]}" >"$ES_LOGS/stdout.log" 2>&1) || { log "start failed"; tail -20 "$ES_LOGS/stdout.log" >&2; exit 1; }
  local i
  for i in $(seq 1 240); do
    if healthy; then log "up after $(( $(date +%s) - t0 )) s"; put_templates; return 0; fi
    sleep 0.5
  done
  log "not healthy after 120 s"; tail -30 "$ES_LOGS"/*.log >&2 || true
  exit 1
}

cmd_stop() {
  local pid
  if pid="$(running_pid)"; then
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  else
    log "not running"
  fi
  rm -f "$ES_PID"
}

cmd_status() {
  if healthy; then curl -fsS "$URL/_cluster/health" >&2; echo >&2; return 0; fi
  log "not reachable on $URL"; return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  templates) put_templates ;;
  *) echo "usage: $0 install|start|stop|status|templates" >&2; exit 2 ;;
esac
