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

step "rust: format" cargo fmt --all -- --check
step "rust: clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "rust: tests (service, otlp-sink, loadtest)" cargo test --workspace --locked
step "loadtest: smoke scenario with thresholds against the service" scripts/loadtest.sh loadtest/scenarios/smoke.toml
if [[ -x otel-collector/test.sh ]]; then
    step "collector: Elasticsearch exporter (unit + integration with a real Collector and Elasticsearch)" otel-collector/test.sh
else
    echo "otel-collector/test.sh is missing"
    failed+=("collector")
fi

echo "suites: $passed passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
    echo "FAILED suites: ${failed[*]}"
    exit 1
fi
