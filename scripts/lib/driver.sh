# shellcheck shell=bash
# Sourced by perf.sh, cachegrind.sh and massif.sh: the options they share, the binary
# they drive and where their files go.
#
# Each driver runs `reclaim-bench run` once per selected backend, bare
# (--no-instrumentation: no sampler thread, counting allocator or latency timing in what
# the tool measures), one repeat, and writes into the output directory, per backend:
#   <backend>.<workload>.<threads>t.json   the harness's result file (operations, check)
# plus the tool's own files next to it. compare.sh reads two such directories.
#
# A driver's header comment ends with its "Usage:" line (and its own flags): `-h` prints
# it, then the options and environment below.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DRIVER_BACKENDS=treiber-ebr,treiber-hp
DRIVER_WORKLOAD=pairs
DRIVER_THREADS=1
DRIVER_DURATION=1s
DRIVER_BIN=${RECLAIM_BENCH:-}
DRIVER_OUT=
DRIVER_EXTRA=()

driver_usage() {
    cat <<EOF
Options (every driver's):
  -b, --backend LIST   backends, comma-separated or globs (default: $DRIVER_BACKENDS)
  -w, --workload NAME  workload (default: $DRIVER_WORKLOAD)
  -t, --threads N      threads (default: $DRIVER_THREADS; valgrind runs threads one at a time)
  -d, --duration D     how long each run measures (default: $DRIVER_DURATION)
      --bin PATH       the reclaim-bench binary (default: \$RECLAIM_BENCH, or
                       release/reclaim-bench in cargo's target directory, built if missing)
  -o, --out DIR        output directory (default: results/drivers/<host>-<arch>)
  -h, --help           this text
  -- ARGS              more arguments for \`reclaim-bench run\`
Environment:
  RECLAIM_BENCH        the reclaim-bench binary, as --bin
  CARGO_TARGET_DIR     where cargo builds (read by cargo), so where the binary is looked for
Needs python3, which reads what the tool wrote (scripts/lib/drivers.py).
EOF
}

# Parses the command line: the shared options, anything after `--` for the harness, and
# flags of the driver's own through `driver_flag FLAG` (a function the driver may define,
# returning 1 for a flag it does not know either). `-h` prints the driver's header comment
# and the shared options.
driver_parse() {
    while (($#)); do
        case $1 in
        -h | --help)
            script_usage
            driver_usage
            exit 0
            ;;
        --)
            shift
            DRIVER_EXTRA=("$@")
            return
            ;;
        -b | --backend | -w | --workload | -t | --threads | -d | --duration | --bin | -o | --out)
            [[ -n ${2:-} ]] || usage_error "$1 needs a value"
            case $1 in
            -b | --backend) DRIVER_BACKENDS=$2 ;;
            -w | --workload) DRIVER_WORKLOAD=$2 ;;
            -t | --threads) DRIVER_THREADS=$2 ;;
            -d | --duration) DRIVER_DURATION=$2 ;;
            --bin) DRIVER_BIN=$2 ;;
            -o | --out) DRIVER_OUT=$2 ;;
            esac
            shift 2
            ;;
        *)
            if declare -F driver_flag >/dev/null && driver_flag "$1"; then
                shift
            else
                usage_error "unknown option $1"
            fi
            ;;
        esac
    done
}

# Checks that a tool is installed, naming the package that has it; and that python3 is,
# which reads what the tools write.
driver_need() {
    need_python3 "the drivers' summaries (scripts/lib/drivers.py)"
    command -v "$1" >/dev/null || {
        echo "$(basename "$0"): no $1 (Debian: apt-get install $2; or scripts/setup-cross.sh)" >&2
        exit 1
    }
}

# Resolves the binary and the output directory, and lists the selected backends (the
# binary expands globs: `reclaim-bench list`'s names). Call after parsing.
driver_prepare() {
    local repo target_dir
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    if [[ -z $DRIVER_BIN ]]; then
        # Where cargo puts it, CARGO_TARGET_DIR included.
        target_dir=$(cargo_target_dir)
        DRIVER_BIN=$target_dir/release/reclaim-bench
        if [[ ! -x $DRIVER_BIN ]]; then
            echo "building $DRIVER_BIN" >&2
            cargo build --release --locked --manifest-path "$repo/Cargo.toml" >&2
        fi
    fi
    [[ -x $DRIVER_BIN ]] || {
        echo "no reclaim-bench binary at $DRIVER_BIN" >&2
        exit 1
    }
    if [[ -z $DRIVER_OUT ]]; then
        DRIVER_OUT=results/drivers/$(hostname)-$(uname -m)
    fi
    mkdir -p "$DRIVER_OUT"
    # One name per line; `list --names` fails with the valid names on an unknown one.
    mapfile -t DRIVER_SELECTED < <("$DRIVER_BIN" list --names "$DRIVER_BACKENDS")
    ((${#DRIVER_SELECTED[@]})) || exit 1
}

# The file prefix of one backend's run.
driver_prefix() {
    echo "$DRIVER_OUT/$1.$DRIVER_WORKLOAD.${DRIVER_THREADS}t"
}

# `reclaim-bench run` for one backend, bare, writing <prefix>.json; the tool's command
# goes before it ("$@").
driver_run() {
    local backend=$1
    shift
    "$@" "$DRIVER_BIN" run --backend "$backend" --workload "$DRIVER_WORKLOAD" \
        --threads "$DRIVER_THREADS" --duration "$DRIVER_DURATION" --repeats 1 \
        --no-instrumentation --no-report --quiet --output "$(driver_prefix "$backend").json" \
        "${DRIVER_EXTRA[@]}"
}
