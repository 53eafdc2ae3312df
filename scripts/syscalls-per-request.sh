#!/usr/bin/env bash
# System calls and page faults per request of the release service, per thread kind: telemetry
# off, on the stock path (sdk) and on the lean path (issue 14: where the request thread's extra
# kernel time comes from).
#   scripts/syscalls-per-request.sh [requests/s] [seconds] [route of the mix, default "GET /health"]
# Needs: strace, target/release/{alertingscout,otlp-sink,loadtest}. A fresh server per
# mode on a free port, an otlp-sink receiving its telemetry, GET /health at a fixed
# rate from `loadtest run`; strace attaches for the load only.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}
seconds=${2:-5}
route=${3:-GET /health}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

target/release/otlp-sink --grpc 127.0.0.1:0 --http 127.0.0.1:0 --interval 3600 >"$work/sink.out" 2>&1 &
for _ in $(seq 50); do grep -q "grpc" "$work/sink.out" && break; sleep 0.1; done
sink=$(grep -o 'grpc[^ ]* [^ ]*' "$work/sink.out" | grep -o '127.0.0.1:[0-9]*' | head -1)

cat >"$work/health.toml" <<TOML
name = "syscalls"
[executor]
type = "constant-arrival-rate"
rate = $rate
timeUnit = "1s"
duration = "${seconds}s"
preAllocatedVUs = 20
[mix]
"$route" = 1
[users]
pool = 1
TOML

for mode in off sdk lean; do
    disabled=$([[ $mode == off ]] && echo true || echo false)
    path=$([[ $mode == sdk ]] && echo sdk || echo lean)
    ALERTINGSCOUT_LISTEN=127.0.0.1:0 ALERTINGSCOUT_DATABASE="$work/$mode.sqlite" \
        ALERTINGSCOUT_LOG_STDOUT=off OTEL_SDK_DISABLED=$disabled ALERTINGSCOUT_OTLP_EXPORTER=$path \
        OTEL_EXPORTER_OTLP_ENDPOINT="http://$sink" \
        target/release/alertingscout 2>"$work/server.$mode.err" &
    pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/server.$mode.err" && break; sleep 0.1; done
    addr=$(grep -o 'http://[0-9.:]*' "$work/server.$mode.err" | head -1)
    target/release/loadtest run "$work/health.toml" --target "$addr" --quiet --no-fidelity >/dev/null 2>&1 &
    load=$!
    sleep 1   # past the load generator's start
    # Minor page faults (field 10 of /proc/PID/stat) over the traced window: kernel time
    # that no system call shows (the allocator returning pages and touching them again).
    awk '{print $10}' /proc/$pid/stat >"$work/minflt.$mode"
    timeout $((seconds - 2)) strace -f -qq -o "$work/strace.$mode" -p "$pid" || true
    awk '{print $10}' /proc/$pid/stat >>"$work/minflt.$mode"
    wait "$load" || true
    # Requests the server saw while strace was attached: its own accept/read pattern is
    # noisy, so count the responses it wrote (one writev/sendto per response).
    for tid in $(ls /proc/$pid/task); do echo "$tid $(cat /proc/$pid/task/$tid/comm)"; done >"$work/threads.$mode"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done

python3 - "$work" <<'PY'
import collections, re, sys
work = sys.argv[1]
for mode in ("off", "sdk", "lean"):
    names = dict(l.split(maxsplit=1) for l in open(f"{work}/threads.{mode}").read().splitlines())
    per = collections.Counter(); kinds = collections.Counter()
    responses = 0
    for line in open(f"{work}/strace.{mode}"):
        m = re.match(r"(\d+)\s+([a-z_0-9]+)\(", line)
        if not m:
            continue
        tid, call = m.groups()
        thread = names.get(tid, "?").strip()
        # Ours is otel-export; the SDK's are OpenTelemetry.* (batch processors, reader)
        # and otel-sdk-grpc (tonic's reactor).
        kind = "export" if thread.startswith(("otel", "OpenTelemetry")) else "request"
        per[(kind, call)] += 1
        kinds[kind] += 1
        if kind == "request" and call in ("writev", "sendto", "write") and "HTTP/1.1" in line:
            responses += 1
    print(f"telemetry {mode}: {responses} responses traced; system calls per request by thread kind and call")
    for (kind, call), n in sorted(per.items(), key=lambda x: -x[1])[:14]:
        print(f"  {kind:<8} {call:<16} {n / max(responses, 1):7.3f}")
    print("  total per request: " + ", ".join(f"{k} {v / max(responses, 1):.3f}" for k, v in kinds.items()))
    before, after = (int(x) for x in open(f"{work}/minflt.{mode}").read().split())
    print(f"  minor page faults per request (whole process): {(after - before) / max(responses, 1):.3f}")
PY
