#!/usr/bin/env bash
# Throughput benchmark of the elasticsearch exporter:
#   otel-collector/bench.sh            (tunable: BENCH_RATES=5000,10000 BENCH_STEP_SECONDS=20 ...)
# Builds the Collector, starts Elasticsearch if needed, raises the offered rate
# step by step and prints the highest rate with nothing lost plus CPU figures;
# the table is also written to .stack/bench-result.txt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
export GOTOOLCHAIN=local PATH="/usr/local/go/bin:$PATH"
export ES_PORT="${ES_PORT:-9200}" ES_URL="http://127.0.0.1:${ES_PORT:-9200}"
started=0
# es.sh status asks as elastic-admin (security is on).
if ! "$REPO/elastic/es.sh" status 2>/dev/null; then
  "$REPO/elastic/es.sh" start; started=1
fi
trap '[ $started = 1 ] && "$REPO/elastic/es.sh" stop' EXIT
export OTELCOL_BIN="$("$HERE/build.sh")"
cd "$HERE/integrationtest"
ALERTINGSCOUT_BENCH=1 go test -count=1 -run TestThroughput -v -timeout 30m .
