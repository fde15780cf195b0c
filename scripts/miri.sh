#!/usr/bin/env bash
# Runs the schemes' and structures' tests, and the conformance suite on the lock-free
# backends, under Miri with tree borrows.
#
# Permissive provenance: crossbeam-epoch and haphazard turn pointers into integers (tagged
# pointers, hazard records). No -Zmiri-ignore-leaks: every structure owns a local
# collector or domain, dropped with it, and `leak` frees its retired nodes at teardown.
#
# Usage: [MIRI_SEEDS=0..4] scripts/miri.sh            (needs: rustup component add miri rust-src --toolchain nightly)
set -euo pipefail
cd "$(dirname "$0")/.."

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-tree-borrows -Zmiri-permissive-provenance}"
# Two round trips per backend: Miri is ~1000x slower than native.
export RECLAIM_STRESS_ITERS="${RECLAIM_STRESS_ITERS:-2}"

cargo +nightly miri test --locked -p reclaim-smr -p reclaim-structures
# The concurrent checks under several scheduler seeds: each seed is another interleaving.
SEEDS="${MIRI_SEEDS:-0..4}"
for structure in treiber- msqueue-; do
    MIRIFLAGS="$MIRIFLAGS -Zmiri-many-seeds=$SEEDS" \
        cargo +nightly miri test --locked -p reclaim-conformance --test registry -- "$structure"
done
