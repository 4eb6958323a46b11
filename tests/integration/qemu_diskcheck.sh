#!/usr/bin/env bash
# The disk self-check (diskcheck=yes) under QEMU TCG + OVMF, which needs no VT-x: the same image
# booted from an AHCI disk (q35), an NVMe disk and an IDE disk (pc). Each run must end with the
# self-check's "N passed, 0 failed" and power off by itself.
#
#   qemu_diskcheck.sh [TIMEOUT_S]        (per controller, default 240)
#
# Output: "ok - diskcheck-KIND: ..." / "not ok - ..." lines; exit 0 only if all passed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
timeout_s=${1:-240}
build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
mkdir -p "$build_dir/scenarios" "$build_dir/test-logs"
image=$build_dir/scenarios/diskcheck.img
"$repo/scripts/mkdisk.sh" -q -o "$image" -c "$repo/scripts/configs/diskcheck.cfg" \
    -l "$build_dir/BOOTX64.EFI" -k "$build_dir/tessera.elf" -p selfcheck1:8 -p data:2 -p selfcheck2:2

failed=0
for kind in ahci nvme ide; do
    run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-diskcheck.XXXXXX")
    cp --sparse=always "$image" "$run_dir/disk.img"
    cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$run_dir/vars.fd"
    serial=$build_dir/test-logs/diskcheck-$kind.serial
    case $kind in
        ahci) machine=(-machine q35 -drive if=none,id=d,format=raw,file="$run_dir/disk.img" -device ide-hd,drive=d,bus=ide.0) ;;
        nvme) machine=(-machine q35 -drive if=none,id=d,format=raw,file="$run_dir/disk.img" -device nvme,serial=tessera,drive=d) ;;
        ide) machine=(-machine pc -drive if=ide,format=raw,file="$run_dir/disk.img") ;;
    esac
    status=0
    timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 512 "${machine[@]}" \
        -drive if=pflash,format=raw,readonly=on,file="$OVMF_DIR/OVMF_CODE_4M.fd" \
        -drive if=pflash,format=raw,file="$run_dir/vars.fd" \
        -net none -display none -serial file:"$serial" -no-reboot </dev/null >/dev/null 2>&1 || status=$?
    rm -rf "$run_dir"
    text=$(strip_ansi "$serial")
    result=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' <<<"$text" | tail -n1 || true)
    if ((status == 124)); then
        echo "not ok - diskcheck-$kind: QEMU ended by itself within $timeout_s s (timed out)"
        failed=$((failed + 1)); show_tail "$serial" 15
    elif [[ $result =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] && ((BASH_REMATCH[1] > 0)) &&
         grep -q 'tessera: disk: ' <<<"$text"; then
        echo "ok - diskcheck-$kind: self-check on the $(grep -m1 -o 'tessera: disk: [A-Za-z]*' <<<"$text" | cut -d' ' -f3) disk: $result"
    else
        echo "not ok - diskcheck-$kind: self-check reports '${result:-nothing}'"
        failed=$((failed + 1)); show_tail "$serial" 15
    fi
done
((failed == 0))
