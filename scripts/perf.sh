#!/usr/bin/env bash
# `perf stat` over one run of each selected backend, counting the events the harness
# records in its rows, as `reclaim-bench list --counters` names them: task-clock,
# context-switches, page-faults, cycles, instructions, branches, branch-misses,
# cache-references, cache-misses. Saves perf's CSV and a summary per backend; a counter
# the machine does not expose (hardware counters in most VMs, on many Raspberry Pi
# kernels) is shown as "unsupported", never as 0.
#
# Output, per backend, in the output directory:
#   <backend>.<workload>.<threads>t.perf.csv           perf stat -x, output
#   <backend>.<workload>.<threads>t.perf.summary.json  counts, per-op figures, reasons
#   <backend>.<workload>.<threads>t.json               the harness's result file
# Example: scripts/perf.sh -b 'treiber-*' -w pairs -t 1 -o results/drivers/laptop
#
# Usage: scripts/perf.sh [options] [-- reclaim-bench run arguments]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/driver.sh
source "$here/lib/driver.sh"

driver_parse "$@"
driver_need perf linux-perf
driver_prepare

# The binary's own list, one name a line (they are perf's event names), so that perf
# counts what the rows record and in the same order as the CSV export's columns.
mapfile -t counters < <("$DRIVER_BIN" list --counters)
((${#counters[@]})) || {
    echo "perf.sh: $DRIVER_BIN list --counters named no counters" >&2
    exit 1
}
events=$(IFS=,; echo "${counters[*]}")
for backend in "${DRIVER_SELECTED[@]}"; do
    prefix=$(driver_prefix "$backend")
    driver_run "$backend" perf stat -x, -e "$events" -o "$prefix.perf.csv" --
    python3 "$here/lib/drivers.py" perf "$prefix" "$events"
    echo
done
echo "perf.sh: results in $DRIVER_OUT"
