#!/usr/bin/env bash
# `cargo xtask up` for a developer who is not root (issue 16, item 5), run for real:
# an unprivileged user brings the whole stack up from this clone, Elasticsearch runs
# as that user (not the system user root would use), and `status` and `down` work.
# Needs root (it creates the user) and the Debian packages already present, as a
# developer's machine would have them after the one `sudo apt-get install` line.
#
# The test user reaches root's Rust toolchain read-only (/root made traversable,
# RUSTUP_HOME and CARGO_HOME pointing into it), standing in for the developer's own;
# the clone is handed to the user for the run, as a developer's own clone is theirs.
# Everything is given back on exit. The root stack is stopped first (fixed ports).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
USER_NAME="${NONROOT_USER:-alertingscout-dev}"
cd "$REPO"

[ "$(id -u)" = 0 ] || { echo "nonroot-up.sh: run as root (it creates $USER_NAME)" >&2; exit 1; }
id -u "$USER_NAME" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$USER_NAME"
HOME_DIR="$(getent passwd "$USER_NAME" | cut -d: -f6)"

cargo xtask down
root_mode="$(stat -c %a /root)"
owner="$(stat -c %u:%g "$REPO")"
restore() {
    chown -R "$owner" "$REPO"
    chmod "$root_mode" /root
}
trap restore EXIT
chmod 711 /root
chown -R "$USER_NAME" "$REPO"

as_user() {
    runuser -u "$USER_NAME" -- env -i HOME="$HOME_DIR" USER="$USER_NAME" \
        PATH="/root/.cargo/bin:/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin" \
        RUSTUP_HOME=/root/.rustup CARGO_HOME=/root/.cargo \
        bash -c "cd '$REPO' && $1"
}

as_user "cargo xtask up"
as_user "cargo xtask status"
uid="$(id -u "$USER_NAME")"
runs_as() { # component, pid
    local who; who="$(ps -o uid= -p "$2" | tr -d ' ')"
    echo "nonroot-up.sh: $1 (pid $2) runs as uid $who"
    [ "$who" = "$uid" ] || { echo "nonroot-up.sh: $1 should run as $USER_NAME (uid $uid)" >&2; exit 1; }
}
runs_as elasticsearch "$(cat .stack/elasticsearch/es.pid)"
for component in service collector prometheus alertmanager oncall; do
    runs_as "$component" "$(head -n1 ".stack/run/$component.pid")"
done
as_user "cargo xtask down"
echo "nonroot-up.sh: ok"
