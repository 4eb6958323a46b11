#!/usr/bin/env bash
# `make fuzz`: long libFuzzer runs, SECONDS (default 600) per harness, one after another, each
# growing its persistent corpus in build/fuzz-corpus/NAME (seeded from tests/fuzz/corpus/NAME if
# present). Crash reproducers go to build/fuzz-artifacts/. Exit 1 if any harness found a problem.
#
#   fuzz.sh [SECONDS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

seconds=${1:-600}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: fuzz.sh [SECONDS]" >&2; exit 2; }
build_dir=${BUILD:-build}
shopt -s nullglob
harnesses=()
for bin in "$build_dir"/fuzz/fuzz_*; do
    [[ -x $bin && -f $bin ]] && harnesses+=("$bin")
done
((${#harnesses[@]})) || { echo "fuzz: no harnesses in $build_dir/fuzz (make fuzz-build)" >&2; exit 1; }
mkdir -p "$build_dir/fuzz-artifacts" "$build_dir/test-logs/fuzz"

failed=()
for bin in "${harnesses[@]}"; do
    name=$(basename "$bin")
    corpus=$build_dir/fuzz-corpus/$name
    mkdir -p "$corpus"
    seeds=()
    [[ -d tests/fuzz/corpus/$name ]] && seeds=("tests/fuzz/corpus/$name")
    log=$build_dir/test-logs/fuzz/$name.long.log
    echo "fuzz: $name for $seconds s (corpus $corpus, log $log)"
    status=0
    timeout $((seconds + 300)) "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$build_dir/fuzz-artifacts/$name-" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1 </dev/null || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    if ((status == 0)); then
        echo "fuzz: $name: ${runs:-?} inputs, corpus $(find "$corpus" -type f | wc -l) files, no crash"
    else
        echo "fuzz: $name: FAILED (exit status $status)"
        grep -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY:|Test unit written to' "$log" | head -n 8 | sed 's/^/  | /' || true
        failed+=("$name")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: problems found by ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses, no problems"
