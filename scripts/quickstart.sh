#!/usr/bin/env bash
# Fresh machine to a running container: install packages, build, make a busybox bundle
# from Debian's busybox-static, and run a container in it with berth-oci.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "quickstart.sh: containers need root; run as root" >&2; exit 1; }
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --workspace
B=target/release
bundle=$(mktemp -d /tmp/berth-quickstart.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$bundle/rootfs/bin/$a"; done
(cd "$bundle" && "$OLDPWD/$B/berth-oci" spec)
# Run a shell that shows it is isolated: its own hostname, PID 1, its own root.
jq '.process.terminal = false
    | .process.args = ["sh", "-c", "echo hello from a berth container; echo hostname=$(hostname) pid=$$; ls /"]' \
  "$bundle/config.json" > "$bundle/config.json.new" && mv "$bundle/config.json.new" "$bundle/config.json"
"$B/berth-oci" run --bundle "$bundle" "quickstart-$$"
# The engine, daemonless: the same busybox root filesystem becomes an image, and
# `berth run --rm` starts a container from it (a small monitor per container, no service).
tar -C "$bundle/rootfs" -cf - . | "$B/berth" import -c 'CMD ["sh"]' - busybox:quickstart >/dev/null
"$B/berth" run --rm --network none busybox:quickstart \
  sh -c 'echo hello from berth run; echo hostname=$(hostname) pid=$$; ls /'
