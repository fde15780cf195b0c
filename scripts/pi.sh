#!/usr/bin/env bash
# Runs reclaim-bench on a Raspberry Pi from this machine: builds the harness and the
# criterion benches for the Pi's target, copies them over ssh, runs the harness (the quick
# suite unless told otherwise) and the benches there, optionally the perf and cachegrind
# drivers, and fetches every result back under results/<pi's host name>/ (results/ and,
# for the benches, criterion/).
#
# Usage: scripts/pi.sh [options] [-- harness run arguments]
#   --host HOST        the Pi (or $PI_HOST)                                   required
#   --user USER        ssh user (or $PI_USER; default: ssh's own)
#   --port PORT        ssh port (or $PI_PORT; default 22)
#   --target TRIPLE    aarch64-unknown-linux-gnu (64-bit Raspberry Pi OS, the default,
#                      or $PI_TARGET) or armv7-unknown-linux-gnueabihf (32-bit)
#   --remote-dir DIR   working directory on the Pi (or $PI_DIR; default reclaim-bench)
#   --local-dir DIR    where results land here (default results/<pi's host name>)
#   --bench-args ARGS  arguments for every criterion bench binary (default: none, a full
#                      run; e.g. "--quick --noplot")
#   --no-benches       skip the criterion benches
#   --drivers MODEL    also run scripts/perf.sh and scripts/cachegrind.sh --MODEL (pi3 or
#                      pi4) on the Pi (needs perf, valgrind and python3 there)
#   --runner CMD       prefix for every remote command (e.g. "qemu-aarch64 -L
#                      /usr/aarch64-linux-gnu" to rehearse on an x86_64 "Pi"; see
#                      scripts/test-pi-loopback.sh)
#   --no-build         use the harness binary cargo's target directory already holds
#                      (<target dir>/<triple>/release; pi.sh says when it was built)
#   -h, --help         this text
# Environment: PI_HOST, PI_USER, PI_PORT, PI_TARGET, PI_DIR as above; PI_SSH_OPTS, extra
# options for ssh and scp (e.g. "-i ~/.ssh/pi"); CARGO_TARGET_DIR, read by cargo, so
# where the binaries are built and found.
#
# On the Pi, criterion keeps its data in <remote-dir>/criterion (CRITERION_HOME), so a
# later run there compares against the previous one; it is fetched back too, and
# `--bench-args "--save-baseline before"` works as it does locally.
# Example: scripts/pi.sh --host pi4.local --user pi --bench-args "--quick --noplot" -- --full
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"

host=${PI_HOST:-}
user=${PI_USER:-}
port=${PI_PORT:-22}
target=${PI_TARGET:-aarch64-unknown-linux-gnu}
remote_dir=${PI_DIR:-reclaim-bench}
local_dir=
bench_args=
benches=yes
drivers=
runner=
build=yes
run_args=()

need() { [[ -n ${2:-} ]] || usage_error "$1 needs a value"; }
while (($#)); do
    case $1 in
    -h | --help) script_usage; exit 0 ;;
    --host) need "$1" "${2:-}"; host=$2; shift 2 ;;
    --user) need "$1" "${2:-}"; user=$2; shift 2 ;;
    --port) need "$1" "${2:-}"; port=$2; shift 2 ;;
    --target) need "$1" "${2:-}"; target=$2; shift 2 ;;
    --remote-dir) need "$1" "${2:-}"; remote_dir=$2; shift 2 ;;
    --local-dir) need "$1" "${2:-}"; local_dir=$2; shift 2 ;;
    --bench-args) bench_args=${2:-}; shift 2 ;;
    --no-benches) benches=; shift ;;
    --drivers) need "$1" "${2:-}"; drivers=$2; shift 2 ;;
    --runner) need "$1" "${2:-}"; runner=$2; shift 2 ;;
    --no-build) build=; shift ;;
    --) shift; run_args=("$@"); break ;;
    *) usage_error "unknown option $1" ;;
    esac
done
[[ -n $host ]] || { echo "pi.sh: no Pi given: --host HOST or PI_HOST" >&2; exit 2; }
case $target in
aarch64-unknown-linux-gnu | armv7-unknown-linux-gnueabihf) ;;
*) echo "pi.sh: --target is aarch64-unknown-linux-gnu or armv7-unknown-linux-gnueabihf, not $target" >&2; exit 2 ;;
esac
case $drivers in
"" | pi3 | pi4) ;;
*) echo "pi.sh: --drivers is pi3 or pi4, not $drivers" >&2; exit 2 ;;
esac
need_python3 "reading cargo's target directory and its list of bench executables"

# shellcheck disable=SC2206 # PI_SSH_OPTS is a list of options
ssh_opts=(-o BatchMode=yes ${PI_SSH_OPTS:-})
destination=${user:+$user@}$host
remote() { ssh "${ssh_opts[@]}" -p "$port" "$destination" "$@"; }
copy() { scp -q "${ssh_opts[@]}" -P "$port" "$@"; }
quote() { printf '%q ' "$@"; }

# 1. Build: the harness binary and the bench executables (cargo names them by hash).
# The binary copied is in the directory cargo builds into (CARGO_TARGET_DIR included),
# so it is the one just built, never an older one left in another directory.
target_dir=$(cargo_target_dir)
release=$target_dir/$target/release
benches_list=$(mktemp)
trap 'rm -f "$benches_list"' EXIT
if [[ -n $build ]]; then
    echo "pi.sh: building for $target" >&2
    cargo build --release --locked --target "$target" --manifest-path "$repo/Cargo.toml" >&2
fi
if [[ -n $benches ]]; then
    # The JSON messages name each bench executable; --no-run builds without running.
    cargo bench --locked --no-run --target "$target" --manifest-path "$repo/Cargo.toml" \
        --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and "bench" in m["target"]["kind"] and m.get("executable"):
        print(m["target"]["name"], m["executable"])
' >"$benches_list"
    [[ -s $benches_list ]] || { echo "pi.sh: no bench executables for $target" >&2; exit 1; }
fi
[[ -x $release/reclaim-bench ]] || { echo "pi.sh: no $release/reclaim-bench; drop --no-build" >&2; exit 1; }
if [[ -z $build ]]; then
    echo "pi.sh: --no-build: $release/reclaim-bench, built" \
        "$(date -u -r "$release/reclaim-bench" '+%Y-%m-%d %H:%M UTC')" >&2
fi

# 2. Copy: the binary, the benches under their plain names, the drivers.
remote_name=$(remote hostname)
local_dir=${local_dir:-$repo/results/$remote_name}
echo "pi.sh: $destination ($remote_name), into $remote_dir" >&2
remote mkdir -p "$(printf '%q' "$remote_dir")/bin" "$(printf '%q' "$remote_dir")/results"
copy "$release/reclaim-bench" "$destination:$remote_dir/bin/reclaim-bench"
while read -r name executable; do
    copy "$executable" "$destination:$remote_dir/bin/bench-$name"
done <"$benches_list"
if [[ -n $drivers ]]; then
    copy -r "$repo/scripts" "$destination:$remote_dir/"
fi

# 3. Run, there. One remote shell so a failure stops it; results stay on the Pi too.
run=$(quote "${run_args[@]}")
script="set -eu; cd $(printf '%q' "$remote_dir")
export CRITERION_HOME=\$PWD/criterion
echo '== reclaim-bench run' $(printf '%q' "$run")
$runner bin/reclaim-bench run --output results/run-\$(date -u +%Y%m%dT%H%M%SZ).json $run"
if [[ -n $benches ]]; then
    while read -r name _; do
        script+="
echo '== criterion: $name'
$runner bin/bench-$name --bench $bench_args"
    done <"$benches_list"
fi
if [[ -n $drivers ]]; then
    script+="
echo '== drivers'
RECLAIM_BENCH=\$PWD/bin/reclaim-bench scripts/perf.sh -o results/drivers
RECLAIM_BENCH=\$PWD/bin/reclaim-bench scripts/cachegrind.sh --$drivers -o results/drivers"
fi
remote "bash -c $(printf '%q' "$script")"

# 4. Fetch: every result file, the report, criterion's data and reports.
mkdir -p "$local_dir"
fetch=(results)
[[ -n $benches ]] && fetch+=(criterion)
remote "tar -C $(printf '%q' "$remote_dir") -cf - ${fetch[*]}" | tar -C "$local_dir" -xf -
echo "pi.sh: results in $local_dir" >&2
ls "$local_dir"
