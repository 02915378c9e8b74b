#!/usr/bin/env bash
# Engine benchmark: `berth run --rm IMAGE true` against `podman --runtime runc run --rm`
# of the same image (made from Debian's busybox-static and imported into both), run
# interleaved; medians and ratio, with the default network and with --network none.
# Then 50 detached containers started in parallel (total wall time), and the RSS of one
# idle container's monitor (berth-monitor) against podman's conmon.
#
# Usage (root): bench/engine/run.sh [ROUNDS]   (builds release binaries first)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
ROUNDS=${1:-20}
PARALLEL=${PARALLEL:-50}
export PATH="$HOME/.cargo/bin:$PATH"
T=${CARGO_TARGET_DIR:-target}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p berth-cli -p berth-engine -p berth-runtime >&2
B="$T/release/berth"
ROOT=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
WORK=$(mktemp -d /tmp/berth-bench-work.XXXXXX)
IMG=berth-bench-busybox
berth() { "$B" --root "$ROOT" "$@"; }
pod() { podman --runtime runc "$@"; }
cleanup() {
  berth rm -f $(berth ps -aq) >/dev/null 2>&1 || true
  pod rm -f -t 0 $(pod ps -aq --filter label=berth-bench=1) >/dev/null 2>&1 || true
  pod rmi -f "localhost/$IMG" >/dev/null 2>&1 || true
  rm -rf "$ROOT" "$WORK"
}
trap cleanup EXIT

# The same image for both engines: a busybox rootfs tarball imported into each.
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$WORK/rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$WORK/rootfs/etc/passwd"
printf 'root:x:0:\n' > "$WORK/rootfs/etc/group"
tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
berth import -c 'CMD ["sh"]' "$WORK/rootfs.tar" "$IMG:latest" >/dev/null
podman import --change 'CMD ["sh"]' "$WORK/rootfs.tar" "localhost/$IMG:latest" >/dev/null

ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; echo $(( ($(date +%s%N) - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

one_mode() { # $1 = label, rest = extra run flags
  local label=$1; shift
  : > "$WORK/b"; : > "$WORK/p"
  # warm-up (page cache, CNI plugin binaries)
  berth run --rm "$@" "$IMG" true >/dev/null 2>&1 || true
  pod run --rm "$@" "localhost/$IMG" true >/dev/null 2>&1 || true
  for _ in $(seq "$ROUNDS"); do
    ms "$B" --root "$ROOT" run --rm "$@" "$IMG" true >> "$WORK/b"
    ms podman --runtime runc run --rm "$@" "localhost/$IMG" true >> "$WORK/p"
  done
  local mb mp
  mb=$(median < "$WORK/b"); mp=$(median < "$WORK/p")
  printf '%-22s berth %6s ms   podman %6s ms   ratio %s\n' "$label" "$mb" "$mp" \
    "$(awk -v a="$mb" -v b="$mp" 'BEGIN {printf "%.2f", a/b}')"
}

echo "run --rm true, $ROUNDS interleaved rounds, medians:"
one_mode "--network none" --network none
one_mode "default network"

echo "$PARALLEL detached containers started in parallel (--network none), wall time:"
s=$(date +%s%N)
seq "$PARALLEL" | xargs -P "$PARALLEL" -I{} "$B" --root "$ROOT" run -d --network none "$IMG" sleep 1000 >/dev/null
tb=$(( ($(date +%s%N) - s) / 1000000 ))
running_b=$(berth ps -q | wc -l)
# RSS of one idle container's monitor.
mpid=$(jq -r .monitor_pid "$ROOT"/containers/*/status.json | head -1)
rss_b=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
berth rm -f $(berth ps -aq) >/dev/null
s=$(date +%s%N)
seq "$PARALLEL" | xargs -P "$PARALLEL" -I{} podman --runtime runc run -d --network none --label berth-bench=1 "localhost/$IMG" sleep 1000 >/dev/null
tp=$(( ($(date +%s%N) - s) / 1000000 ))
running_p=$(pod ps -q --filter label=berth-bench=1 | wc -l)
cpid=$(pgrep -n conmon || true)
rss_p=$( [ -n "$cpid" ] && awk '/VmRSS/ {print $2}' "/proc/$cpid/status" || echo "?")
pod rm -f -t 0 $(pod ps -aq --filter label=berth-bench=1) >/dev/null 2>&1
printf '  berth %6s ms (%s running)   podman %6s ms (%s running)   ratio %s\n' "$tb" "$running_b" "$tp" "$running_p" \
  "$(awk -v a="$tb" -v b="$tp" 'BEGIN {printf "%.2f", a/b}')"
echo "idle monitor RSS: berth-monitor ${rss_b} kB   conmon ${rss_p} kB"
