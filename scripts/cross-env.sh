#!/usr/bin/env bash
# The Pi targets and how this machine runs their binaries, for the cross scripts
# (test-cross.sh, test-pi-loopback.sh) to source: PI_TARGETS lists the targets, and
# `runner_for TARGET` prints the qemu command line, the same one .cargo/config.toml gives
# cargo and crates/emulation starts an emulated process's children through (a test there
# keeps the three equal).
#
# Usage: source scripts/cross-env.sh   (from bash; running it does nothing but say so)
#   scripts/cross-env.sh -h | --help   this text
# Reads no environment variables.
# Example: source scripts/cross-env.sh && runner_for aarch64-unknown-linux-gnu

# Run by sh (its arrays are bash's): say so before sh reads further.
if [ -z "${BASH_VERSION:-}" ]; then
    echo "cross-env.sh: a bash file to source: source scripts/cross-env.sh (from bash)" >&2
    # shellcheck disable=SC2317 # exit: reached when sh runs the file rather than sources it
    return 2 2>/dev/null || exit 2
fi
# Run rather than sourced: the usage for -h, else what to do instead.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    # shellcheck source=scripts/lib/common.sh
    source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
    usage_if_asked "$@"
    echo "cross-env.sh: meant to be sourced, not run:" \
        "source scripts/cross-env.sh (from bash), then runner_for TARGET" >&2
    exit 2
fi

PI_TARGETS=(armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu)

runner_for() {
    case $1 in
    armv7-unknown-linux-gnueabihf) echo "qemu-arm -L /usr/arm-linux-gnueabihf" ;;
    aarch64-unknown-linux-gnu) echo "qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
    x86_64-unknown-linux-gnu) echo "" ;;
    *)
        echo "unknown target: $1 (known: ${PI_TARGETS[*]})" >&2
        return 1
        ;;
    esac
}
