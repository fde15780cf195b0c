#!/usr/bin/env bash
# Installs what building for the Raspberry Pi targets, testing them under qemu and
# driving perf and valgrind need. Idempotent: installs only what is missing.
#
#   Debian packages: gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu (linkers and
#   sysroots), qemu-user (runs ARM binaries here), valgrind, linux-perf, openssh-client
#   (scripts/pi.sh)
#   rustup targets:  armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu
# Packages are installed with apt-get, through sudo unless run as root.
#
# Usage: scripts/setup-cross.sh
#   -h, --help   this text; the script takes no other arguments
# Environment: SETUP_CROSS_EXTRA, more Debian packages to install in the same step.
# Example: SETUP_CROSS_EXTRA="openssh-server chromium" scripts/setup-cross.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/common.sh
source "$here/lib/common.sh"
usage_if_asked "$@"
(($# == 0)) || usage_error "no arguments expected, not: $*"

packages=(gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross
    libc6-dev-arm64-cross qemu-user valgrind linux-perf openssh-client)
# shellcheck disable=SC2206 # word splitting is the point
packages+=(${SETUP_CROSS_EXTRA:-})
targets=(armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    echo "setup-cross: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup-cross: Debian packages present"
fi

installed=$(rustup target list --installed)
for target in "${targets[@]}"; do
    if ! grep -qx "$target" <<<"$installed"; then
        rustup target add "$target"
    fi
done
echo "setup-cross: rustup targets ${targets[*]} present"
