#!/usr/bin/env bash
# Runs the schemes' and structures' tests, the conformance suite on the lock-free
# backends, and the disk-spilling channel's own lock-free memory queue, under Miri with
# tree borrows.
#
# Permissive provenance: crossbeam-epoch and haphazard turn pointers into integers (tagged
# pointers, hazard records). No -Zmiri-ignore-leaks: every structure owns a local
# collector or domain, dropped with it, and `leak` frees its retired nodes at teardown.
#
# Usage: [MIRI_SEEDS=0..4] [MIRI_CONFORMANCE="treiber- msqueue-"] scripts/miri.sh
#        (needs: rustup component add miri rust-src --toolchain nightly)
# MIRI_CONFORMANCE: the conformance suite's backend filters, one run each (by default
# every lock-free backend; CI takes a subset to stay within its time).
set -euo pipefail
cd "$(dirname "$0")/.."

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-tree-borrows -Zmiri-permissive-provenance}"
# Two round trips per backend: Miri is ~1000x slower than native.
export RECLAIM_STRESS_ITERS="${RECLAIM_STRESS_ITERS:-2}"

cargo +nightly miri test --locked -p reclaim-smr -p reclaim-structures
# The concurrent checks under several scheduler seeds: each seed is another interleaving.
SEEDS="${MIRI_SEEDS:-0..4}"
read -r -a filters <<<"${MIRI_CONFORMANCE:-treiber- msqueue-}"
for filter in "${filters[@]}"; do
    MIRIFLAGS="$MIRIFLAGS -Zmiri-many-seeds=$SEEDS" \
        cargo +nightly miri test --locked -p reclaim-conformance --test registry -- "$filter"
done
# The channel's memory queue: its unit tests and the leases' (the crate's other unit tests
# need the file system, which Miri isolates). Blocks installed, slots passed by the
# consumer, blocks recycled by the consumer or by a passed producer, spares evicted, values
# dropped with the queue — the racing ones across threads, so under the same seeds.
MIRIFLAGS="$MIRIFLAGS -Zmiri-many-seeds=$SEEDS" \
    cargo +nightly miri test --locked -p reclaim-hopper --lib -- queue:: lease::
