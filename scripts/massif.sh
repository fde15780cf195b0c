#!/usr/bin/env bash
# Massif over one run of each selected backend: the heap's high-water mark, and with
# ms_print, which allocation sites held it. Compare with the harness's own `memory`
# figures (the counting allocator): massif counts every block of the process,
# allocator overhead included, at the cost of running under valgrind.
#
# Output, per backend: <backend>.<workload>.<threads>t.massif.out (ms_print reads it),
# .massif.summary.json, and the harness's .json.
# Example: scripts/massif.sh -b treiber-ebr,treiber-leak
#
# Usage: scripts/massif.sh [options] [-- reclaim-bench run arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/driver.sh
source "$here/lib/driver.sh"

driver_parse "$@"
driver_need valgrind valgrind
driver_prepare

for backend in "${DRIVER_SELECTED[@]}"; do
    prefix=$(driver_prefix "$backend")
    driver_run "$backend" valgrind --tool=massif --massif-out-file="$prefix.massif.out" \
        --log-file="$prefix.massif.log"
    python3 "$here/lib/drivers.py" massif "$prefix"
done
echo "massif.sh: results in $DRIVER_OUT (ms_print <file>.massif.out for the sites)"
