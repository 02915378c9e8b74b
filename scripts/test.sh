#!/usr/bin/env bash
# Runs every Berth test: unit tests and real-container integration tests (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: the tests start real containers; run as root" >&2; exit 1; }
./scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast "$@"
