#!/bin/sh
# Cost of networking in `berth run --rm busybox true`: --network none, the default bridge,
# and a user-defined network (with its DNS responder started and stopped per run).
# Interleaved by hyperfine's runs; medians in the JSON export. Root; uses a scratch data root.
# Usage: bench/network/run.sh [path/to/berth]   (default target/release/berth)
set -eu
BERTH=${1:-target/release/berth}
ROOT=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
NET=benchnet$$
cleanup() {
    "$BERTH" --root "$ROOT" network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$ROOT"
}
trap cleanup EXIT
"$BERTH" --root "$ROOT" load -i /work/shared/images/busybox.oci.tar >/dev/null
"$BERTH" --root "$ROOT" network create --subnet 10.213.99.0/24 "$NET" >/dev/null
hyperfine -N -w 3 -r "${RUNS:-20}" --export-json "$ROOT/net.json" \
    -n none "$BERTH --root $ROOT run --rm --network none busybox true" \
    -n bridge "$BERTH --root $ROOT run --rm busybox true" \
    -n user-network "$BERTH --root $ROOT run --rm --network $NET busybox true" \
    -n bridge-publish "$BERTH --root $ROOT run --rm -p 127.0.0.1::80 busybox true"
jq -r '.results[] | "\(.command)\tmedian \(.median * 1000 | floor) ms"' "$ROOT/net.json"
