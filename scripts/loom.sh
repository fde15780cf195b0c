#!/usr/bin/env bash
# Model-checks with loom (every interleaving up to LOOM_MAX_PREEMPTIONS preemptions):
# the Treiber stack and the Michael-Scott queue under the leak scheme, and the sweep
# collector's registration / release / pass protocol.
# Built into its own target directory: --cfg loom changes every crate's build.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
cargo test --locked --release -p reclaim-structures --test loom "$@"
cargo test --locked --release -p reclaim-smr --lib "$@"
