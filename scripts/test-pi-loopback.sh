#!/usr/bin/env bash
# Rehearses scripts/pi.sh end to end without a Pi: starts an sshd on loopback (a
# throwaway host key and client key, this user only), and lets pi.sh build for an ARM
# target, copy over ssh, run the harness and one criterion bench "remotely" through
# qemu, and fetch the results. Then checks what came back: a valid result file built for
# the ARM target that says it ran emulated, its report, and criterion's data.
#
# Usage: scripts/test-pi-loopback.sh [TARGET]
#   TARGET       aarch64-unknown-linux-gnu (the default) or armv7-unknown-linux-gnueabihf
#   -h, --help   this text
# Environment: none of its own; pi.sh's PI_* variables are overridden by the options it
# is given, and cargo honours CARGO_TARGET_DIR.
# Needs: openssh-server and openssh-client, qemu-user, the cross toolchain
# (scripts/setup-cross.sh; CI installs openssh-server too), python3.
# Example: scripts/test-pi-loopback.sh armv7-unknown-linux-gnueabihf
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
usage_if_asked "$@"
(($# <= 1)) || usage_error "at most one target, not $#"
need_python3 "a free port and the check of what came back"
# shellcheck source=scripts/cross-env.sh
source "$repo/scripts/cross-env.sh"
target=${1:-aarch64-unknown-linux-gnu}
runner=$(runner_for "$target")
sshd=$(command -v sshd || echo /usr/sbin/sshd)
[[ -x $sshd ]] || { echo "test-pi-loopback: no sshd (apt-get install openssh-server)" >&2; exit 1; }

work=$(mktemp -d)
sshd_pid=
cleanup() {
    if [[ -n $sshd_pid ]]; then kill "$sshd_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
AcceptEnv LANG
Subsystem sftp internal-sftp
CONFIG
# sshd refuses to start without its privilege-separation directory.
[[ -d /run/sshd ]] || mkdir -p /run/sshd 2>/dev/null || true
"$sshd" -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$sshd_pid" 2>/dev/null || { cat "$work/sshd.log" >&2; exit 1; }
    sleep 0.1
done

export PI_SSH_OPTS="-i $work/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
"$repo/scripts/pi.sh" --host 127.0.0.1 --port "$port" --user "$(id -un)" --target "$target" \
    --runner "$runner" --remote-dir "$work/remote" --local-dir "$work/fetched" \
    --bench-args "--quick --noplot pairs/1-thread/treiber-ebr" \
    -- --backend treiber-ebr,treiber-hp,msqueue-sweep --workload pairs,stalled --threads 2 \
    --duration 20ms --repeats 1

python3 - "$work/fetched" "$target" <<'CHECK'
import glob, json, os, sys
fetched, target = sys.argv[1], sys.argv[2]
files = glob.glob(os.path.join(fetched, "results", "run-*.json"))
assert len(files) == 1, f"expected one result file, found {files}"
data = json.load(open(files[0]))
m = data["metadata"]
assert m["target"] == target, m["target"]
assert m["emulation"] and "qemu" in m["emulation"], m["emulation"]
rows = data["rows"]
assert {r["backend"] for r in rows} == {"treiber-ebr", "treiber-hp", "msqueue-sweep"}, rows
assert all(r["valid"] for r in rows), [r["error"] for r in rows if not r["valid"]]
# Under qemu no perf counter reaches the kernel: each is null, with the reason.
# context-switches comes from getrusage, which qemu passes to the host kernel.
for r in rows:
    perf = {k: v for k, v in r["counters"].items() if k != "context-switches"}
    assert len(perf) == 8 and all(v is None for v in perf.values()), r["counters"]
    assert all("emulation" in r["counter_errors"].get(name, "") for name in perf), \
        r["counter_errors"]
    assert isinstance(r["counters"]["context-switches"], int), r["counters"]
# The run's report is named after its result file, and latest.html (a link, kept by
# tar) refers to it.
report = os.path.splitext(files[0])[0] + ".html"
assert os.path.getsize(report) > 0, report
latest = os.path.join(fetched, "results", "latest.html")
assert os.path.realpath(latest) == os.path.realpath(report), (latest, report)
estimates = glob.glob(os.path.join(fetched, "criterion", "**", "estimates.json"), recursive=True)
assert estimates, "no criterion estimates came back"
print(f"test-pi-loopback: {target}: {len(rows)} valid rows, the report and "
      f"{len(estimates)} criterion estimate files fetched over ssh")
CHECK
