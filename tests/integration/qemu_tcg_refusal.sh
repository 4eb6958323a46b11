#!/usr/bin/env bash
# Boots the image under QEMU TCG + OVMF, which has no VT-x, and checks that the loader refuses
# cleanly: it must print "tessera-boot: VT-x not available" and hand control back to the firmware,
# which then moves on to its next boot option (BdsDxe lines, the UEFI shell) within a few seconds.
#
#   qemu_tcg_refusal.sh [IMAGE] [TIMEOUT_S]      (defaults: build/tessera.img, 90)
#
# Prints one TAP-style line per check ("ok - qemu-tcg-refusal: ..." / "not ok - ..."); exit 0
# only if both pass. The serial log is kept as build/test-logs/qemu-tcg-refusal.serial.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

image=${1:-$repo/${BUILD:-build}/tessera.img}
timeout_s=${2:-90}
evidence_window_s=${EVIDENCE_WINDOW_S:-15}
name=qemu-tcg-refusal
refusal='tessera-boot: VT-x not available'
# What OVMF prints once a boot option returns: it reports the failed start, loads the next option
# and ends in the built-in shell.
firmware_back='BdsDxe: (failed to start|loading|starting)|UEFI Interactive Shell|Shell> '

[[ -f $image ]] || { echo "not ok - $name: image $image not found"; exit 1; }
logs=$repo/${BUILD:-build}/test-logs
mkdir -p "$logs"
serial=$logs/$name.serial
: >"$serial"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-qemu.XXXXXX")
qemu_pid=
cleanup() {
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    rm -rf "$run_dir"
}
trap cleanup EXIT
cp --sparse=always "$image" "$run_dir/disk.img"
cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$run_dir/vars.fd"
cpu=$(qemu_tcg_cpu)

start_ms=$(now_ms)
timeout "$timeout_s" qemu-system-x86_64 -machine q35 -accel tcg -cpu "$cpu" -m 512 \
    -drive if=pflash,format=raw,readonly=on,file="$OVMF_DIR/OVMF_CODE_4M.fd" \
    -drive if=pflash,format=raw,file="$run_dir/vars.fd" \
    -drive file="$run_dir/disk.img",format=raw,if=ide \
    -serial file:"$serial" -display none -monitor none -no-reboot -net none \
    </dev/null >"$run_dir/qemu.out" 2>&1 &
qemu_pid=$!

refused_ms='' back_ms='' outcome=''
while :; do
    text=$(strip_ansi "$serial")
    if [[ -z $refused_ms ]] && grep -q "$refusal" <<<"$text"; then
        refused_ms=$(now_ms)
    fi
    if [[ -n $refused_ms ]] &&
       sed -n "/$refusal/,\$p" <<<"$text" | tail -n +2 | grep -Eq "$firmware_back"; then
        back_ms=$(now_ms)
        outcome=pass
        break
    fi
    if [[ -n $refused_ms ]] && (($(now_ms) - refused_ms > evidence_window_s * 1000)); then
        outcome="no sign of the firmware within ${evidence_window_s} s of the refusal"
        break
    fi
    if ! kill -0 "$qemu_pid" 2>/dev/null; then
        qemu_status=0
        wait "$qemu_pid" || qemu_status=$?
        qemu_pid=
        if ((qemu_status == 124)); then
            outcome="timed out after ${timeout_s} s"
        else
            outcome="QEMU exited (status $qemu_status) before the firmware got control back"
        fi
        break
    fi
    sleep 0.25
done

failed=0
if [[ -n $refused_ms ]]; then
    echo "ok - $name: \"$refusal\" after $(fmt_seconds $((refused_ms - start_ms))) s"
else
    echo "not ok - $name: \"$refusal\" never printed ($outcome)"
    failed=1
fi
if [[ $outcome == pass ]]; then
    echo "ok - $name: firmware got control back $(fmt_seconds $((back_ms - refused_ms))) s after the refusal"
else
    echo "not ok - $name: firmware got control back ($outcome)"
    failed=1
fi
if ((failed)); then
    show_tail "$serial" 20
    [[ -s $run_dir/qemu.out ]] && sed 's/^/  qemu: /' "$run_dir/qemu.out"
fi
exit $failed
