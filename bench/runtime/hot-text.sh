#!/usr/bin/env bash
# Regenerates crates/runtime/link/hot-text.ld: the functions berth-oci runs on a
# container's lifecycle (run, delete, create, start, state, kill), in first-call order,
# which the linker then places together at the start of the text.
#
#   bench/runtime/hot-text.sh          (as root; needs tracefs uprobes, readelf, jq)
#
# Why: the kernel maps file pages around each faulting address in 64 KiB windows, and a
# start touches ~500 functions scattered over 2.5 MiB of text, so nearly every window got
# mapped: ~1 MiB of peak RSS that bought nothing. Packed, they fill ~12.
#
# The names are v0-mangled (.cargo/config.toml), with crate disambiguators,
# back-references and a generic's instantiating crate wildcarded, so the list survives
# a rebuild with other metadata (profile, features, Cargo.lock) and edits to function
# bodies; new or renamed functions land in the ordinary text until this is run again,
# and a pattern that matches nothing costs nothing. Run it again after changes to the
# lifecycle's code or to the release profile (inlining decides which functions exist).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$HERE/crates/runtime/link/hot-text.ld
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
T=/sys/kernel/tracing
[ -e $T/uprobe_events ] || mount -t tracefs nodev $T
[ -e $T/uprobe_events ] || { echo "no tracefs uprobes at $T" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-hot.XXXXXX)
cleanup() {
  { echo 0 > $T/events/berthhot/enable; } 2>/dev/null || true
  # Read the list first: deleting probes while reading the same file skips some.
  local probes
  probes=$(sed -n 's/^p:\(berthhot\/[^ ]*\).*/\1/p' $T/uprobe_events 2>/dev/null || true)
  for p in $probes; do echo "-:$p" >> $T/uprobe_events; done
  for b in ws rt; do
    for id in r1 c1 r2 c2; do
      "$work/berth-oci-$b" --root "$work/state" delete --force "$id$b" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The real builds, with a link map: its input sections are the functions, under the names
# the linker script matches. Two builds, because Cargo unifies features over the packages
# it builds and other features mean other metadata, which reorders the compiler's work and
# so changes what gets inlined (at opt-level "s" above all): the workspace's (quickstart.sh)
# and berth-runtime's alone (bench.sh). Both are traced; the list is the first's order,
# then what only the second calls. Tracing a build with other settings (say, symbols kept)
# would not match either.
declare -A BUILD=([ws]="--workspace" [rt]="-p berth-runtime")
for b in ws rt; do
  # shellcheck disable=SC2086 # BUILD holds two words
  BERTH_OCI_LINK_MAP=$work/$b.map CARGO_TARGET_DIR=$work/target-$b \
    cargo build --release -q ${BUILD[$b]} --manifest-path "$HERE/Cargo.toml"
  cp "$work/target-$b/release/berth-oci" "$work/berth-oci-$b"
done

# Probes on every function's entry in both binaries. File offset of a text address: the
# executable LOAD segment's vaddr - offset. Map lines of input sections: VMA LMA SIZE
# ALIGN OBJECT:(SECTION), one function each.
: > "$work/names"
i=0
for b in ws rt; do
  bin=$work/berth-oci-$b
  read -r seg_off seg_vaddr < <(readelf -lW "$bin" | awk '$1 == "LOAD" && / R E / {print $2, $3; exit}')
  delta=$(( seg_vaddr - seg_off ))
  awk 'NF == 5 && $5 ~ /:\(\.text\.[^)]*\)$/ && $3 != "0" {
         sec = $5; sub(/.*:\(\.text\.(unlikely\.)?/, "", sec); sub(/\)$/, "", sec)
         print $1, sec
       }' "$work/$b.map" | awk '!seen[$1]++' > "$work/syms"
  while read -r addr name; do
    echo "p:berthhot/f$i $bin:0x$(printf %x $(( 0x$addr - delta )))"
    echo "f$i $name" >> "$work/names"
    i=$((i + 1))
  done < "$work/syms"
done > "$work/probes"
while read -r p; do echo "$p" >> $T/uprobe_events; done < "$work/probes"

. "$HERE/bench/runtime/busybox-bundle.sh"
busybox_bundle "$work/bundle" "$work/berth-oci-ws"

echo 65536 > $T/buffer_size_kb
: > $T/trace
echo 1 > $T/events/berthhot/enable
# The lifecycle twice per binary: first as bench.sh runs it (its own mount namespace
# without /sys/fs/cgroup/unified, as crun needs), then on the host as it is (hybrid
# cgroups here, or pure v2). Functions first called later come after the earlier ones.
lifecycle() { # $1: id suffix
  rt() { (cd "$work/bundle" && "$BIN" --root "$work/state" "$@" </dev/null >/dev/null 2>&1) || true; }
  rt run "r$1"
  rt delete --force "r$1"
  rt create "c$1"
  rt start "c$1"
  rt state "c$1"
  rt kill "c$1" KILL
  rt delete --force "c$1"
}
export work
for b in ws rt; do
  export BIN=$work/berth-oci-$b
  unshare -m bash -c "mount --make-rprivate /; umount /sys/fs/cgroup/unified 2>/dev/null; $(declare -f lifecycle); lifecycle 1$b"
  lifecycle "2$b"
done
echo 0 > $T/events/berthhot/enable
grep -v '^#' $T/trace | grep -oE ' f[0-9]+:' | tr -d ' :' | awk '!seen[$0]++' > "$work/order"
: > $T/trace
[ -s "$work/order" ] || { echo "no function was traced" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
{
  echo "/* Generated by bench/runtime/hot-text.sh on $(date -u +%Y-%m-%d) ($(rustc --version)):"
  echo "   berth-oci's lifecycle functions in first-call order, placed before the rest of"
  echo "   the text. Passed to the linker by crates/runtime/build.rs; INSERT keeps the"
  echo "   default linker script. LLVM puts some functions in .text.unlikely.*: both. */"
  echo "SECTIONS"
  echo "{"
  echo "  .text.hot : {"
  # v0 names (.cargo/config.toml): crate disambiguators (Cs<base62>_) and the
  # back-references (B<base62>_, byte offsets that move when a disambiguator's length
  # does) become wildcards, and so does a generic instance's instantiating crate (the
  # crate path or back-reference after the function's own path: with LTO, which crate
  # instantiates a shared generic changes from build to build), so the patterns survive
  # a rebuild with other metadata. tests/binary_layout.rs's pattern_of mirrors this.
  awk 'NR == FNR {name[$1] = $2; next} {print name[$1]}' "$work/names" "$work/order" |
    sed -E 's/(Cs|B)[0-9A-Za-z]*_/\1*_/g' |
    awk '{
      n = $0
      if (n ~ /B\*_$/) {
        n = substr(n, 1, length(n) - 3) "*"
      } else if (match(n, /Cs\*_[0-9]+_?[A-Za-z0-9_]+$/)) {
        at = RSTART; tail = substr(n, RSTART + 4)
        match(tail, /^[0-9]+/); len = substr(tail, 1, RLENGTH) + 0
        ident = substr(tail, RLENGTH + 1)
        if (length(ident) == len + 1 && substr(ident, 1, 1) == "_") ident = substr(ident, 2)
        if (length(ident) == len) n = substr(n, 1, at - 1) "*"
      }
      if (!seen[n]++) print "    *(.text." n " .text.unlikely." n ")"
    }'
  echo "  }"
  echo "}"
  echo "INSERT BEFORE .text;"
} > "$OUT"
echo "$(wc -l < "$work/order") functions -> $OUT"
