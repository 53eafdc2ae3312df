#!/bin/sh
# One command for the telemetry overhead benchmark (docs/benchmarks.md): builds the
# service and the bench in release mode, then runs the bench from the repository root
# so its default --binary (target/release/alertingscout) resolves. Extra arguments go
# to overhead-bench, e.g. --quick or --json bench.json.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p alertingscout -p overhead-bench
exec target/release/overhead-bench "$@"
