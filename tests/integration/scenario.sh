#!/usr/bin/env bash
# Runs one integration scenario: builds a disk image for a guest configuration, boots it under
# Bochs and checks the serial log against an expectations file.
#
#   scenario.sh NAME CONFIG EXPECTATIONS_FILE [TIMEOUT_S]      (timeout default 600)
#
# Expectations file: one check per line, blank lines and lines starting with '#' ignored.
# Each REGEX is a POSIX extended regular expression (grep -E) matched against single lines of the
# serial log after ANSI escapes and carriage returns are removed:
#   expect REGEX              some line matches
#   reject REGEX              no line matches
#   order REGEX1 ||| REGEX2   a line matching REGEX1 comes before a later line matching REGEX2
# Directives for scenarios with minidisks:
#   partition NAME:MIB        the disk image gets an (empty) GPT partition NAME of MIB MiB
#   diskimage PART=GUEST...   after the boot, tests/integration/check_disk_image.sh must prove that
#                             each PART holds GUEST's diskfill pattern and that every other byte of
#                             the disk (GPT, ESP, gaps, other partitions) is unchanged by the boot
#   reboot CONFIG             power-cycle: boot the same disk again with CONFIG as the ESP's
#                             tessera.cfg; the checks after this line apply to the new boot
#
# Output: one TAP-style line per check, "ok - NAME: ..." or "not ok - NAME: ...", plus two
# implicit checks (Bochs ended by itself within the timeout; the serial log is not empty).
# A timeout or an empty log fails the scenario and shows the last 20 log lines. Exit 0 only if
# every check passed. Logs: build/test-logs/NAME.serial (+ .bochs.log, .bochs.screen).
# Environment: BUILD (default build), BOCHS_CPU (CPU model, default corei7_skylake_x).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

if (($# < 3 || $# > 4)); then
    echo "usage: scenario.sh NAME CONFIG EXPECTATIONS_FILE [TIMEOUT_S]" >&2
    exit 2
fi
name=$1 config=$2 expectations=$3 timeout_s=${4:-600}
build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
for f in "$config" "$expectations"; do
    [[ -f $f ]] || { echo "not ok - $name: '$f' not found"; exit 1; }
done

# Every guest program goes on the ESP, so any configuration can name any of them.
esp_files=()
for elf in "$build_dir"/guest/*.elf; do
    [[ -f $elf ]] && esp_files+=(-f "$elf:tessera/$(basename "$elf")")
done
image=$build_dir/scenarios/$name.img
mkdir -p "$build_dir/scenarios" "$build_dir/test-logs"

partitions=()
while read -r keyword arg _; do
    [[ $keyword == partition ]] && partitions+=(-p "$arg")
done <"$expectations"
if ! "$repo/scripts/mkdisk.sh" -q -o "$image" -c "$config" \
        -l "$build_dir/BOOTX64.EFI" -k "$build_dir/tessera.elf" "${esp_files[@]}" "${partitions[@]}"; then
    echo "not ok - $name: disk image built"
    exit 1
fi

passed=0 failed=0 show_log_tail=0
report() {   # report PASSED(0|1) DESCRIPTION
    if (($1)); then
        echo "ok - $name: $2"; passed=$((passed + 1))
    else
        echo "not ok - $name: $2"; failed=$((failed + 1))
    fi
}

# boot_once SERIAL: boots $image under Bochs (the disk it leaves becomes the new $image) and
# reports the two implicit checks. Bochs runs in the background so that a run that can only idle
# from here on is cut short: the firmware's shell means the loader gave up and returned, and a
# hypervisor that announced its power-off should be gone within seconds.
boot_once() {
    local serial=$1 cut_short='' power_off_ms='' run_status=0 text
    : >"$serial"   # no stale lines from an earlier run while Bochs starts
    BOCHS_KEEP_DISK=$image.after "$here/bochs_run.sh" "$image" "$serial" "$timeout_s" \
        "${BOCHS_CPU:-corei7_skylake_x}" &
    local bochs_run_pid=$!
    trap "kill -TERM $bochs_run_pid 2>/dev/null || true" EXIT
    while kill -0 "$bochs_run_pid" 2>/dev/null; do
        sleep 1
        text=$(strip_ansi "$serial")
        if grep -Eq 'UEFI Interactive Shell|^Shell> ' <<<"$text"; then
            cut_short="the firmware got control back (loader returned) and was idling in its shell"
        elif grep -q 'tessera: powering off' <<<"$text"; then
            [[ -n $power_off_ms ]] || power_off_ms=$(now_ms)
            (($(now_ms) - power_off_ms > 20000)) && cut_short="still running 20 s after 'tessera: powering off'"
        elif grep -Eq '^tessera: (halted$|PANIC: .*halting$)' <<<"$text"; then
            cut_short="the hypervisor halted after a PANIC"
        fi
        if [[ -n $cut_short ]]; then
            kill -TERM "$bochs_run_pid" 2>/dev/null || true
            break
        fi
    done
    wait "$bochs_run_pid" || run_status=$?
    trap - EXIT
    [[ -f $image.after ]] && mv "$image.after" "$image"

    log_text=$(strip_ansi "$serial")
    if [[ -n $cut_short ]]; then
        report 0 "Bochs ended by itself (stopped: $cut_short)"
        show_log_tail=1
    elif ((run_status == 124)); then
        report 0 "Bochs ended by itself within $timeout_s s (timed out)"
        show_log_tail=1
    elif ((run_status != 0)); then
        report 0 "Bochs ran (bochs_run.sh status $run_status)"
        show_log_tail=1
    else
        report 1 "Bochs ended by itself within $timeout_s s"
    fi
    if [[ -n ${log_text//[[:space:]]/} ]]; then
        report 1 "serial log not empty"
    else
        report 0 "serial log not empty"
        show_log_tail=1
    fi
}

# Line number of the first line matching $1 (0 if none) / of the last one.
first_match() { grep -En -m1 -e "$1" <<<"$log_text" | cut -d: -f1 || true; }
last_match() { grep -En -e "$1" <<<"$log_text" | tail -n1 | cut -d: -f1 || true; }

boot=1
serial=$build_dir/test-logs/$name.serial
cp --sparse=always "$image" "$image.before"
boot_once "$serial"
line_no=0
while IFS= read -r line || [[ -n $line ]]; do
    line_no=$((line_no + 1))
    line=${line#"${line%%[![:space:]]*}"}     # trim leading blanks
    line=${line%"${line##*[![:space:]]}"}     # and trailing ones
    [[ -z $line || $line == \#* ]] && continue
    keyword=${line%% *}
    regex=${line#"$keyword"}
    regex=${regex#"${regex%%[![:space:]]*}"}
    if [[ -z $regex || $regex == "$keyword" ]]; then
        report 0 "$(basename "$expectations"):$line_no: malformed check '$line'"
        continue
    fi
    case $keyword in
        partition) ;;   # used when the image was built
        expect)
            ok=0; grep -Eq -e "$regex" <<<"$log_text" && ok=1
            report $ok "expect /$regex/" ;;
        reject)
            ok=1; grep -Eq -e "$regex" <<<"$log_text" && ok=0
            report $ok "reject /$regex/" ;;
        order)
            if [[ $regex != *' ||| '* ]]; then
                report 0 "$(basename "$expectations"):$line_no: order needs 'REGEX1 ||| REGEX2'"
                continue
            fi
            before=${regex%% ||| *} after=${regex#* ||| }
            first=$(first_match "$before") last=$(last_match "$after")
            ok=0; [[ -n $first && -n $last ]] && ((first < last)) && ok=1
            report $ok "order /$before/ before /$after/" ;;
        diskimage)
            read -r -a owners <<<"$regex"
            if out=$("$here/check_disk_image.sh" "$image.before" "$image" "${owners[@]}" 2>&1); then
                report 1 "disk image after boot $boot: each minidisk holds its guest's pattern, nothing else changed"
            else
                report 0 "disk image after boot $boot: each minidisk holds its guest's pattern, nothing else changed"
                sed 's/^/  | /' <<<"$out" | grep -v '^  | ok' | head -n 12
            fi ;;
        reboot)
            next_config=$repo/$regex
            [[ -f $next_config ]] || next_config=$regex
            boot=$((boot + 1))
            # The ESP starts at sector 2048 (scripts/mkdisk.sh): replace the configuration there.
            if ! mcopy -o -i "$image@@1048576" "$next_config" ::/tessera/tessera.cfg; then
                report 0 "configuration $regex installed for boot $boot"
                continue
            fi
            cp --sparse=always "$image" "$image.before"
            serial=$build_dir/test-logs/$name.boot$boot.serial
            boot_once "$serial" ;;
        *)
            report 0 "$(basename "$expectations"):$line_no: unknown check '$keyword'" ;;
    esac
done <"$expectations"

if ((failed > 0 || show_log_tail)); then
    show_tail "$serial" 20
    bochs_notes=$(grep -E 'VMENTER FAIL|VMFAIL|VMEXIT|>>PANIC<<' "$serial.bochs.log" 2>/dev/null |
                  grep -Ev 'soft power off|Received SIG' | head -n 8 || true)
    if [[ -n $bochs_notes ]]; then
        echo "  --- $serial.bochs.log: VM-entry failures and panics ---"
        sed 's/^/  | /' <<<"$bochs_notes"
    fi
fi
echo "# $name: $passed passed, $failed failed"
((failed == 0))
