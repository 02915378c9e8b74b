#!/bin/sh
# Layer unpack throughput: `berth import` of one big gzip layer (one pass: store the
# blob, gunzip, unpack with the safe openat2 extractor, syncfs), `berth load` of the
# same image as an OCI archive (two passes: verified blob write, then unpack), against
# `umoci unpack` of the same layer from an OCI layout and GNU `tar -xzf`.
# Runs with hyperfine; prints medians and MB/s (uncompressed tar size / median).
#
#   sudo bench/unpack/run.sh            # DIRS="/usr/bin /usr/share/doc" RUNS=5
#
# Needs a release build: cargo build --release -p berth-cli
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BERTH=${BERTH:-${CARGO_TARGET_DIR:-$REPO/target}/release/berth}
DIRS=${DIRS:-"/usr/bin /usr/share/doc"}
RUNS=${RUNS:-5}
WORK=${WORK:-/tmp/berth-bench-unpack}
[ -x "$BERTH" ] || { echo "build first: cargo build --release -p berth-cli ($BERTH)" >&2; exit 1; }
mkdir -p "$WORK"
LAYER=$WORK/layer.tar.gz
if [ ! -s "$LAYER" ]; then
    # shellcheck disable=SC2086
    tar --numeric-owner -C / -cf "$WORK/layer.tar" $(for d in $DIRS; do echo "${d#/}"; done)
    gzip -6 -c "$WORK/layer.tar" > "$LAYER"
fi
TAR_BYTES=$(gzip -dc "$LAYER" | wc -c)
FILES=$(gzip -dc "$LAYER" | tar -t | wc -l)
echo "layer: $(du -h "$LAYER" | cut -f1) gzip, $((TAR_BYTES / 1000000)) MB uncompressed, $FILES entries ($DIRS)"

# An OCI layout for umoci, made by berth itself (import + save --format oci).
R=$WORK/root-prep
rm -rf "$R" "$WORK/oci"
"$BERTH" --root "$R" import "$LAYER" bench/unpack:latest >/dev/null
"$BERTH" --root "$R" save --format oci -o "$WORK/oci.tar" bench/unpack:latest
mkdir -p "$WORK/oci" && tar -C "$WORK/oci" -xf "$WORK/oci.tar"
# umoci wants the tag as org.opencontainers.image.ref.name; save writes it.
rm -rf "$R"

hyperfine --runs "$RUNS" --export-json "$WORK/result.json" \
    --prepare "rm -rf $WORK/root $WORK/umoci $WORK/tar; sync" \
    -n berth-import "$BERTH --root $WORK/root import $LAYER" \
    -n berth-load "$BERTH --root $WORK/root load -q -i $WORK/oci.tar" \
    -n umoci "umoci unpack --image $WORK/oci:latest $WORK/umoci" \
    -n gnu-tar "mkdir -p $WORK/tar && tar --numeric-owner -C $WORK/tar -xzf $LAYER && sync -f $WORK/tar"
rm -rf "$WORK/root" "$WORK/umoci" "$WORK/tar"

jq -r --argjson bytes "$TAR_BYTES" '.results[] |
    "\(.command): median \(.median * 1000 | floor) ms, \($bytes / .median / 1000000 | floor) MB/s"' \
    "$WORK/result.json"
