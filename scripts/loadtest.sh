#!/usr/bin/env bash
# A scenario with its thresholds against the real service:
#   scripts/loadtest.sh [SCENARIO] [loadtest run flags...]
# SCENARIO defaults to loadtest/scenarios/smoke.toml (what CI runs). Starts
# alertingscout on a free loopback port with its Prometheus endpoint on (so the
# run's counts are checked against the service's own), runs `loadtest run`,
# stops the service, and exits with loadtest's code (99: a threshold failed):
# all of that is `loadtest local`.
# Reports: target/loadtest/NAME.json and NAME.html.
#
# PROFILE=debug (default): the builds of `cargo test --workspace` (after the
#   test step this compiles nothing); telemetry on, exporting to nowhere.
# PROFILE=release: release builds, and telemetry exported to an OTLP receiver in the
#   loadtest process, as for the figures in docs/performance.md.
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
    cargo build --release --locked -p alertingscout -p loadtest
else
    cargo test --locked --workspace --no-run
fi

out=target/loadtest
mkdir -p "$out"
# `loadtest local` starts the service on a free port (with its Prometheus endpoint on,
# a fresh database, and in release an in-process OTLP receiver), runs the scenario
# against it, prints the service's log if the run did not pass, stops the service and
# exits with the run's code.
sink=()
if [[ $profile == release ]]; then
    sink=(--sink)
fi
exec "target/$profile/loadtest" local --service "target/$profile/alertingscout" "${sink[@]}" -- \
    "$scenario" --out "json=$out/$name.json" --html "$out/$name.html" "$@"
