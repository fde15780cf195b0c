# shellcheck shell=bash
# Sourced by every script in scripts/: its usage, printed from its own header comment; the
# check for python3; and where cargo puts what it builds.
#
# A script's header comment (from the line after the shebang to the first line that is not
# a comment) is its usage text: what it does, a line starting "Usage:", its arguments and
# options, the environment variables it reads, an example. `-h` and `--help` print it.

# The header comment of the running script, without the comment marks and without the
# linter's directives.
script_usage() {
    sed -n '1{/^#!/d;}; /^#/!q; /^# shellcheck /d; s/^# \{0,1\}//; p' "$0"
}

# Prints the usage and exits 0 if -h or --help is among the arguments (those before a
# `--`, which go on to another program): for scripts without an option parser of their own.
usage_if_asked() {
    local arg
    for arg in "$@"; do
        case $arg in
        --) return 0 ;;
        -h | --help)
            script_usage
            exit 0
            ;;
        esac
    done
}

# A usage error: the message and the synopsis on stderr, exit 2.
usage_error() {
    {
        echo "$(basename "$0"): $*"
        sed -n '/^# Usage:/{s/^# //;p;q;}' "$0"
        echo "(--help for the whole usage)"
    } >&2
    exit 2
}

# Exits with a clear message unless python3 is installed; the argument says what for.
need_python3() {
    command -v python3 >/dev/null 2>&1 && return 0
    echo "$(basename "$0"): python3 is needed for $*; install it with apt-get install python3" >&2
    exit 1
}

# The directory cargo builds this workspace into, absolute, as cargo resolves it:
# CARGO_TARGET_DIR, a configured build.target-dir, or the workspace's target/. The release
# binary is <it>/release/reclaim-bench, a cross build's <it>/<triple>/release/reclaim-bench.
cargo_target_dir() {
    local repo metadata
    repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    need_python3 "reading cargo's target directory"
    metadata=$(cargo metadata --format-version 1 --no-deps --locked \
        --manifest-path "$repo/Cargo.toml") || {
        echo "$(basename "$0"): cargo metadata failed, so no target directory" >&2
        exit 1
    }
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' <<<"$metadata"
}
