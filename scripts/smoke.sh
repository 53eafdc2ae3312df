#!/usr/bin/env bash
# The smoke scenario with its thresholds against the real service: starts
# alertingscout on a free loopback port (Prometheus endpoint on, so the run's
# counts are checked against the service's own), runs
# `loadtest run loadtest/scenarios/smoke.toml`, stops the service, and exits
# with loadtest's code (99: a threshold failed). Debug builds by default, as
# the test step already built them; PROFILE=release for release builds.
# Reports: target/loadtest/smoke.json and smoke.html.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-debug}
flags=(--locked)
[[ $profile == release ]] && flags+=(--release)
# The same build as `cargo test --workspace` (same features), so after the test
# step this compiles nothing.
cargo test "${flags[@]}" --workspace --no-run

out=target/loadtest
mkdir -p "$out"
work=$(mktemp -d)
log="$work/service.log"
ALERTINGSCOUT_LISTEN=127.0.0.1:0 \
ALERTINGSCOUT_DATABASE="$work/smoke.sqlite" \
ALERTINGSCOUT_PROMETHEUS_METRICS=on \
ALERTINGSCOUT_LOG_STDOUT=off \
OTEL_EXPORTER_OTLP_ENDPOINT="${OTEL_EXPORTER_OTLP_ENDPOINT:-http://127.0.0.1:9}" \
    "target/$profile/alertingscout" 2>"$log" >/dev/null &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

url=
for _ in $(seq 1 300); do
    url=$(sed -n 's/^alertingscout listening on //p' "$log" | head -n1)
    [[ -n $url ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "alertingscout exited during start-up"; exit 1; }
    sleep 0.1
done
[[ -n $url ]] || { cat "$log"; echo "alertingscout did not print its address"; exit 1; }

set +e
"target/$profile/loadtest" run loadtest/scenarios/smoke.toml --target "$url" \
    --out "json=$out/smoke.json" --html "$out/smoke.html"
code=$?
set -e
if ((code != 0)); then
    echo "--- service log (last 30 lines)"
    tail -n 30 "$log"
fi
exit "$code"
