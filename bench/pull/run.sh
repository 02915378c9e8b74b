#!/usr/bin/env bash
# Pull + unpack of a multi-layer Debian image (>= 100 MB unpacked) from a local
# docker-registry: `berth pull` (fresh root each run) vs `podman pull` (its own storage,
# image removed between runs) vs `skopeo copy` + `umoci unpack`. Runs are interleaved;
# prints per-run times, medians, ratios and Berth's unpack throughput.
#
# Usage: bench/pull/run.sh [RUNS]        (root; builds berth --release first)
# Knobs: BERTH=path/to/berth  IMGS=/tmp/imgs (where make-images.sh put debian.oci.tar)
#        LAYERS=5 (layers the Debian rootfs is split into)  WORK=/tmp/berth-bench-pull
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
IMGS=${IMGS:-/tmp/imgs}
WORK=${WORK:-/tmp/berth-bench-pull}
LAYERS=${LAYERS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if [ -z "${BERTH:-}" ]; then
  cargo build --release -q -p berth-cli
  BERTH=$CARGO_TARGET_DIR/release/berth
fi
if [ ! -f "$IMGS/debian.oci.tar" ]; then
  OUT=$IMGS DEBIAN=1 PUSH=0 ../shared/images/make-images.sh
fi
# Deleting a previous run's tree makes new inodes slow for a minute (see below): wait it out.
if [ -d "$WORK" ]; then rm -rf "$WORK"; sync; sleep 61; fi
mkdir -p "$WORK"

# The image: Debian minbase split into $LAYERS layers plus one on top.
python3 bench/pull/split-layers.py "$IMGS/debian.oci.tar" "$WORK/layout" split "$LAYERS"

# A local registry on a free port.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$PORT}
YML
docker-registry serve "$WORK/registry.yml" > "$WORK/registry.log" 2>&1 &
REG_PID=$!
# podman's overlay storage keeps a mount per store: let podman reset its own stores
# (also when a run fails) before the tree goes.
cleanup() {
  for r in "$WORK"/podman-run-*; do
    [ -d "$r" ] || continue
    podman --root "$WORK/podman-${r##*/podman-run-}" --runroot "$r" system reset -f >/dev/null 2>&1 || true
  done
  # A killed registry makes `wait` fail, and set -e holds in the trap too.
  kill $REG_PID 2>/dev/null || true; wait $REG_PID 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.1; done
IMG=127.0.0.1:$PORT/bench/debian:split
skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout:split" "docker://$IMG"
UNPACKED=$(python3 -c "
import json,sys; d='$WORK/layout'
idx=json.load(open(d+'/index.json')); m=json.load(open(d+'/blobs/sha256/'+idx['manifests'][0]['digest'][7:]))
import gzip; print(sum(len(gzip.open(d+'/blobs/sha256/'+l['digest'][7:]).read()) for l in m['layers']))")
COMPRESSED=$(python3 -c "
import json; d='$WORK/layout'
idx=json.load(open(d+'/index.json')); m=json.load(open(d+'/blobs/sha256/'+idx['manifests'][0]['digest'][7:]))
print(sum(l['size'] for l in m['layers']))")

now() { date +%s.%N; }
# Every run gets storage of its own, prepared untimed, and nothing is deleted until the
# end: on this host's ext4, inodes freed in the last 60 s (5 min while their inode table
# block is dirty) are skipped by the inode allocator one by one (`recently_deleted` in
# perf), so creating ~6,400 files right after deleting the previous run's tree costs
# seconds of system time and grows run after run. A fresh store per run is also what a
# first pull on a new host sees. Each podman store is a `--root`/`--runroot` pair
# initialised by `podman images` before it is timed.
berth_run() { # $1 = run name
  local root="$WORK/berth-$1" t0
  "$BERTH" --root "$root" images >/dev/null
  sync
  t0=$(now)
  "$BERTH" --root "$root" pull -q "$IMG" >/dev/null
  echo "$(now) - $t0" | bc
}
podman_run() {
  local p=(podman --root "$WORK/podman-$1" --runroot "$WORK/podman-run-$1") t0
  "${p[@]}" images >/dev/null 2>&1
  sync
  t0=$(now)
  "${p[@]}" pull -q --tls-verify=false "$IMG" >/dev/null
  echo "$(now) - $t0" | bc
}
skopeo_umoci_run() {
  local t0
  sync
  t0=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$IMG" "oci:$WORK/oci-$1:split" >/dev/null
  umoci unpack --image "$WORK/oci-$1:split" "$WORK/bundle-$1" >/dev/null
  echo "$(now) - $t0" | bc
}

# One warm-up of each (page cache, registry), not counted.
berth_run w >/dev/null; podman_run w >/dev/null; skopeo_umoci_run w >/dev/null
B=(); P=(); S=()
for i in $(seq "$RUNS"); do
  B+=("$(berth_run "$i")"); P+=("$(podman_run "$i")"); S+=("$(skopeo_umoci_run "$i")")
  echo "run $i: berth ${B[-1]}s  podman ${P[-1]}s  skopeo+umoci ${S[-1]}s"
done
python3 - "$UNPACKED" "$COMPRESSED" "${B[*]}" "${P[*]}" "${S[*]}" <<'PY'
import statistics, sys
unpacked, compressed = int(sys.argv[1]), int(sys.argv[2])
b, p, s = ([float(x) for x in a.split()] for a in sys.argv[3:6])
mb, mp, ms = statistics.median(b), statistics.median(p), statistics.median(s)
print(f"image: {unpacked/1e6:.1f} MB unpacked, {compressed/1e6:.1f} MB compressed")
print(f"median berth pull        {mb:.2f} s   ({unpacked/1e6/mb:.0f} MB/s unpacked)")
print(f"median podman pull       {mp:.2f} s   (berth/podman = {mb/mp:.2f})")
print(f"median skopeo+umoci      {ms:.2f} s   (berth/skopeo+umoci = {mb/ms:.2f})")
PY
