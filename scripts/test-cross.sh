#!/usr/bin/env bash
# Runs the whole test suite for the Raspberry Pi targets under qemu user mode: every
# workspace test, the concurrency tests included, built with the release profile (qemu
# translates each instruction; an unoptimized build would take the better part of an
# hour). Correctness is what this checks; no timing taken under qemu means anything.
#
# Usage: scripts/test-cross.sh [TARGET...] [-- test binary arguments]
#   TARGET       armv7-unknown-linux-gnueabihf, aarch64-unknown-linux-gnu (default: both)
#   -- ARGS      arguments for the test binaries (e.g. a test name filter)
#   -h, --help   this text
# Environment:
#   RECLAIM_STRESS_ITERS    stress round trips per backend (default here 200; native 2000)
#   RECLAIM_HOPPER_REPEATS  the channel's repeat loops (default here 250; native 2500)
# Needs scripts/setup-cross.sh first.
# Example: RECLAIM_STRESS_ITERS=50 scripts/test-cross.sh aarch64-unknown-linux-gnu
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh
usage_if_asked "$@"
# shellcheck source=scripts/cross-env.sh
source scripts/cross-env.sh

targets=()
while (($#)) && [[ $1 != -- ]]; do
    targets+=("$1")
    shift
done
[[ ${1:-} == -- ]] && shift
((${#targets[@]})) || targets=("${PI_TARGETS[@]}")

export RECLAIM_STRESS_ITERS=${RECLAIM_STRESS_ITERS:-200}
export RECLAIM_HOPPER_REPEATS=${RECLAIM_HOPPER_REPEATS:-250}
for target in "${targets[@]}"; do
    runner=$(runner_for "$target")
    command -v "${runner%% *}" >/dev/null || {
        echo "test-cross: ${runner%% *} not found; run scripts/setup-cross.sh" >&2
        exit 1
    }
    echo "==> $target under $runner"
    start=$(date +%s)
    # The command the README gives: child processes (the CLI tests' binary, its
    # `run --isolate` repeats, the channel's process tests) find themselves emulated and
    # start through the same runner (crates/emulation), so nothing here has to say so.
    cargo test --workspace --locked --release --target "$target" -- "$@"
    echo "$target: tests passed in $(($(date +%s) - start)) s"
done
