#!/usr/bin/env bash
# Server CPU per first scan with a release binary, loopback only (issue #12's measurement).
#   cargo build --release -p sluice && bash bench/scan-cpu.sh
# Environment: SLUICE_BIN (default $CARGO_TARGET_DIR/release/sluice or target/release/sluice),
# REVISIONS (5000), SCANS (2000), CONCURRENCY (64), WORK (/dev/shm/sluice-scan-cpu).
#
# Generates the catalog (`catalog generate --seed 7`), imports it, restarts the server (so the
# figures do not include the import), then runs SCANS first scans of the built-in Windows 11
# profile at CONCURRENCY and reads the server's own CPU time (utime + stime) around them.
set -euo pipefail
BIN=${SLUICE_BIN:-${CARGO_TARGET_DIR:-target}/release/sluice}
REVISIONS=${REVISIONS:-5000}
SCANS=${SCANS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
WORK=${WORK:-/dev/shm/sluice-scan-cpu}
CLIENT=127.0.0.1:48730 ADMIN=127.0.0.1:48780

rm -rf "$WORK" && mkdir -p "$WORK"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
up() { for _ in $(seq 600); do curl -sf "http://$ADMIN/api/v1/health" >/dev/null && return; sleep 0.1; done; echo "no server on $ADMIN" >&2; exit 1; }
start() { SLUICE_LOG=warn "$BIN" serve --data "$WORK/data" --client-listen $CLIENT --admin-listen $ADMIN >>"$WORK/server.log" 2>&1 & pid=$!; up; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

start
"$BIN" catalog generate --revisions "$REVISIONS" --seed 7 --out "$WORK/catalog" >/dev/null
find "$WORK/catalog" -name '*.xml' -print0 | xargs -0 -n 2000 bash -c 'SLUICE_SERVER=http://'$ADMIN' SLUICE_TOKEN=$(cat '"$WORK"'/data/admin-token) '"$BIN"' import-xml "$@" >/dev/null' _
kill "$pid"; wait "$pid" 2>/dev/null || true
start

t0=$(ticks); w0=$(date +%s.%N)
"$BIN" agent fleet --server "http://$CLIENT" --clients "$SCANS" --concurrency "$CONCURRENCY" --duration 3600 --json >"$WORK/fleet.json"
t1=$(ticks); w1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
scans=$(grep -o '"scans_completed": *[0-9]*' "$WORK/fleet.json" | grep -o '[0-9]*$')
errors=$(tr -d '\n ' <"$WORK/fleet.json" | grep -o '"errors":{[^}]*}')
echo "revisions: $REVISIONS; first scans: $scans at concurrency $CONCURRENCY; $errors"
echo "wall: $(echo "$w1 - $w0" | bc) s; scans/s: $(grep -o '"scans_per_sec": *[0-9.]*' "$WORK/fleet.json" | grep -o '[0-9.]*$')"
echo "server CPU: $(( (t1 - t0) * 1000 / hz )) ms = $(echo "scale=2; ($t1 - $t0) * 1000 / $hz / $scans" | bc) ms per first scan"
grep -E 'VmRSS|VmHWM' "/proc/$pid/status"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
