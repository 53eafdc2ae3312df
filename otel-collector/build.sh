#!/usr/bin/env bash
# Builds the AlertingScout Collector with ocb into .stack/otelcol-alertingscout/.
# Rebuilds only when builder.yaml or the exporter sources changed (hash stamp).
# Prints the binary path on the last line of stdout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
STACK="$REPO/.stack"
BUILDER_VERSION=v0.165.0
export GOTOOLCHAIN=local
export PATH="/usr/local/go/bin:$PATH"
OUT="$STACK/otelcol-alertingscout"
BIN="$OUT/otelcol-alertingscout"
STAMP="$OUT/.build-hash"
mkdir -p "$STACK/bin" "$OUT"

have="$("$STACK/bin/builder" version 2>&1 || true)"
if [[ "$have" != *"${BUILDER_VERSION#v}"* ]]; then
  echo "build.sh: installing ocb builder $BUILDER_VERSION into $STACK/bin" >&2
  GOBIN="$STACK/bin" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
fi

hash="$(cd "$HERE" && { echo "$BUILDER_VERSION"; go version; cat builder.yaml;
  find elasticsearchexporter -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$hash" ]; then
  echo "build.sh: collector up to date ($BIN)" >&2
else
  echo "build.sh: building the collector with ocb (a few minutes cold)" >&2
  start=$(date +%s)
  (cd "$HERE" && "$STACK/bin/builder" --config builder.yaml) >"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log" >&2; exit 1; }
  echo "$hash" >"$STAMP"
  echo "build.sh: built in $(( $(date +%s) - start )) s" >&2
fi
echo "$BIN"
