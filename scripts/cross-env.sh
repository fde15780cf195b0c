# shellcheck shell=bash
# Sourced by the cross scripts: the Pi targets and how this machine runs their binaries.
# `runner_for TARGET` prints the qemu command line, the same one .cargo/config.toml gives
# cargo; the tests read it from RECLAIM_TEST_RUNNER to start child processes.

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
