#!/usr/bin/env bash
# Installs what Berth's build, tests and benchmarks need on a fresh Debian 12 machine.
# Idempotent: skips apt when everything is already there.
set -euo pipefail
pkgs=(busybox-static crun runc podman skopeo umoci docker-registry containernetworking-plugins
      libseccomp-dev pkg-config hyperfine iptables apache2-utils jq curl uidmap debootstrap time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Root here lacks CAP_SYS_RESOURCE: podman must not ask for rlimits above the hard ones,
# and there is no systemd to manage cgroups or journald to log to.
if [ ! -f /etc/containers/containers.conf ] || ! grep -q berth-managed-v3 /etc/containers/containers.conf; then
  mkdir -p /etc/containers
  hard_nofile=$(ulimit -Hn)
  # conmon runs with at most 32768 processes, so the container cannot ask for more.
  hard_nproc=$(ulimit -Hu); [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt 32768 ] && hard_nproc=32768
  cat > /etc/containers/containers.conf <<CONF
# berth-managed-v3: written by scripts/install-deps.sh
[containers]
default_ulimits = ["nofile=${hard_nofile}:${hard_nofile}", "nproc=${hard_nproc}:${hard_nproc}"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
