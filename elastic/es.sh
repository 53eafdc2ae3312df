#!/usr/bin/env bash
# Elasticsearch lifecycle for AlertingScout (local, no Docker): one node, or a
# cluster of ES_NODES nodes on loopback (docs/scaling.md).
#   elastic/es.sh install   fetch the 8.19.7 integ-test-zip from Maven Central into
#                           .stack/cache, unpack into .stack/elasticsearch, create the
#                           unprivileged user when run as root (Elasticsearch refuses
#                           root; anyone else runs it as themselves)
#   elastic/es.sh start     start on 127.0.0.1:$ES_PORT (default 9200), wait for
#                           /_cluster/health, install the index templates (idempotent)
#   elastic/es.sh stop      stop it (SIGTERM, waits up to 60 s); every node of a
#                           cluster, whatever ES_NODES says
#   elastic/es.sh status    exit 0 when it answers /_cluster/health (a cluster: and
#                           every node of ES_NODES has joined); prints the health
#   elastic/es.sh stop-node I | kill-node I | start-node I
#                           one node of a cluster (1..ES_NODES): SIGTERM, SIGKILL
#                           (drills), or start it again and wait until it joined
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
# Cluster (ES_NODES > 1): node I is node-I, HTTP on ES_PORT+I-1, transport on
# ES_PORT+100+I-1, data, logs and pid in $STACK_DIR/elasticsearch/node-I/; all
# nodes are master-eligible, share $ES_HOME (so one users file serves every
# node) and find each other through discovery.seed_hosts. The index templates
# then ask one replica (a node can die without losing data), zero on one node.
# One node keeps the single-node layout ($STACK_DIR/elasticsearch/{data,logs,es.pid}).
# Environment: ES_NODES (1), ES_PORT (9200), ES_HEAP (512m), ES_USER (alertingscout-es),
#   ES_JAVA_HOME (/usr/lib/jvm/java-17-openjdk-amd64), STACK_DIR (<repo>/.stack),
#   ES_SECURITY (true; false runs without security, as the Collector's own suite
#   does), ES_HOME (the unpacked server; compose.yml's image sets its own),
#   ES_CACHE ($STACK_DIR/cache: where the downloaded zip is kept; a drill with
#   its own STACK_DIR points it at the repo's cache to skip the download).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ES_VERSION=8.19.7
STACK="${STACK_DIR:-$REPO/.stack}"
CACHE="${ES_CACHE:-$STACK/cache}"
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
ES_NODES="${ES_NODES:-1}"
case "$ES_NODES" in ''|*[!0-9]*|0) echo "es.sh: ES_NODES must be a positive integer (got '$ES_NODES')" >&2; exit 2 ;; esac
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

# The live pid of a pid file ($1, default the single node's).
running_pid() {
  local file="${1:-$ES_PID}"
  [ -f "$file" ] || return 1
  local pid; pid="$(cat "$file" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Node $1 (1..ES_NODES) of a cluster.
node_dir() { echo "$STACK/elasticsearch/node-$1"; }
node_http_port() { echo $((ES_PORT + $1 - 1)); }
node_transport_port() { echo $((ES_PORT + 100 + $1 - 1)); }

check_node() {
  case "${1:-}" in ''|*[!0-9]*) log "node number missing (1..$ES_NODES)"; exit 2 ;; esac
  if [ "$ES_NODES" -lt 2 ] || [ "$1" -lt 1 ] || [ "$1" -gt "$ES_NODES" ]; then
    log "node $1 is not one of a cluster of ES_NODES=$ES_NODES (set ES_NODES > 1)"; exit 2
  fi
}

# The cluster's health from the first node that answers (any node can be the
# one that is down); extra query parameters in $1. Prints the JSON.
cluster_health() {
  local i
  for i in $(seq 1 "$ES_NODES"); do
    if es_curl -fsS -m 5 "http://127.0.0.1:$(node_http_port "$i")/_cluster/health$1" 2>/dev/null; then return 0; fi
  done
  return 1
}

# Every node has joined (HTTP 408 from wait_for_nodes until then).
cluster_formed() { cluster_health "?wait_for_nodes=$ES_NODES&timeout=1s" >/dev/null; }

# Every pid file under $STACK/elasticsearch: the single node's and the nodes'.
all_pid_files() {
  echo "$ES_PID"
  local f; for f in "$STACK"/elasticsearch/node-*/es.pid; do [ -e "$f" ] && echo "$f"; done
  return 0
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
    # A running server deletes segment files under a recursive chown (merges): a
    # vanished file is fine; a real permission problem shows when the server starts.
    chown -R "$ES_USER" "$STACK/elasticsearch" 2>/dev/null || true
    # The ES user must be able to traverse to its home.
    local d="$STACK"
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  fi
  log "installed $ES_HOME"
}

put_templates() {
  for f in "$HERE"/templates/*-template.json; do
    local name; name="alertingscout-$(basename "$f" -template.json)"
    if [ "$ES_NODES" -gt 1 ]; then
      # One replica on a cluster: a node can die and every shard keeps a copy.
      # (stdin carries es_curl's credentials, so the body goes as an argument.)
      local body; body="$(sed 's/"number_of_replicas": 0/"number_of_replicas": 1/' "$f")"
      case "$body" in *'"number_of_replicas": 1'*) ;; *) log "$f: no number_of_replicas to raise"; return 1 ;; esac
      es_curl -fsS -m 10 -X PUT "$URL/_index_template/$name" -H 'Content-Type: application/json' \
        --data-binary "$body" >/dev/null || { log "failed to install template $name"; return 1; }
    else
      es_curl -fsS -m 10 -X PUT "$URL/_index_template/$name" -H 'Content-Type: application/json' \
        --data-binary "@$f" >/dev/null || { log "failed to install template $name"; return 1; }
    fi
  done
  if [ "$ES_NODES" -gt 1 ]; then log "index templates installed (1 replica)"; else log "index templates installed"; fi
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

# The -E settings of security on or off.
security_args() {
  if [ "$ES_SECURITY" = true ]; then
    echo "-E xpack.security.enabled=true -E xpack.security.http.ssl.enabled=false -E xpack.security.transport.ssl.enabled=false"
  else
    echo "-E xpack.security.enabled=false"
  fi
}

# Starts node $1 of the cluster in the background of the server (-d); returns
# when its launcher does (the node is up, though maybe not yet in the cluster).
launch_node() {
  local i="$1" dir seeds="" masters="" j
  dir="$(node_dir "$i")"
  for j in $(seq 1 "$ES_NODES"); do
    seeds="$seeds${seeds:+,}127.0.0.1:$(node_transport_port "$j")"
    masters="$masters${masters:+,}node-$j"
  done
  mkdir -p "$dir/data" "$dir/logs"
  if is_root; then chown -R "$ES_USER" "$dir"; fi
  rm -f "$dir/es.pid"
  local sec; read -r -a sec <<<"$(security_args)"
  # cluster.initial_master_nodes only counts at the first start (bootstrap); a
  # node that has joined before ignores it.
  (cd "$ES_HOME" && as_es_user env -i PATH=/usr/bin:/bin HOME=/tmp \
    ES_JAVA_HOME="$ES_JAVA_HOME" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
    bin/elasticsearch -d -p "$dir/es.pid" \
      -E cluster.name=alertingscout -E node.name="node-$i" \
      -E network.host=127.0.0.1 -E http.port="$(node_http_port "$i")" \
      -E transport.port="$(node_transport_port "$i")" \
      -E discovery.seed_hosts="$seeds" -E cluster.initial_master_nodes="$masters" \
      -E path.data="$dir/data" -E path.logs="$dir/logs" \
      -E cluster.routing.allocation.disk.threshold_enabled=false \
      -E action.destructive_requires_name=false \
      "${sec[@]}" >"$dir/logs/stdout.log" 2>&1) || { log "node-$i: start failed"; tail -20 "$dir/logs/stdout.log" >&2; return 1; }
}

# Waits (up to $1 s) until every node has joined; prints the time taken.
wait_formed() {
  local t0 i; t0=$(date +%s)
  for i in $(seq 1 $(($1 * 2))); do
    if cluster_formed; then log "cluster of $ES_NODES nodes formed after $(( $(date +%s) - t0 )) s"; return 0; fi
    sleep 0.5
  done
  log "the cluster did not form within $1 s"
  local j; for j in $(seq 1 "$ES_NODES"); do tail -5 "$(node_dir "$j")/logs/alertingscout.log" >&2 2>/dev/null || true; done
  return 1
}

cmd_start_cluster() {
  # One node of ours on ES_PORT would answer for the cluster: switch modes.
  if running_pid >/dev/null; then log "a single node runs on $URL: stopping it for the $ES_NODES-node cluster"; stop_pids "$ES_PID"; fi
  if cluster_formed; then
    log "cluster of $ES_NODES nodes already running from $URL"
    if [ "$ES_SECURITY" = true ]; then cmd_users; fi
    put_templates; return 0
  fi
  [ -x "$ES_HOME/bin/elasticsearch" ] || cmd_install
  ensure_user
  if is_root; then chown -R "$ES_USER" "$STACK/elasticsearch"; fi
  if [ "$ES_SECURITY" = true ]; then cmd_users; fi
  log "starting a cluster of $ES_NODES nodes on 127.0.0.1:$ES_PORT-$(node_http_port "$ES_NODES") (heap $ES_HEAP each, security $ES_SECURITY)"
  # The nodes share $ES_HOME/config: make its keystore once, before they race
  # to create it.
  if [ ! -f "$ES_HOME/config/elasticsearch.keystore" ]; then
    (cd "$ES_HOME" && as_es_user env -i PATH=/usr/bin:/bin HOME=/tmp ES_JAVA_HOME="$ES_JAVA_HOME" \
      bin/elasticsearch-keystore create >/dev/null) || { log "elasticsearch-keystore create failed"; exit 1; }
  fi
  # Side by side: a node's launcher returns only once the node has found a
  # master, which needs a majority of the others.
  local i pids=() failed=0
  for i in $(seq 1 "$ES_NODES"); do
    if running_pid "$(node_dir "$i")/es.pid" >/dev/null; then continue; fi
    launch_node "$i" & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  [ "$failed" = 0 ] || exit 1
  wait_formed 180 || exit 1
  put_templates
}

cmd_start() {
  if [ "$ES_NODES" -gt 1 ]; then cmd_start_cluster; return; fi
  # Nodes of a cluster of ours would hold ES_PORT: switch modes.
  local f nodes=()
  for f in $(all_pid_files); do [ "$f" != "$ES_PID" ] && running_pid "$f" >/dev/null && nodes+=("$f"); done
  if [ "${#nodes[@]}" -gt 0 ]; then log "a cluster runs from $URL: stopping its nodes for a single node"; stop_pids "${nodes[@]}"; fi
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
  log "starting elasticsearch on $URL (heap $ES_HEAP, security $ES_SECURITY) as $(if is_root; then echo "$ES_USER"; else id -un; fi)"
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

# SIGTERM to the servers of these pid files together, waits up to 60 s, then
# SIGKILL to any left.
stop_pids() {
  local f pid live=()
  for f in "$@"; do
    if pid="$(running_pid "$f")"; then log "stopping pid $pid"; kill -TERM "$pid" 2>/dev/null || true; live+=("$pid"); fi
  done
  for pid in "${live[@]}"; do
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -f "$@"
  [ "${#live[@]}" -gt 0 ]
}

cmd_stop() {
  local files=(); mapfile -t files < <(all_pid_files)
  stop_pids "${files[@]}" || log "not running"
}

cmd_stop_node() {
  check_node "$1"
  stop_pids "$(node_dir "$1")/es.pid" || log "node-$1 not running"
}

# SIGKILL, for drills: no shutdown at all.
cmd_kill_node() {
  check_node "$1"
  local f pid; f="$(node_dir "$1")/es.pid"
  if pid="$(running_pid "$f")"; then
    log "node-$1: SIGKILL pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$f"
  else
    log "node-$1 not running"; return 1
  fi
}

cmd_start_node() {
  check_node "$1"
  if running_pid "$(node_dir "$1")/es.pid" >/dev/null; then log "node-$1 already running"; else launch_node "$1"; fi
  wait_formed 120
}

cmd_status() {
  if [ "$ES_NODES" -gt 1 ]; then
    local i pid h
    for i in $(seq 1 "$ES_NODES"); do
      pid="$(running_pid "$(node_dir "$i")/es.pid" || echo -)"
      h=down; es_curl -fsS -m 2 "http://127.0.0.1:$(node_http_port "$i")/_cluster/health" >/dev/null 2>&1 && h=up
      log "node-$i http://127.0.0.1:$(node_http_port "$i") pid $pid $h"
    done
    if h="$(cluster_health "")"; then
      echo "$h" >&2
      cluster_formed && return 0
      log "not every node of $ES_NODES has joined"; return 1
    fi
    log "no node of the cluster answers"; return 1
  fi
  if healthy; then es_curl -fsS "$URL/_cluster/health" >&2; echo >&2; return 0; fi
  log "not reachable on $URL"; return 1
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  start-node) cmd_start_node "${2:-}" ;;
  stop-node) cmd_stop_node "${2:-}" ;;
  kill-node) cmd_kill_node "${2:-}" ;;
  templates) put_templates ;;
  users) cmd_users ;;
  secrets) cmd_secrets ;;
  *) echo "usage: $0 install|start|stop|status|templates|users|secrets|start-node I|stop-node I|kill-node I" >&2; exit 2 ;;
esac
