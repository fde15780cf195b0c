#!/usr/bin/env bash
# Cachegrind over one run of each selected backend, simulating caches and branch
# predictors with an explicit geometry, so that machines compare: cachegrind cannot read
# an ARM CPU's caches, and a laptop's own would make its numbers incomparable with a
# Pi's. Instruction counts are exact and repeatable; miss rates are the simulator's.
#
# Output, per backend: <backend>.<workload>.<threads>t.cachegrind.out (cg_annotate reads
# it), .cachegrind.summary.json, .cachegrind.geometry, and the harness's .json.
# Valgrind runs the threads one at a time: contention is not what this measures.
# Example: scripts/cachegrind.sh --pi4 -b 'treiber-*'
#
# Usage: scripts/cachegrind.sh [--pi3 | --pi4 | --host] [options] [-- reclaim-bench run arguments]
#   --pi3   Raspberry Pi 3 (Cortex-A53): --I1=16384,2,64 --D1=16384,4,64 --LL=524288,16,64
#   --pi4   Raspberry Pi 4 (Cortex-A72): --I1=49152,3,64 --D1=32768,2,64 --LL=1048576,16,64
#   --host  this machine's, read from /sys/devices/system/cpu/cpu0/cache (the default);
#           a cache whose set count is not a power of two (valgrind cannot simulate it)
#           gets the nearest associativity that gives one, and the .geometry file says so
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/driver.sh
source "$here/lib/driver.sh"

machine=host
geometry_notes=
driver_flag() {
    case $1 in
    --pi3 | --pi4 | --host) machine=${1#--} ;;
    *) return 1 ;;
    esac
}
driver_parse "$@"
driver_need valgrind valgrind
case $machine in
pi3) geometry="--I1=16384,2,64 --D1=16384,4,64 --LL=524288,16,64" ;;
pi4) geometry="--I1=49152,3,64 --D1=32768,2,64 --LL=1048576,16,64" ;;
host)
    # The options on the first line; then a line for each cache that was changed so
    # that valgrind can simulate it.
    output=$(python3 "$here/lib/drivers.py" host-geometry)
    geometry=${output%%$'\n'*}
    geometry_notes=${output#"$geometry"}
    geometry_notes=${geometry_notes#$'\n'}
    if [[ -n $geometry_notes ]]; then
        while IFS= read -r note; do echo "cachegrind.sh: $note" >&2; done <<<"$geometry_notes"
    fi
    ;;
esac
driver_prepare

for backend in "${DRIVER_SELECTED[@]}"; do
    prefix=$(driver_prefix "$backend")
    {
        echo "$machine: $geometry"
        if [[ -n $geometry_notes ]]; then echo "$geometry_notes"; fi
    } >"$prefix.cachegrind.geometry"
    # shellcheck disable=SC2086 # the geometry is three options
    driver_run "$backend" valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
        $geometry --cachegrind-out-file="$prefix.cachegrind.out" --log-file="$prefix.cachegrind.log"
    python3 "$here/lib/drivers.py" cachegrind "$prefix"
done
echo "cachegrind.sh: results in $DRIVER_OUT (cg_annotate <file>.cachegrind.out for functions)"
