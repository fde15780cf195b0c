#!/usr/bin/env bash
# Instructions per operation of every backend on one thread (`pairs`), counted by
# valgrind, and checked against a committed baseline: a signal with no noise, so CI can
# catch a change that makes a scheme costlier without timing anything.
#
# Each backend runs `pairs` for N and for 2N iterations (`run --iterations`, the same
# work every time) under callgrind, counting each thread apart; the worker's count (the
# thread started last) at 2N minus its count at N, divided by the extra operations, is
# what one more operation costs the thread doing it — free of start-up, building the
# container, the check and teardown, and of threads the backend runs on its own (the
# sweep collector, whose timer makes its work differ from run to run). With --update each
# backend is measured twice and the baseline records the figure and a tolerance: 2%, or
# three times how far the two measurements differed, and at least 40% for a backend with
# a thread of its own, which interleaves with the worker differently every run.
#
# Usage: scripts/instructions.sh [--update] [-b PATTERNS] [-n N] [--baseline FILE] [--bin PATH]
#   -b PATTERNS   backends, as `reclaim-bench list --names` takes them (default: all
#                 backends, the handoff strategies excluded)
#   -n N          iterations of the shorter run (default 20000)
#   --baseline    the table (default: results/reference/instructions.tsv)
#   --bin PATH    the reclaim-bench binary (default: $RECLAIM_BENCH, or a release build
#                 made now)
#   --update      measure and rewrite the baseline instead of checking against it
#   -h, --help    this text
# Environment:
#   RECLAIM_BENCH     the binary, as --bin
#   CARGO_TARGET_DIR  where cargo builds (read by cargo), so where the binary is found
# Needs valgrind and python3. The baseline belongs to one compiler and one C library:
# update it when either changes.
# Example: scripts/instructions.sh -b 'treiber-*'
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
patterns='*'
iterations=20000
baseline=$repo/results/reference/instructions.tsv
bin=${RECLAIM_BENCH:-}
mode=check
while (($#)); do
    case $1 in
    -b) patterns=$2 && shift 2 ;;
    -n) iterations=$2 && shift 2 ;;
    --baseline) baseline=$2 && shift 2 ;;
    --bin) bin=$2 && shift 2 ;;
    --update) mode=update && shift ;;
    -h | --help)
        script_usage
        exit 0
        ;;
    *) usage_error "unknown option $1" ;;
    esac
done
need_python3 "the comparison with the baseline (scripts/lib/drivers.py)"
command -v valgrind >/dev/null || {
    echo "instructions.sh: no valgrind (Debian: apt-get install valgrind)" >&2
    exit 1
}
if [[ -z $bin ]]; then
    cargo build --release --locked --manifest-path "$repo/Cargo.toml" >&2
    # Where that build went, CARGO_TARGET_DIR included.
    target_dir=$(cargo_target_dir)
    bin=$target_dir/release/reclaim-bench
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Containers only: the workload counted is `pairs`, which sets do not run.
mapfile -t backends < <("$bin" list --names "$patterns" --family containers | grep -v '^handoff-')
((${#backends[@]})) || exit 1

# One line per run: backend, iterations, the worker thread's instructions, and how many
# threads besides the main one and the worker ran.
count() {
    local backend=$1 n=$2 files
    rm -f "$work"/callgrind.out*
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/callgrind.out" \
        "$bin" run --backend "$backend" --workload pairs --threads 1 --iterations "$n" \
        --repeats 1 --no-instrumentation --no-report --quiet --output "$work/run.json" \
        --scratch "$work" 2>"$work/valgrind.log" || {
        cat "$work/valgrind.log" >&2
        echo "instructions.sh: the run of $backend failed" >&2
        exit 1
    }
    # callgrind numbers threads in the order they start (zero-padded, so the glob sorts
    # them): the worker is started last.
    files=("$work"/callgrind.out-*)
    local worker=${files[-1]} refs
    refs=$(sed -n 's/^totals: *//p' "$worker")
    [[ -n $refs ]] || {
        echo "instructions.sh: callgrind gave no count for $backend" >&2
        exit 1
    }
    echo "$backend $n $refs $((${#files[@]} - 2))" >>"$work/measured"
}

measurements=1
[[ $mode == update ]] && measurements=2
for backend in "${backends[@]}"; do
    for _ in $(seq "$measurements"); do
        count "$backend" "$iterations"
        count "$backend" $((2 * iterations))
    done
done
python3 "$repo/scripts/lib/drivers.py" instructions "$baseline" "$work/measured" "$mode"
