#!/usr/bin/env bash
# Root → downstream sync throughput with release binaries, loopback only.
#   cargo build --release -p sluice && bash bench/sync-throughput.sh
# Environment: SLUICE_BIN (default $CARGO_TARGET_DIR/release/sluice or target/release/sluice),
# REVISIONS (20000), CONTENT_MB (512), WORK (/dev/shm/sluice-sync-bench).
set -euo pipefail
BIN=${SLUICE_BIN:-${CARGO_TARGET_DIR:-target}/release/sluice}
REVISIONS=${REVISIONS:-20000}
CONTENT_MB=${CONTENT_MB:-512}
WORK=${WORK:-/dev/shm/sluice-sync-bench}
ROOT_C=127.0.0.1:48630 ROOT_A=127.0.0.1:48680 DOWN_C=127.0.0.1:48631 DOWN_A=127.0.0.1:48681

rm -rf "$WORK" && mkdir -p "$WORK"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
up() { for _ in $(seq 300); do curl -sf "http://$1/api/v1/health" >/dev/null && return; sleep 0.1; done; echo "no server on $1" >&2; exit 1; }
now() { date +%s.%N; }

SLUICE_LOG=warn "$BIN" serve --data "$WORK/root" --client-listen $ROOT_C --admin-listen $ROOT_A 2>"$WORK/root.log" & pids+=($!)
SLUICE_LOG=warn "$BIN" serve --data "$WORK/down" --client-listen $DOWN_C --admin-listen $DOWN_A 2>"$WORK/down.log" & pids+=($!)
up $ROOT_A; up $DOWN_A
root() { SLUICE_SERVER=http://$ROOT_A SLUICE_TOKEN=$(cat "$WORK/root/admin-token") "$BIN" "$@"; }
down() { SLUICE_SERVER=http://$DOWN_A SLUICE_TOKEN=$(cat "$WORK/down/admin-token") "$BIN" "$@"; }

"$BIN" catalog generate --revisions "$REVISIONS" --seed 7 --out "$WORK/catalog" >/dev/null
t0=$(now); find "$WORK/catalog" -name '*.xml' -print0 | xargs -0 -n 2000 bash -c 'SLUICE_SERVER=http://'$ROOT_A' SLUICE_TOKEN=$(cat '"$WORK"'/root/admin-token) '"$BIN"' import-xml "$@" >/dev/null' _
echo "import on the root: $(echo "$(now) - $t0" | bc) s"

# Every product, product family and classification of the generated catalog.
ids() { grep -l "CategoryType=\"$1\"" "$WORK"/catalog/*.xml | xargs -n1 grep -o -m1 'UpdateID="[^"]*"' | cut -d'"' -f2 | paste -sd, -; }
products=$(ids Product),$(ids ProductFamily)
classifications=$(ids UpdateClassification)

# 1. Metadata: storage none, one full sync.
down sync configure --upstream "http://$ROOT_C" --storage none --products "$products" --classifications "$classifications" >/dev/null
t0=$(now); down sync start --wait --json >"$WORK/sync1.json"; t1=$(now)
new=$(grep -o '"new_revisions": *[0-9]*' "$WORK/sync1.json" | grep -o '[0-9]*$')
secs=$(echo "$t1 - $t0" | bc)
echo "metadata: $new revisions in $secs s = $(echo "$new / $secs" | bc) revisions/s"

# 2. Content: one published file of CONTENT_MB MiB, storage all (the generated catalog's own
# files are not on the root: each is one fast 404, counted in the time).
head -c $((CONTENT_MB << 20)) /dev/urandom >"$WORK/payload.exe"
root publish --file "$WORK/payload.exe" --title "Sync benchmark payload" --classification "Security Updates" --product "${products%%,*}" >/dev/null
down sync configure --storage all >/dev/null
t0=$(now); down sync start --wait --json >"$WORK/sync2.json" 2>"$WORK/sync2.err" || true; t1=$(now)
secs=$(echo "$t1 - $t0" | bc)
echo "second sync: $(grep -o 'HTTP 404' "$WORK/sync2.err" | wc -l) catalog files absent on the root (one 404 each)"
sha1=$(sha1sum "$WORK/payload.exe" | cut -c1-40 | tr a-f A-F)
test -f "$WORK/down/content/${sha1:38:2}/$sha1.exe" && echo "payload present and verified on the downstream"
echo "content: $CONTENT_MB MiB in $secs s = $(echo "$CONTENT_MB / $secs" | bc -l | cut -c1-6) MiB/s (whole second sync)"
