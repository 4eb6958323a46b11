#!/usr/bin/env bash
# Device errors under the disk self-check (diskcheck=yes), on AHCI, NVMe and IDE, with QEMU's
# blkdebug error injection between the emulated controller and the image: the native drivers must
# turn every device error into BLKDEV_EIO (the check says `not ok`), log it with the device name,
# count it, recover the port/controller so that later I/O works, and never stop the hypervisor.
#
#   [KINDS="ahci nvme ide"] qemu_disk_errors.sh [TIMEOUT_S]     (per QEMU run, default 90)
#
# Two runs per controller:
#   errors-KIND   blkdebug rules (errno 5): every read of the last sector of "data" fails; the
#                 first write of the first sector of selfcheck2 fails once; the first flush
#                 fails; after the second flush, reads of one sector in selfcheck1 fail (only the
#                 throughput measurement reads it then, in 1 MiB requests). Every one of these
#                 sectors is touched only by checks that do not depend on the random seed, so the
#                 exact `ok`/`not ok` lines are known.
#   timeout-KIND  one request held back past the driver's 10 s deadline with QEMU's I/O
#                 throttling. AHCI: a one-shot read error with rerror=stop pauses the VM at a
#                 known request; throttling is switched on and the VM resumed, so the next request
#                 (the neighbour read of selfcheck2) waits ~16 s. NVMe reports errors instead of
#                 pausing, and QEMU's IDE PIO retry after such a pause is racy (status shows
#                 neither BSY nor DRQ for a moment), so there the VM is paused by QMP at a serial
#                 marker and whichever request comes second after the resume is held: which check
#                 fails is then not known in advance. Throttling is switched off once the driver
#                 logs the timeout.
#
# Output: one "ok - ..." / "not ok - ..." line per assertion, then "N passed, M failed"; exit 0
# only if all passed. Serial logs: build/test-logs/disk-errors-*.serial (QEMU's stderr and QMP
# transcript next to them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
timeout_s=${1:-90}
build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
logs=$build_dir/test-logs
mkdir -p "$build_dir/scenarios" "$logs"
image=$build_dir/scenarios/disk-errors.img
"$repo/scripts/mkdisk.sh" -q -o "$image" -c "$repo/scripts/configs/diskcheck.cfg" \
    -l "$build_dir/BOOTX64.EFI" -k "$build_dir/tessera.elf" -p selfcheck1:8 -p data:2 -p selfcheck2:2

passed=0 failed=0
check() {   # check OK_CONDITION_STATUS TEXT [SERIAL_FOR_TAIL]
    if (($1 == 0)); then
        echo "ok - $2"; passed=$((passed + 1))
    else
        echo "not ok - $2"; failed=$((failed + 1))
        [[ -n ${3:-} ]] && show_tail "$3" 20
    fi
    return 0
}

# Partition bounds from the image's GPT (sgdisk -p: number, first, last, size, unit, code, name).
declare -A first_lba last_lba
while read -r _ first last _ _ _ name; do
    first_lba[$name]=$first last_lba[$name]=$last
done < <(sgdisk -p "$image" | awk '$1 ~ /^[0-9]+$/ && NF >= 7')
for p in selfcheck1 data selfcheck2; do
    [[ -n ${first_lba[$p]:-} ]] || { echo "not ok - disk-errors: partition $p missing from $image"; exit 1; }
done
bad_read=${last_lba[data]}                      # read-only check, and selfcheck2's neighbour read
bad_write=${first_lba[selfcheck2]}              # selfcheck2's first edge write
bad_late_read=$((first_lba[selfcheck1] + 6880)) # inside the 4th 1 MiB request of the measurement
late_request=$((first_lba[selfcheck1] + 6880 / 2048 * 2048))

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-disk-errors.XXXXXX")
qemu_pid=
cleanup() {
    # qemu_pid is timeout(1)'s: it passes SIGTERM on and follows with SIGKILL 5 s later (-k).
    if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
        kill "$qemu_pid" 2>/dev/null || true
        wait "$qemu_pid" 2>/dev/null || true
    fi
    rm -rf "$run_dir"
}
trap cleanup EXIT
trap '' PIPE    # a QMP command written after QEMU exited must not end the script

cat >"$run_dir/errors.rules" <<EOF
[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "$bad_read"

[inject-error]
event = "write_aio"
iotype = "write"
errno = "5"
sector = "$bad_write"
once = "on"

[inject-error]
event = "flush_to_disk"
iotype = "flush"
errno = "5"
state = "1"

[set-state]
event = "flush_to_disk"
state = "1"
new_state = "2"

[set-state]
event = "flush_to_disk"
state = "2"
new_state = "3"

[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "$bad_late_read"
state = "3"
EOF
: >"$run_dir/none.rules"
cat >"$run_dir/stop.rules" <<EOF
[inject-error]
event = "read_aio"
iotype = "read"
errno = "5"
sector = "$bad_read"
once = "on"
EOF

# Clean serial text of the current run.
serial_text() { strip_ansi "$serial"; }

# wait_for FILE REGEX SECONDS: 0 once FILE (ANSI-stripped) matches, 1 if QEMU ended or time ran out.
wait_for() {
    local deadline=$(($(now_ms) + $3 * 1000))
    while (($(now_ms) < deadline)); do
        strip_ansi "$1" | grep -Eq -- "$2" && return 0
        kill -0 "$qemu_pid" 2>/dev/null || { strip_ansi "$1" | grep -Eq -- "$2"; return; }
        sleep 0.05
    done
    return 1
}

qmp() { printf '%s\n' "$1" 1>&"$qmp_fd" 2>/dev/null || true; }
throttle() {    # throttle BYTES_PER_SECOND (0: off)
    qmp '{"execute":"block_set_io_throttle","arguments":{"id":"disk","bps":'"$1"',"bps_rd":0,"bps_wr":0,"iops":0,"iops_rd":0,"iops_wr":0}}'
}

# start_qemu KIND RUN RULES ERROR_ACTION [DRIVE_OPTIONS]: boot the image copy behind blkdebug
# with RULES, QMP on a FIFO.
start_qemu() {
    local kind=$1 run=$2 rules=$3 action=$4 extra=${5:-}
    cp --sparse=always "$image" "$run_dir/disk.img"
    cp "$OVMF_DIR/OVMF_VARS_4M.fd" "$run_dir/vars.fd"
    serial=$logs/disk-errors-$run-$kind.serial
    qmp_log=$logs/disk-errors-$run-$kind.qmp
    err_log=$logs/disk-errors-$run-$kind.stderr
    : >"$serial"
    local drive="driver=raw,file.driver=blkdebug,file.config=$rules,file.image.driver=file"
    drive+=",file.image.filename=$run_dir/disk.img,werror=$action,rerror=$action$extra"
    local machine
    # shellcheck disable=SC2054  # the commas are QEMU's option syntax
    case $kind in
        ahci) machine=(-machine q35 -drive "if=none,id=d,$drive" -device ide-hd,drive=d,bus=ide.0,id=disk) ;;
        nvme) machine=(-machine q35 -drive "if=none,id=d,$drive" -device nvme,serial=tessera,drive=d,id=disk) ;;
        ide) machine=(-machine pc -drive "if=none,id=d,$drive" -device ide-hd,drive=d,bus=ide.0,id=disk) ;;
    esac
    rm -f "$run_dir/qmp.in"
    mkfifo "$run_dir/qmp.in"
    start_ms=$(now_ms)
    # -k: a QEMU stuck inside a synchronous request cancellation ignores SIGTERM.
    timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 512 "${machine[@]}" \
        -drive if=pflash,format=raw,readonly=on,file="$OVMF_DIR/OVMF_CODE_4M.fd" \
        -drive if=pflash,format=raw,file="$run_dir/vars.fd" \
        -net none -display none -serial file:"$serial" -no-reboot -qmp stdio \
        <"$run_dir/qmp.in" >"$qmp_log" 2>"$err_log" &
    qemu_pid=$!
    exec {qmp_fd}>"$run_dir/qmp.in"
    qmp '{"execute":"qmp_capabilities"}'
}

# finish_qemu: wait for QEMU; sets status (124/137: timed out) and elapsed_s.
finish_qemu() {
    status=0
    wait "$qemu_pid" 2>/dev/null || status=$?
    qemu_pid=
    exec {qmp_fd}>&-
    elapsed_s=$(fmt_seconds $(($(now_ms) - start_ms)))
}

ended_by_itself() {     # ended_by_itself NAME
    local ok=1
    ((status == 0)) && serial_text | grep -q 'tessera: powering off' && ok=0
    check $ok "$1: QEMU ran to the self-check's power-off by itself ($elapsed_s s, status $status)" "$serial"
}

# The self-check's own lines: "ok N - ..." / "not ok N - ..." and the summary.
# (Each prints nothing when the line is missing; none fails.)
failed_numbers() { serial_text | sed -n 's/^not ok \([0-9]*\) - .*/\1/p' | tr '\n' ' ' | sed 's/ $//'; }
summary() { serial_text | sed -n 's/^\([0-9]* passed, [0-9]* failed\)$/\1/p' | tail -n1; }
error_count() { serial_text | sed -n "s/^tessera: disk $1: .* \([0-9]*\) errors\$/\1/p" | tail -n1; }
disk_name() { serial_text | sed -n 's/^tessera: disk \([a-z0-9]*\): [0-9]* reads, .*/\1/p' | tail -n1; }

# What each driver logs for a device error / a timeout, before it recovers.
declare -A driver_error=(
    [ahci]='command failed \(PxIS 0x[0-9a-f]+, PxTFD 0x[0-9a-f]+, PxSERR 0x?[0-9a-f]*\); recovering the port'
    [nvme]='(read|write|flush) failed, status 0x[0-9a-f]+ \(SCT [0-9], SC 0x[0-9a-f]+\)'
    [ide]='(read|write|flush): device reported an error \(status 0x[0-9a-f]+, error 0x[0-9a-f]+\); resetting the channel'
)
declare -A driver_timeout=(
    [ahci]='command timed out \(.*\); resetting the port'
    [nvme]='(read|write|flush) timed out; resetting the controller'
    [ide]='(read|write|flush): timed out, device busy \(.*\); resetting the channel'
)

errors_run() {
    local kind=$1 name=errors-$1
    start_qemu "$kind" errors "$run_dir/errors.rules" report
    finish_qemu
    ended_by_itself "$name"
    local dev text want_failed='8 11 12 18 19'
    dev=$(disk_name) text=$(serial_text)
    local got_failed ok=1
    got_failed=$(failed_numbers)
    [[ $got_failed == "$want_failed" && $(summary) == '15 passed, 5 failed' ]] &&
        grep -q '^not ok 8 - selfcheck1: flush$' <<<"$text" &&
        grep -q '^not ok 11 - data: first and last sector read' <<<"$text" &&
        grep -q '^not ok 12 - selfcheck2: first and last sector written' <<<"$text" &&
        grep -q '^not ok 18 - selfcheck2: sectors next to the partition unchanged$' <<<"$text" &&
        grep -q '^not ok 19 - driver throughput on selfcheck1: I/O error$' <<<"$text" && ok=0
    check $ok "$name: exactly the checks on the failing sectors fail (flush, read of data's last sector, first write,\
 neighbour read, measured read: '${got_failed:-none}'), all later ones pass ($(summary))" "$serial"

    # blkdev's log line for each error, in order, with the LBA of the failed request.
    local want=("flush at LBA 0" "read at LBA $bad_read" "read at LBA $bad_read" "write at LBA $bad_write"
                "read at LBA $late_request") i
    ok=0
    for i in "${!want[@]}"; do
        grep -q "^tessera: disk ${dev:-?}: ${want[i]} failed: I/O error (error #$((i + 1)))\$" <<<"$text" || ok=1
    done
    [[ $(error_count "${dev:-?}") == 5 ]] || ok=1
    check $ok "$name: each error logged with the device name (${dev:-none}) and LBA, and counted: $(error_count "${dev:-?}") errors in the statistics" "$serial"

    local diagnosed
    diagnosed=$(grep -Ec "^tessera: disk ${dev:-?}: ${driver_error[$kind]}" <<<"$text" || true)
    ok=1
    ((diagnosed == 5)) && ! grep -q 'disk disabled' <<<"$text" && ok=0
    check $ok "$name: the driver diagnosed all 5 errors ($diagnosed) and recovered from each, disk never disabled" "$serial"

    ok=1
    grep -q '^ok 20 - device: still answers after 5 I/O errors: sector 0 and last sector read back unchanged$' <<<"$text" && ok=0
    check $ok "$name: after the errors the disk still reads correctly (check 20)" "$serial"
}

timeout_run() {
    local kind=$1 name=timeout-$1 ok
    if [[ $kind == ahci ]]; then
        start_qemu "$kind" timeout "$run_dir/stop.rules" stop
        # The read of data's last sector fails once and pauses the VM; QEMU retries it on resume
        # (512 bytes pass), so the next 512-byte request waits (512 - 3.2) / 32 s ~ 16 s. The
        # bound matters: QEMU's port reset waits for the held request.
        if wait_for "$qmp_log" '"event": "STOP"' 60; then
            throttle 32
            qmp '{"execute":"cont"}'
        fi
    else
        # NVMe finishes the whole self-check in well under 100 ms, less than it takes to notice
        # a serial line and answer it: it runs at 100 requests/s from the start (the firmware's
        # ~80 reads cost under a second), so the hold below lands within a few requests.
        if [[ $kind == nvme ]]; then
            start_qemu "$kind" timeout "$run_dir/none.rules" report ,throttling.iops-total=100
        else
            start_qemu "$kind" timeout "$run_dir/none.rules" report
        fi
        # Pause once the GPT is read (the recovery check's baseline, sector 0 and the last sector,
        # is read before it; nearly all the I/O comes after); after the resume the first request
        # passes and the second waits until the driver gives up. NVMe's reset drains the held
        # request, so it may wait forever (1 byte/s); IDE's reset waits for it, so there it must
        # end by itself: every PIO request is one 512-byte sector, held (512 - 3.2) / 32 s ~ 16 s.
        if wait_for "$serial" '^ok 2 - ' 60; then
            qmp '{"execute":"stop"}'
            if [[ $kind == nvme ]]; then throttle 1; else throttle 32; fi
            qmp '{"execute":"cont"}'
        fi
    fi
    # Off again once the driver (or, failing that, the block layer) reports the failure, so
    # that only one request times out; and in any case before the run's own deadline.
    wait_for "$serial" 'tessera: disk [a-z0-9]+: .*(timed out|failed)' $((timeout_s / 2)) || true
    throttle 0
    finish_qemu
    ended_by_itself "$name"
    local dev text
    dev=$(disk_name) text=$(serial_text)
    ok=1
    grep -Eq "^tessera: disk ${dev:-?}: ${driver_timeout[$kind]}" <<<"$text" && ! grep -q 'disk disabled' <<<"$text" && ok=0
    check $ok "$name: the driver logged the timeout with the device name (${dev:-none}) and reset, disk not disabled" "$serial"

    ok=1
    local got_failed sum
    got_failed=$(failed_numbers) sum=$(summary)
    if [[ $kind != ahci ]]; then
        # Which request is held depends on where the pause landed: any one check may fail.
        [[ $got_failed =~ ^[0-9]+$ && $sum =~ ^[0-9]+\ passed,\ 1\ failed$ ]] && ok=0
    else
        [[ $got_failed == 18 && $sum == '22 passed, 1 failed' ]] &&
            grep -q '^ok 11 - data: first and last sector read' <<<"$text" && ok=0
    fi
    [[ $(error_count "${dev:-?}") == 1 ]] || ok=1
    check $ok "$name: the timed-out request is one I/O error, one failed check (${got_failed:-none}; $sum), $(error_count "${dev:-?}") counted" "$serial"

    ok=1
    grep -Eq '^ok [0-9]+ - device: still answers after 1 I/O error: sector 0 and last sector read back unchanged$' <<<"$text" && ok=0
    check $ok "$name: after the timeout the disk still reads correctly" "$serial"
}

read -r -a kinds <<<"${KINDS:-ahci nvme ide}"     # KINDS: a subset, for debugging
for kind in "${kinds[@]}"; do
    errors_run "$kind"
    timeout_run "$kind"
done
echo "$passed passed, $failed failed"
((failed == 0))
