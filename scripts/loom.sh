#!/usr/bin/env bash
# Model-checks the Treiber stack and the Michael-Scott queue with loom (every
# interleaving up to LOOM_MAX_PREEMPTIONS preemptions), under the leak scheme.
# Built into its own target directory: --cfg loom changes every crate's build.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
cargo test --locked --release -p reclaim-structures --test loom "$@"
