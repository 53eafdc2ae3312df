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
#   elastic/es.sh users     write elastic/roles.yml and the file-realm users of
#                           elastic/users.txt into the server's config (start does it;
#                           compose.yml's elasticsearch runs it before the server)
#   elastic/es.sh secrets   make the users' passwords in $STACK_DIR/secrets only
# Security (docs/security.md, "Elasticsearch"): on by default, without TLS (loopback
# only). Users and roles are the file realm's (the only realm the integ-test zip
# runs): elastic/users.txt names them, elastic/roles.yml defines the roles, and each
# password is a random secret in $STACK_DIR/secrets/<user> (folder 0700, file 0600),
# made when missing, or taken from ES_PASSWORD_<USER> (upper case, '-' as '_').
# This script talks to the server as elastic-admin.
# Environment: ES_PORT (9200), ES_HEAP (512m), ES_USER (alertingscout-es),
#   ES_JAVA_HOME (/usr/lib/jvm/java-17-openjdk-amd64), STACK_DIR (<repo>/.stack),
#   ES_SECURITY (true; false runs without security, as the Collector's own suite
#   does), ES_HOME (the unpacked server; compose.yml's image sets its own).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ES_VERSION=8.19.7
STACK="${STACK_DIR:-$REPO/.stack}"
CACHE="$STACK/cache"
ES_HOME="${ES_HOME:-$STACK/elasticsearch/elasticsearch-$ES_VERSION}"
SECRETS="$STACK/secrets"
ADMIN=elastic-admin
ES_DATA="$STACK/elasticsearch/data"
ES_LOGS="$STACK/elasticsearch/logs"
ES_PID="$STACK/elasticsearch/es.pid"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-512m}"
ES_USER="${ES_USER:-alertingscout-es}"
ES_JAVA_HOME="${ES_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
ES_SECURITY="${ES_SECURITY:-true}"
URL="http://127.0.0.1:$ES_PORT"

log() { echo "es.sh: $*" >&2; }

# The users of elastic/users.txt, one per line.
user_names() { grep -v '^[[:space:]]*\(#\|$\)' "$HERE/users.txt" | awk '{print $1}'; }
user_roles() { grep -v '^[[:space:]]*\(#\|$\)' "$HERE/users.txt" | awk -v u="$1" '$1 == u {print $2}'; }

# The password of user $1: ES_PASSWORD_<USER> if set, else its secret file, made
# (32 random bytes in hex, as `cargo xtask` makes its secrets) when missing.
password_of() {
  local var; var="ES_PASSWORD_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  if [ -n "${!var:-}" ]; then printf '%s' "${!var}"; return 0; fi
  local f="$SECRETS/$1"
  if [ ! -s "$f" ]; then
    (umask 077; mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
     od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$f.tmp" && mv "$f.tmp" "$f")
  fi
  tr -d ' \n' <"$f"
}

cmd_secrets() {
  local u; for u in $(user_names); do password_of "$u" >/dev/null; done
  log "passwords of $(user_names | tr '\n' ' ')in $SECRETS"
}

# curl as elastic-admin; the password goes through a config on stdin, not argv.
es_curl() {
  if [ "$ES_SECURITY" = true ]; then
    printf 'user = "%s:%s"\n' "$ADMIN" "$(password_of "$ADMIN")" | curl -K - "$@"
  else
    curl "$@"
  fi
}

healthy() { es_curl -fsS -m 2 "$URL/_cluster/health" >/dev/null 2>&1; }

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
    es_curl -fsS -m 10 -X PUT "$URL/_index_template/$name" -H 'Content-Type: application/json' \
      --data-binary "@$f" >/dev/null || { log "failed to install template $name"; return 1; }
  done
  log "index templates installed"
}

# The roles file and the file-realm users, written into $ES_HOME/config (the
# server reloads both live). The users are rewritten only when users.txt or a
# password changed: each elasticsearch-users call starts a JVM.
cmd_users() {
  [ -x "$ES_HOME/bin/elasticsearch-users" ] || { log "no $ES_HOME/bin/elasticsearch-users (run install)"; exit 1; }
  local conf="$ES_HOME/config" u
  cp "$HERE/roles.yml" "$conf/roles.yml"
  local want; want="$( { cat "$HERE/users.txt"; for u in $(user_names); do printf '%s %s\n' "$u" "$(password_of "$u" | sha256sum)"; done; } | sha256sum | cut -c1-64)"
  if [ -s "$conf/users" ] && [ "$(cat "$conf/.alertingscout-users" 2>/dev/null)" = "$want" ]; then
    if is_root; then chown "$ES_USER" "$conf/roles.yml"; fi
    return 0
  fi
  # A server image (compose.yml) brings its own JDK.
  local java_env=(); [ -d "$ES_JAVA_HOME" ] && java_env=(ES_JAVA_HOME="$ES_JAVA_HOME")
  : >"$conf/users"; : >"$conf/users_roles"
  if is_root; then chown "$ES_USER" "$conf/roles.yml" "$conf/users" "$conf/users_roles"; fi
  for u in $(user_names); do
    # elasticsearch-users takes the password as an argument only; it runs for a
    # second as the ES user on a loopback-only machine (docs/security.md).
    (cd "$ES_HOME" && as_es_user env -i PATH=/usr/bin:/bin HOME=/tmp "${java_env[@]}" \
      bin/elasticsearch-users useradd "$u" -p "$(password_of "$u")" -r "$(user_roles "$u")" >/dev/null) \
      || { log "elasticsearch-users useradd $u failed"; exit 1; }
  done
  echo "$want" >"$conf/.alertingscout-users"
  log "file-realm users $(user_names | tr '\n' ' ')written"
}

cmd_start() {
  # A server of ours left running without security (an older stack) while
  # security is wanted: restart it with security rather than keep it open.
  if [ "$ES_SECURITY" = true ] && running_pid >/dev/null \
     && [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$URL/_cluster/health")" = 200 ]; then
    log "running without security on $URL: restarting it with security"
    cmd_stop
  fi
  if healthy; then
    log "already running on $URL"
    if [ "$ES_SECURITY" = true ]; then cmd_users; fi
    put_templates; return 0
  fi
  [ -x "$ES_HOME/bin/elasticsearch" ] || cmd_install
  ensure_user
  if is_root; then chown -R "$ES_USER" "$STACK/elasticsearch"; fi
  if [ "$ES_SECURITY" = true ]; then cmd_users; fi
  log "starting elasticsearch on $URL (heap $ES_HEAP, security $ES_SECURITY) as $(is_root && echo "$ES_USER" || id -un)"
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
  if healthy; then es_curl -fsS "$URL/_cluster/health" >&2; echo >&2; return 0; fi
  log "not reachable on $URL"; return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  templates) put_templates ;;
  users) cmd_users ;;
  secrets) cmd_secrets ;;
  *) echo "usage: $0 install|start|stop|status|templates|users|secrets" >&2; exit 2 ;;
esac
