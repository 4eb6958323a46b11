#!/usr/bin/env bash
# Everything `make test` checks, after the build: host unit tests (cmocka), short fuzzing runs
# (libFuzzer) and integration runs (QEMU TCG refusal, Bochs scenarios). Prints a summary per part
# and ends with exactly one line "N passed, M failed" over all test cases; exit 1 if any failed.
#
#   tests/run_all.sh [unit] [fuzz] [integration]      (default: all three parts)
#
# Counting: a unit test case counts once (from cmocka's PASSED/FAILED lines; a binary that
# crashes, times out or exits non-zero without reporting a failure counts one failure); a fuzz
# harness counts once (a crash, leak or timeout is a failure); each integration check line
# ("ok - ..."/"not ok - ...") counts once.
# Environment: BUILD (default build), FUZZ_SMOKE_SECONDS (default 15), UNIT_TIMEOUT (default
# 300 s per binary), SCENARIO_TIMEOUT (default 600 s per Bochs scenario), SCENARIOS (default:
# the list in scripts/scripts.mk; each NAME boots scripts/configs/NAME.cfg and is checked against
# tests/integration/expect/NAME.expect).
# Logs: build/test-logs/ (unit/, fuzz/, NAME.serial for the integration runs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
source tests/integration/lib.sh

build_dir=${BUILD:-build}
logs=$build_dir/test-logs
fuzz_seconds=${FUZZ_SMOKE_SECONDS:-15}
unit_timeout=${UNIT_TIMEOUT:-300}
scenario_timeout=${SCENARIO_TIMEOUT:-600}
read -r -a scenarios <<<"${SCENARIOS:-default faults minidisks persist diskbench isolation fairness}"   # scripts/scripts.mk exports the list

parts=("$@")
((${#parts[@]})) || parts=(unit fuzz integration)
for part in "${parts[@]}"; do
    [[ $part =~ ^(unit|fuzz|integration)$ ]] || { echo "run_all: unknown part '$part' (unit, fuzz, integration)" >&2; exit 2; }
done

total_passed=0 total_failed=0
part_passed=0 part_failed=0
part_summaries=()
run_start_ms=$(now_ms)

count() {   # count PASSED FAILED: add to the current part
    part_passed=$((part_passed + $1)) part_failed=$((part_failed + $2))
}
begin_part() {
    part_passed=0 part_failed=0 part_start_ms=$(now_ms)
    echo "== $1"
}
end_part() {
    local line
    line=$(printf '%-12s %4d passed, %d failed  (%s s)' "$1:" "$part_passed" "$part_failed" \
           "$(fmt_seconds $(($(now_ms) - part_start_ms)))")
    echo "== $line"
    echo
    part_summaries+=("$line")
    total_passed=$((total_passed + part_passed)) total_failed=$((total_failed + part_failed))
}

# Binaries built from SOURCE_GLOB's files into DIR; a source whose binary is missing is reported.
expected_binaries() {   # expected_binaries SOURCE_GLOB DIR
    local src
    for src in $1; do
        [[ -f $src ]] || continue
        echo "$2/$(basename "$src" .c)"
    done
}

run_unit() {
    begin_part "unit tests (cmocka, ASan+UBSan)"
    mkdir -p "$logs/unit"
    local bin name log status passed failed
    while IFS= read -r bin; do
        name=$(basename "$bin")
        log=$logs/unit/$name.log
        if [[ ! -x $bin ]]; then
            echo "not ok - $name: binary missing (make $bin)"
            count 0 1
            continue
        fi
        status=0
        timeout "$unit_timeout" "$bin" >"$log" 2>&1 </dev/null || status=$?
        # One binary may run several groups, each with its own summary.
        passed=$(sed -n 's/^\[  PASSED  \] \([0-9]\+\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
        failed=$(sed -n 's/^\[  FAILED  \] \([0-9]\+\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
        if ((status != 0 && failed == 0)); then
            failed=1    # crashed, timed out or failed outside any test case
        fi
        count "$passed" "$failed"
        if ((status == 0 && failed == 0)); then
            echo "ok - $name: $passed passed"
        else
            local why="exit status $status"
            ((status == 124)) && why="timed out after $unit_timeout s"
            ((status > 128 && status != 124)) && why="killed by signal $((status - 128))"
            echo "not ok - $name: $passed passed, $failed failed ($why; log $log)"
            grep -E '^\[  (FAILED|ERROR) +\]|ERROR: AddressSanitizer|runtime error:|^\[   LINE   \]' "$log" |
                head -n 15 | sed 's/^/  | /' || true
        fi
    done < <(expected_binaries "tests/unit/test_*.c" "$build_dir/tests")
    end_part unit
}

run_fuzz() {
    begin_part "fuzz smoke runs (libFuzzer, ${fuzz_seconds} s each)"
    mkdir -p "$logs/fuzz" "$build_dir/fuzz-artifacts"
    local bin name log status corpus seeds
    while IFS= read -r bin; do
        name=$(basename "$bin")
        log=$logs/fuzz/$name.log
        if [[ ! -x $bin ]]; then
            echo "not ok - $name: binary missing (make $bin)"
            count 0 1
            continue
        fi
        corpus=$build_dir/fuzz-corpus/$name
        mkdir -p "$corpus"
        seeds=()
        [[ -d tests/fuzz/corpus/$name ]] && seeds=("tests/fuzz/corpus/$name")
        status=0
        timeout $((fuzz_seconds + 120)) "$bin" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
            -timeout=10 -print_final_stats=1 -artifact_prefix="$build_dir/fuzz-artifacts/$name-" \
            "$corpus" "${seeds[@]}" >"$log" 2>&1 </dev/null || status=$?
        local runs
        runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
        if ((status == 0)); then
            echo "ok - $name: ${runs:-?} inputs, no crash"
            count 1 0
        else
            echo "not ok - $name: exit status $status (log $log; reproducer in $build_dir/fuzz-artifacts/)"
            grep -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY:|Test unit written to' "$log" |
                head -n 8 | sed 's/^/  | /' || true
            count 0 1
        fi
    done < <(expected_binaries "tests/fuzz/fuzz_*.c" "$build_dir/fuzz")
    end_part fuzz
}

# Adds the ok/not ok lines of an integration script's output to the current part.
count_checks() {   # count_checks OUTPUT_FILE SCRIPT_STATUS
    local ok not_ok
    ok=$(grep -c '^ok - ' "$1" || true)
    not_ok=$(grep -c '^not ok - ' "$1" || true)
    # A script that failed without saying which check failed still counts as one failure.
    if (($2 != 0 && not_ok == 0)); then not_ok=1; fi
    count "$ok" "$not_ok"
}

run_integration() {
    begin_part "integration (QEMU TCG: refusal, disk self-check and injected device errors on AHCI/NVMe/IDE; Bochs scenarios: ${scenarios[*]})"
    mkdir -p "$logs"
    local out_dir status s
    out_dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-run-all.XXXXXX")
    status=0
    tests/integration/qemu_tcg_refusal.sh "$build_dir/tessera.img" >"$out_dir/qemu" 2>&1 || status=$?
    cat "$out_dir/qemu"
    count_checks "$out_dir/qemu" $status
    status=0
    tests/integration/qemu_diskcheck.sh >"$out_dir/diskcheck" 2>&1 || status=$?
    cat "$out_dir/diskcheck"
    count_checks "$out_dir/diskcheck" $status

    status=0
    tests/integration/qemu_disk_errors.sh >"$out_dir/disk_errors" 2>&1 || status=$?
    cat "$out_dir/disk_errors"
    count_checks "$out_dir/disk_errors" $status

    # Bochs is single-threaded: the scenarios run side by side, their reports shown in order.
    local pids=()
    for s in "${scenarios[@]}"; do
        tests/integration/scenario.sh "$s" "scripts/configs/$s.cfg" "tests/integration/expect/$s.expect" \
            "$scenario_timeout" >"$out_dir/$s" 2>&1 &
        pids+=($!)
    done
    local i
    for i in "${!scenarios[@]}"; do
        status=0
        wait "${pids[i]}" || status=$?
        cat "$out_dir/${scenarios[i]}"
        count_checks "$out_dir/${scenarios[i]}" $status
    done
    rm -rf "$out_dir"
    end_part integration
}

for part in "${parts[@]}"; do
    "run_$part"
done

echo "== summary ($(fmt_seconds $(($(now_ms) - run_start_ms))) s)"
printf '   %s\n' "${part_summaries[@]}"
echo "$total_passed passed, $total_failed failed"
((total_failed == 0))
