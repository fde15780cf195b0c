#!/usr/bin/env bash
# Two machines side by side (say a laptop and a Pi): for every backend both driver
# directories measured, instructions per operation, D1 and LL miss rates and branch
# mispredict rate from cachegrind.sh, throughput from perf.sh; then cg_diff of each
# backend's two cachegrind profiles (B − A) per million operations, annotated, for where
# the difference lies.
#
# Usage: scripts/compare.sh DIR_A DIR_B [OUT_DIR]
#   DIR_A, DIR_B  directories written by cachegrind.sh (and perf.sh), e.g.
#                 results/drivers/laptop-x86_64 and results/pi/drivers/pi-aarch64
#   OUT_DIR       where the table and the diffs go (default: DIR_B/compare-<name of A>)
#   -h, --help    this text
# Reads no environment variables. Needs python3; cg_diff and cg_annotate (valgrind) for
# the per-function differences, which are skipped without them.
# Example: scripts/compare.sh results/drivers/laptop-x86_64 results/pi4/results/drivers
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/common.sh
source "$here/lib/common.sh"
usage_if_asked "$@"
if [[ $# -lt 2 || $# -gt 3 ]]; then
    usage_error "two or three arguments, not $#"
fi
need_python3 "the comparison table (scripts/lib/drivers.py)"
a=$1
b=$2
for dir in "$a" "$b"; do
    [[ -d $dir ]] || { echo "compare.sh: no such directory: $dir" >&2; exit 1; }
done
out=${3:-$b/compare-$(basename "$a")}
mkdir -p "$out"

python3 "$here/lib/drivers.py" compare "$a" "$b" | tee "$out/table.txt"

if ! command -v cg_diff >/dev/null; then
    echo "compare.sh: no cg_diff (valgrind), so no per-function differences" >&2
    exit 0
fi
echo
for profile_a in "$a"/*.cachegrind.out; do
    [[ -e $profile_a ]] || break
    name=$(basename "$profile_a" .cachegrind.out)
    profile_b=$b/$name.cachegrind.out
    [[ -f $profile_b ]] || continue
    # Both scaled to a million operations: fixed-duration runs differ in length.
    python3 "$here/lib/drivers.py" per-million "$a/$name" "$out/$name.a.per-million.out"
    python3 "$here/lib/drivers.py" per-million "$b/$name" "$out/$name.b.per-million.out"
    # Source paths differ between machines (registry and toolchain directories): keep
    # only the file name so the same function lines up on both sides.
    cg_diff --mod-filename='s/.*\///' "$out/$name.a.per-million.out" "$out/$name.b.per-million.out" \
        >"$out/$name.cg_diff" 2>"$out/$name.cg_diff.log" || {
        echo "compare.sh: cg_diff failed for $name (see $out/$name.cg_diff.log)" >&2
        continue
    }
    cg_annotate "$out/$name.cg_diff" >"$out/$name.cg_diff.txt" 2>/dev/null || true
    echo "$name: cg_diff $out/$name.cg_diff (annotated: $out/$name.cg_diff.txt)"
done
echo "compare.sh: table in $out/table.txt"
