#!/usr/bin/env bash
# The project's test command: every suite, against real servers where a
# suite needs them (it installs and starts them itself). Exits non-zero if any
# suite fails; a missing server is a failure, never a skip.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
passed=0
step() {
    local name=$1
    shift
    local start=$SECONDS
    echo "==> $name"
    if "$@"; then
        echo "==> $name: ok ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    else
        echo "==> $name: FAILED ($((SECONDS - start)) s)"
        failed+=("$name")
    fi
}

# A run on a new machine writes about 10 GB (measured 2026-12-02: target/ 4.9, the
# stack's data 0.9, Go's module and build caches 4.2, crates 0.4); a disk that fills
# half way fails every later suite with errors that hide the cause, so say it first.
need_gb=${TEST_DISK_NEED_GB:-12}
free_gb=$(df -Pk . | awk 'NR==2 {print int($4 / 1048576)}')
echo "disk: ${free_gb} GB free where the checkout lives (a run needs about ${need_gb} GB)"
if ((free_gb < need_gb)); then
    echo "not enough disk to run the suites: free ${free_gb} GB, need ${need_gb} GB (TEST_DISK_NEED_GB)" >&2
    exit 1
fi

step "rust: format" cargo fmt --all -- --check
step "rust: clippy" cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
step "rust: tests (service, otlp-sink, loadtest, xtask incl. compose.yml checks)" cargo test --workspace --locked
step "loadtest: smoke scenario with thresholds against the service" scripts/loadtest.sh loadtest/scenarios/smoke.toml

# The native stack: installs and starts everything (cargo xtask up), then the tests
# against the real servers. A stack that was already up is left running.
stack_was_up=0
if cargo xtask status >/dev/null 2>&1; then stack_was_up=1; fi
stop_stack() {
    if [[ $stack_was_up == 0 ]]; then cargo xtask down || true; fi
}
trap stop_stack EXIT
step "stack: cargo xtask up (Collector, Elasticsearch, Prometheus, Alertmanager, service)" cargo xtask up
step "prometheus: promtool check config + rules, rule unit tests; amtool check-config" \
    bash -c 'promtool check config prometheus/prometheus.yml && promtool test rules prometheus/tests/*.yml && amtool check-config prometheus/alertmanager.yml'
# Deterministic, so it may gate: the instructions telemetry adds per request (callgrind).
# Same package set as `cargo xtask up`'s build, so its release artifacts are reused.
step "overhead: added instructions per request under callgrind, against the budget" \
    bash -c 'cargo build --quiet --release --locked -p alertingscout -p oncall --examples && cargo run --quiet --locked -p loadtest -- instructions'
step "stack: tests against the real pipeline (incl. Elasticsearch users and roles, exemplars, the dashboard proof and freshness, backend swap)" \
    cargo test -p xtask --features stack-tests --locked --test es_security --test stack --test dashboards_live --test backend_swap -- --nocapture
# Chromium (Debian package) screenshots the snapshot page; installed here when missing.
step "dashboards: oncall snapshot rendered from the live Prometheus and screenshotted in headless Chromium" \
    bash -c 'command -v chromium >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; }; cargo test -p oncall --features stack-tests --locked --test snapshot -- --nocapture'
step "logs: oncall log API against the real Elasticsearch (tokens, roles, filters past 10,000 hits, NDJSON/CSV, one audit record per query, no read without one)" \
    cargo test -p oncall --features stack-tests --locked --test logs -- --nocapture
step "retention: back-dated daily indices on the real Elasticsearch (day 15 goes, day 14 stays, audit day 401 goes, decoys untouched; oncall retention run and the oncall serve schedule, audited)" \
    cargo test -p oncall --features stack-tests --locked --test retention -- --nocapture
step "incident: oncall incident export from the real stack (files, hashes, audit, reproducible)" \
    cargo test -p oncall --features stack-tests --locked --test incident -- --nocapture
step "cost: oncall cost against the real stack" \
    cargo test -p oncall --features stack-tests --locked --test cost -- --nocapture
step "loadtest: smoke scenario against the stack's service, counts checked in Prometheus" \
    cargo run --quiet --locked -p loadtest -- run loadtest/scenarios/smoke.toml \
    --target http://127.0.0.1:8080 --prometheus http://127.0.0.1:9090 --quiet
# The Collector suite runs beside the alert drills, which mostly wait out their rules'
# `for:` periods: it gets its own Elasticsearch (its own STACK_DIR and port; its
# outage test stops that one) and its cluster drill its own ports, so it touches
# nothing of the stack. Its result is reported as its own step after the drills.
collector_suite_log=target/collector-suite.log
collector_suite_pid=""
if [[ -x otel-collector/test.sh ]]; then
    mkdir -p target
    echo "==> collector: Elasticsearch exporter suite started beside the alert drills (log: $collector_suite_log)"
    STACK_DIR="$PWD/.stack-collector-suite" ES_PORT=19400 ES_CACHE="$PWD/.stack/cache" \
        otel-collector/test.sh >"$collector_suite_log" 2>&1 &
    collector_suite_pid=$!
fi
collector_suite() {
    [[ -n $collector_suite_pid ]] || { echo "otel-collector/test.sh is missing"; return 1; }
    local rc=0
    wait "$collector_suite_pid" || rc=$?
    cat "$collector_suite_log"
    return $rc
}
step "alerts: drills on the real stack (faults -> rules -> Alertmanager -> oncall relay -> outbox; about 10 min)" \
    bash -c 'cargo build --quiet --locked -p loadtest && cargo test -p xtask --features stack-tests --locked --test alert_drills -- --nocapture'
step "collector: Elasticsearch exporter (unit + integration with a real Collector and Elasticsearch, a 3-node cluster drill; its own Elasticsearch on 19400)" collector_suite
# One drill at a time, in order: each faults a part of the shared stack and counts
# every request's records afterwards. RELIABILITY_ES_OUTAGE_SECONDS=300 for the full outage.
# Drill 5 (the Collector's queue disk full) needs root (a tmpfs mount).
step "reliability: drills on the real stack (Elasticsearch outage, Collector kill and stop, service SIGTERM, Prometheus restart, the Collector's queue disk full, the spike and a 3-minute soak: nothing lost or duplicated; about 16 min)" \
    bash -c 'cargo build --quiet --locked -p loadtest && cargo test -p xtask --features stack-tests --locked --test reliability_drills -- --nocapture --test-threads=1'
step "reliability: fail open (every export switched off and back at run time) and a 100,000-request cardinality flood on the real stack" \
    cargo test -p xtask --features stack-tests --locked --test fail_open --test cardinality_flood -- --nocapture

# Last, since it stops the root stack: `up` as a developer who is not root.
step "stack: cargo xtask up as an unprivileged user (every process, Elasticsearch too, runs as that user)" scripts/nonroot-up.sh

echo "suites: $passed passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
