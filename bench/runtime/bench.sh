#!/usr/bin/env bash
# berth-oci vs crun vs runc, one interleaved run: full lifecycle (`run` of /bin/true in a
# busybox bundle, then `delete --force`; Debian's crun has no `run --keep`), create / start / delete separately, peak RSS, and
# whether a container starts under a 1 MiB memory limit.
#
#   sudo bench/runtime/bench.sh [ITERATIONS]     (default 50; needs a release build:
#                                                 cargo build --release -p berth-runtime)
#
# crun refuses this hybrid-cgroup host unless /sys/fs/cgroup/unified is unmounted, so ALL
# runtimes run inside one `unshare -m` in which that mount is gone: equal conditions.
set -euo pipefail
N=${1:-50}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
BERTH=${BERTH_OCI:-${CARGO_TARGET_DIR:-$HERE/target}/release/berth-oci}
[ -x "$BERTH" ] || { echo "build first: cargo build --release -p berth-runtime ($BERTH missing)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  exec unshare -m env BERTH_BENCH_INNER=1 BERTH_OCI="$BERTH" "$0" "$@"
fi
mount --make-rprivate /
umount /sys/fs/cgroup/unified 2>/dev/null || true

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'for r in berth-oci crun runc; do :; done; rm -rf "$work"' EXIT
. "$HERE/bench/runtime/busybox-bundle.sh"
busybox_bundle "$work/bundle" "$BERTH"
# ociVersion 1.0.2: Debian's crun rejects newer version strings.
jq '.ociVersion="1.0.2"' "$work/bundle/config.json" > "$work/c" && mv "$work/c" "$work/bundle/config.json"
jq '.linux.resources.memory.limit=1048576 | .process.args=["sh","-c","echo ok"]' \
  "$work/bundle/config.json" > "$work/mem.json"

declare -A BIN=([berth-oci]="$BERTH" [crun]="$(command -v crun)" [runc]="$(command -v runc)")
RTS=(berth-oci crun runc)
now() { date +%s%N; }
rt() { local r=$1; shift; "${BIN[$r]}" --root "$work/root-$r" "$@"; }
for r in "${RTS[@]}"; do : > "$work/$r.life"; : > "$work/$r.create"; : > "$work/$r.start"; : > "$work/$r.delete"; done

cd "$work/bundle"
for ((i = 0; i < N; i++)); do
  # rotate the order each round so no runtime always goes first
  for k in 0 1 2; do
    r=${RTS[$(( (i + k) % 3 ))]}
    id="b$i-$k"
    t0=$(now); rt "$r" run "$id" </dev/null >/dev/null 2>&1; rt "$r" delete --force "$id" >/dev/null 2>&1 || true; t1=$(now)
    echo $(( (t1 - t0) / 1000 )) >> "$work/$r.life"
    id="s$i-$k"
    t0=$(now); rt "$r" create "$id" </dev/null >/dev/null 2>&1 || true; t1=$(now)
    rt "$r" start "$id" >/dev/null 2>&1 || true; t2=$(now)
    while rt "$r" state "$id" 2>/dev/null | grep -q '"running"'; do sleep 0.001; done
    t3=$(now); rt "$r" delete "$id" >/dev/null 2>&1 || true; t4=$(now)
    echo $(( (t1 - t0) / 1000 )) >> "$work/$r.create"
    echo $(( (t2 - t1) / 1000 )) >> "$work/$r.start"
    echo $(( (t4 - t3) / 1000 )) >> "$work/$r.delete"
  done
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m/1000}'; }
# Peak RSS (KiB, /usr/bin/time's %M: the largest of the runtime process and its waited
# children) of `run`, 11 times per runtime, interleaved; the median and the largest.
for r in "${RTS[@]}"; do : > "$work/$r.rss"; done
for ((j = 0; j < 11; j++)); do
  for r in "${RTS[@]}"; do
    /usr/bin/time -o "$work/rss" -f %M "${BIN[$r]}" --root "$work/root-$r" run "rss$j" </dev/null >/dev/null 2>&1 || true
    tail -1 "$work/rss" >> "$work/$r.rss"
    rt "$r" delete --force "rss$j" >/dev/null 2>&1 || true
  done
done
rss() { sort -n "$work/$1.rss" | awk '{a[NR]=$1} END {printf "%d (max %d)", a[int((NR+1)/2)], a[NR]}'; }
crun_life=$(median "$work/crun.life")
echo "berth-oci bench: $N interleaved rounds, kernel $(uname -r), $(nproc) cores;"
echo "all runtimes in one mount namespace with /sys/fs/cgroup/unified unmounted (crun needs it)."
echo
echo "| runtime | lifecycle median ms | vs crun | create ms | start ms | delete ms | peak RSS KiB, median (max) of 11 | runs under 1 MiB limit |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for r in "${RTS[@]}"; do
  life=$(median "$work/$r.life")
  ratio=$(awk -v a="$life" -v b="$crun_life" 'BEGIN{printf "%.2f", a/b}')
  cp "$work/mem.json" "$work/bundle/config.json.mem"
  cp "$work/bundle/config.json" "$work/config.json.orig"
  cp "$work/mem.json" "$work/bundle/config.json"
  out=$(rt "$r" run "mem-$r" </dev/null 2>&1 || true)
  cp "$work/config.json.orig" "$work/bundle/config.json"
  case "$out" in ok*) mem=yes ;; *) mem="no ($(echo "$out" | tail -1 | cut -c1-60))" ;; esac
  echo "| $r | $life | ${ratio}x | $(median "$work/$r.create") | $(median "$work/$r.start") | $(median "$work/$r.delete") | $(rss "$r") | $mem |"
done
