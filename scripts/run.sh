#!/usr/bin/env bash
# `make run`: boots a Tessera disk image and streams the serial console (hypervisor and guest
# lines) to the terminal as it comes.
#
#   run.sh [--backend qemu-kvm|bochs|qemu-tcg] IMAGE
#
# Backends: qemu-kvm (nested VT-x: the real thing, needs an Intel host with vmx, a usable
# /dev/kvm and kvm_intel nested=Y), bochs (software VMX + EPT; slow but works anywhere), qemu-tcg
# (no VT-x at all: shows the loader refusing and handing back to the firmware). Without
# --backend: qemu-kvm when the host can, otherwise bochs.
# Exit status 0 only if the log says "tessera: all guests ended: N succeeded, 0 failed" with
# N >= 1; otherwise 1 with a one-line reason. The whole log is kept in build/run.serial.
# Environment: RUN_TIMEOUT (seconds, default 1800), BUILD (default build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
source "$repo/tests/integration/lib.sh"

usage() { echo "usage: run.sh [--backend qemu-kvm|bochs|qemu-tcg] IMAGE" >&2; exit 2; }
backend=
while (($#)); do
    case $1 in
        --backend) (($# >= 2)) || usage; backend=$2; shift 2 ;;
        --backend=*) backend=${1#*=}; shift ;;
        -h|--help) usage ;;
        -*) usage ;;
        *) break ;;
    esac
done
(($# == 1)) || usage
image=$1
[[ -f $image ]] || { echo "run: image '$image' not found (make image)" >&2; exit 2; }
run_timeout=${RUN_TIMEOUT:-1800}
build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir

# Why nested KVM cannot be used here, or nothing if it can.
kvm_unusable_reason() {
    grep -qw vmx /proc/cpuinfo || { echo "the CPU does not advertise vmx"; return; }
    [[ -r /dev/kvm && -w /dev/kvm ]] || { echo "/dev/kvm is missing or not accessible"; return; }
    if grep -q GenuineIntel /proc/cpuinfo; then
        local nested=/sys/module/kvm_intel/parameters/nested
        [[ -r $nested ]] || { echo "kvm_intel is not loaded"; return; }
        [[ $(<"$nested") =~ ^(Y|y|1)$ ]] || { echo "kvm_intel nested=$(<"$nested") (needs Y)"; return; }
    fi
}

case $backend in
    "")
        reason=$(kvm_unusable_reason)
        if [[ -z $reason ]]; then
            backend=qemu-kvm
            echo "run: backend qemu-kvm (host has vmx, /dev/kvm and nested VT-x)"
        else
            backend=bochs
            echo "run: backend bochs ($reason; Bochs emulates VMX in software, expect minutes)"
        fi ;;
    qemu-kvm|bochs|qemu-tcg) echo "run: backend $backend" ;;
    *) usage ;;
esac

serial=$build_dir/run.serial
mkdir -p "$build_dir"
: >"$serial"
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-run.XXXXXX")
backend_pid='' tail_pid=''

stop_backend() {
    [[ -n $backend_pid ]] || return 0
    # The backend is `timeout` (QEMU) or bochs_run.sh: both pass SIGTERM on to the emulator.
    kill -TERM "$backend_pid" 2>/dev/null || true
    for _ in $(seq 20); do
        kill -0 "$backend_pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$backend_pid" 2>/dev/null || true
    wait "$backend_pid" 2>/dev/null || true
    backend_pid=
}
cleanup() {
    stop_backend
    [[ -n $tail_pid ]] && { kill "$tail_pid" 2>/dev/null || true; }
    rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'echo; echo "run: interrupted"; exit 1' INT TERM

qemu_common=(-machine q35 -m 2048 -smp 1
             -drive if=pflash,format=raw,readonly=on,file="$OVMF_DIR/OVMF_CODE_4M.fd"
             -drive if=pflash,format=raw,file="$run_dir/vars.fd"
             -drive file="$run_dir/disk.img",format=raw,if=ide
             -serial stdio -display none -monitor none -no-reboot -net none)
case $backend in
    qemu-kvm|qemu-tcg)
        cp --sparse=always "$image" "$run_dir/disk.img"
        cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$run_dir/vars.fd"
        if [[ $backend == qemu-kvm ]]; then
            accel=(-enable-kvm -cpu host,+vmx)
        else
            accel=(-accel tcg -cpu "$(qemu_tcg_cpu)")
        fi
        timeout "$run_timeout" qemu-system-x86_64 "${accel[@]}" "${qemu_common[@]}" \
            </dev/null >"$serial" 2>"$run_dir/stderr" &
        backend_pid=$! ;;
    bochs)
        "$repo/tests/integration/bochs_run.sh" "$image" "$serial" "$run_timeout" \
            </dev/null >/dev/null 2>"$run_dir/stderr" &
        backend_pid=$! ;;
esac

# A terminal gets the console as the firmware drew it; a pipe or file gets plain lines.
if [[ -t 1 ]]; then
    tail -n +1 -f --pid="$backend_pid" "$serial" &
else
    tail -n +1 -f --pid="$backend_pid" "$serial" > >(sed -u -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\r//g') &
fi
tail_pid=$!

# Wait for the emulator to end by itself; stop it if it hangs after the hypervisor powered off,
# or (TCG) once the firmware has had the control back for a few seconds.
ended_at_ms='' grace_ms=''
while kill -0 "$backend_pid" 2>/dev/null; do
    sleep 0.5
    if [[ -z $ended_at_ms ]]; then
        text=$(strip_ansi "$serial")
        if grep -q 'tessera: powering off' <<<"$text"; then
            ended_at_ms=$(now_ms) grace_ms=15000
        elif grep -q 'tessera-boot: VT-x not available' <<<"$text"; then
            ended_at_ms=$(now_ms) grace_ms=5000
        fi
    fi
    if [[ -n $ended_at_ms ]] && (($(now_ms) - ended_at_ms > grace_ms)); then
        stop_backend
        break
    fi
done
backend_status=0
[[ -z $backend_pid ]] || wait "$backend_pid" || backend_status=$?
backend_pid=
wait "$tail_pid" 2>/dev/null || true
tail_pid=
echo

text=$(strip_ansi "$serial")
summary=$(grep -Eo 'tessera: all guests ended: [0-9]+ succeeded, [0-9]+ failed' <<<"$text" | tail -n1 || true)
if [[ $summary =~ ([0-9]+)\ succeeded,\ ([0-9]+)\ failed ]] &&
   ((BASH_REMATCH[1] >= 1 && BASH_REMATCH[2] == 0)); then
    echo "run: ${summary#tessera: } (log $serial)"
    exit 0
fi
if [[ -n $summary ]]; then
    reason=${summary#tessera: }
elif refusal=$(grep -Eo 'tessera-boot: VT-x not available.*' <<<"$text" | head -n1); then
    reason="the loader refused: ${refusal#tessera-boot: }"
elif ((backend_status == 124)); then
    reason="no result within $run_timeout s"
elif [[ -z ${text//[[:space:]]/} ]]; then
    reason="no serial output at all (backend status $backend_status: $(head -c 300 "$run_dir/stderr" | tr '\n' ' '))"
else
    reason="no \"all guests ended\" summary; last line: $(grep -v '^[[:space:]]*$' <<<"$text" | tail -n1)"
fi
echo "run: failed: $reason (log $serial)"
exit 1
