#!/usr/bin/env bash
# A scenario with its thresholds against the real service:
#   scripts/loadtest.sh [SCENARIO] [loadtest run flags...]
# SCENARIO defaults to loadtest/scenarios/smoke.toml (what CI runs). Starts
# alertingscout on a free loopback port with its Prometheus endpoint on (so the
# run's counts are checked against the service's own), runs `loadtest run`,
# stops the service, and exits with loadtest's code (99: a threshold failed).
# Reports: target/loadtest/NAME.json and NAME.html.
#
# PROFILE=debug (default): the builds of `cargo test --workspace` (after the
#   test step this compiles nothing); telemetry on, exporting to nowhere.
# PROFILE=release: release builds, and telemetry exported to a local otlp-sink,
#   as for the figures in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=loadtest/scenarios/smoke.toml
if [[ $# -gt 0 && $1 != -* ]]; then
    scenario=$1
    shift
fi
name=$(basename "$scenario" .toml)
profile=${PROFILE:-debug}
if [[ $profile == release ]]; then
    cargo build --release --locked -p alertingscout -p loadtest -p otlp-sink
else
    cargo test --locked --workspace --no-run
fi

out=target/loadtest
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits for a line starting with $2 in file $1 and prints the rest of it.
wait_for() {
    local line=
    for _ in $(seq 1 300); do
        line=$(sed -n "s|^$2||p" "$1" | head -n1)
        if [[ -n $line ]]; then
            echo "$line"
            return
        fi
        sleep 0.1
    done
    cat "$1" >&2
    echo "no '$2' in $1" >&2
    return 1
}

otlp=http://127.0.0.1:9
if [[ $profile == release ]]; then
    "target/$profile/otlp-sink" --grpc 127.0.0.1:0 --no-http --interval 0 >"$work/sink.log" &
    pids+=($!)
    otlp=$(wait_for "$work/sink.log" "otlp-sink: grpc " | cut -d' ' -f1)
fi

log="$work/service.log"
ALERTINGSCOUT_LISTEN=127.0.0.1:0 \
ALERTINGSCOUT_DATABASE="$work/loadtest.sqlite" \
ALERTINGSCOUT_PROMETHEUS_METRICS=on \
ALERTINGSCOUT_LOG_STDOUT=off \
OTEL_EXPORTER_OTLP_ENDPOINT="$otlp" \
    "target/$profile/alertingscout" 2>"$log" >/dev/null &
pids+=($!)
url=$(wait_for "$log" "alertingscout listening on ")
echo "service at $url (profile $profile, OTLP to $otlp)"

set +e
"target/$profile/loadtest" run "$scenario" --target "$url" \
    --out "json=$out/$name.json" --html "$out/$name.html" "$@"
code=$?
set -e
if ((code != 0)); then
    echo "--- service log (last 30 lines)"
    tail -n 30 "$log"
fi
exit "$code"
