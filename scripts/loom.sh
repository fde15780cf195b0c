#!/usr/bin/env bash
# Model-checks with loom (every interleaving up to LOOM_MAX_PREEMPTIONS preemptions):
# the Treiber stack and the Michael-Scott queue under the leak scheme, the sweep
# collector's registration / release / pass protocol, and the disk-spilling channel's
# spill / claim / wake protocol.
# Built into its own target directory: --cfg loom changes every crate's build.
#
# Usage: scripts/loom.sh [cargo test arguments]   (each of the three `cargo test`s gets them)
#   -h, --help   this text
# Environment:
#   LOOM_MAX_PREEMPTIONS     preemptions explored for the structures and the collector
#                            (default 3)
#   HOPPER_LOOM_PREEMPTIONS  preemptions explored for the channel (default 2)
#   CARGO_TARGET_DIR         where to build (default target/loom, relative to the workspace)
#   RUSTFLAGS                more compiler flags; --cfg loom is added
# Example: LOOM_MAX_PREEMPTIONS=2 scripts/loom.sh -- --nocapture
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
usage_if_asked "$@"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
cargo test --locked --release -p reclaim-structures --test loom "$@"
cargo test --locked --release -p reclaim-smr --lib "$@"
# Each channel operation touches several atomics, a lock and the file system: two
# preemptions keep the models under a minute (HOPPER_LOOM_PREEMPTIONS to raise it).
LOOM_MAX_PREEMPTIONS="${HOPPER_LOOM_PREEMPTIONS:-2}" \
    cargo test --locked --release -p reclaim-hopper --test loom "$@"
