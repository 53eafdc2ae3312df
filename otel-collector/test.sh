#!/usr/bin/env bash
# The one test entry point of the Collector side of AlertingScout.
#
#   otel-collector/test.sh
#
# On a fresh machine (Go 1.26 at /usr/local/go, JDK 17, mvn, root) it: checks
# both Go modules with gofmt -l and go vet (fails fast), installs the ocb
# builder and builds the Collector with our elasticsearch exporter (build.sh;
# cached by a hash stamp), installs and starts Elasticsearch 8.19.7
# as an unprivileged user (../elastic/es.sh), runs the exporter's unit tests
# and the integration tests against the real Collector binary and the real
# Elasticsearch, stops what it started and exits non-zero on any failure.
# Environment: ES_PORT (9200), GO_TEST_FLAGS (extra flags for go test).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export GOTOOLCHAIN=local
export PATH="/usr/local/go/bin:$PATH"
export ES_PORT="${ES_PORT:-9200}"
export ES_URL="http://127.0.0.1:$ES_PORT"
STACK="$REPO/.stack"
mkdir -p "$STACK"
t0=$(date +%s)
say() { echo "test.sh [$(( $(date +%s) - t0 ))s]: $*" >&2; }

for tool in go curl unzip mvn runuser; do
  if ! command -v "$tool" >/dev/null; then
    if [ "$tool" = unzip ] || [ "$tool" = curl ]; then
      say "installing $tool"; (apt-get update -qq && apt-get install -y -qq "$tool") >/dev/null
    else
      say "missing tool: $tool"; exit 1
    fi
  fi
done

# Static checks first (seconds; nothing started yet): gofmt must list no file,
# go vet must pass, in both Go modules.
for mod in elasticsearchexporter integrationtest; do
  say "gofmt -l and go vet: $mod"
  unformatted="$(cd "$HERE/$mod" && gofmt -l .)"
  if [ -n "$unformatted" ]; then
    say "gofmt: these files need formatting (run gofmt -w):"; echo "$unformatted" >&2; exit 1
  fi
  (cd "$HERE/$mod" && go vet ./...) || { say "go vet failed in $mod"; exit 1; }
done

started_es=0
# shellcheck disable=SC2317 # reached through the trap below
cleanup() {
  local rc=$?
  if [ "$started_es" = 1 ]; then say "stopping Elasticsearch"; "$REPO/elastic/es.sh" stop || true; fi
  exit "$rc"
}
trap cleanup EXIT INT TERM

# Elasticsearch (download, unpack, start) in parallel with the Collector build.
es_log="$STACK/test-es.log"
# es.sh status asks as elastic-admin (security is on; anonymous gets 401).
if "$REPO/elastic/es.sh" status 2>/dev/null; then
  say "Elasticsearch already running on $ES_URL (left running)"
  "$REPO/elastic/es.sh" start 2>"$es_log" # idempotent: (re)installs the templates
  es_bg=""
else
  started_es=1
  "$REPO/elastic/es.sh" start 2>"$es_log" &
  es_bg=$!
fi

say "building the Collector"
BIN="$("$HERE/build.sh")"
export OTELCOL_BIN="$BIN"

if [ -n "$es_bg" ]; then
  if ! wait "$es_bg"; then cat "$es_log" >&2; say "Elasticsearch failed to start"; exit 1; fi
fi
"$REPO/elastic/es.sh" status || { say "Elasticsearch not healthy"; exit 1; }
say "Elasticsearch up (security on: the suite reads as elastic-admin, TestAuthenticatedWriter writes as collector-writer)"

rc=0
say "unit tests: elasticsearchexporter"
# GO_TEST_FLAGS is split into words on purpose (several flags).
# shellcheck disable=SC2086
(cd "$HERE/elasticsearchexporter" && go test ${GO_TEST_FLAGS:-} ./...) || rc=1
# The integration tests include the cluster drill (cluster_test.go): it starts
# its own 3-node cluster on 19200-19202 (ES_CLUSTER_PORT) beside the shared one.
say "integration tests (real Collector + real Elasticsearch, and a 3-node cluster drill; about 6-7 minutes)"
# shellcheck disable=SC2086
(cd "$HERE/integrationtest" && go test -count=1 -timeout 20m ${GO_TEST_FLAGS:-} ./...) || rc=1
if [ $rc = 0 ]; then say "all Collector tests passed"; else say "FAILED"; fi
exit $rc
