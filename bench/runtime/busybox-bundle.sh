# Sourced by the runtime bench scripts.
# busybox_bundle DIR OCI_BINARY: DIR/rootfs from Debian's busybox-static and a default
# config.json (from `OCI_BINARY spec`) that runs /bin/true without a terminal.
busybox_bundle() {
  local dir=$1 oci=$2 a
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/"{proc,sys,dev,tmp,etc}
  cp /bin/busybox "$dir/rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$dir/rootfs/bin/$a"; done
  (cd "$dir" && "$oci" spec)
  jq '.process.terminal=false | .process.args=["/bin/true"]' "$dir/config.json" > "$dir/config.json.new" \
    && mv "$dir/config.json.new" "$dir/config.json"
}
