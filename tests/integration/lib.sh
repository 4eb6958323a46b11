# Shared helpers for the integration scripts (sourced, not run): clean serial text, clocks, firmware paths.

# OVMF's serial console is full of ANSI escape sequences and carriage returns: drop them so
# markers can be matched per line.
strip_ansi() {
    sed -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' -e 's/\r//g' -- "$@"
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME: no subprocess).
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# "12.3" from a millisecond count.
fmt_seconds() {
    printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100))
}

# The last N (default 20) cleaned lines of a serial log, indented, for failure reports.
show_tail() {
    local file=$1 n=${2:-20}
    echo "  --- last $n lines of $file ---"
    if [[ -s $file ]]; then
        strip_ansi "$file" | grep -v '^[[:space:]]*$' | tail -n "$n" | sed 's/^/  | /'
    else
        echo "  | (empty)"
    fi
}

OVMF_DIR=${OVMF_DIR:-/usr/share/OVMF}

# CPU model for QEMU TCG that does not advertise VMX: `max` unless this QEMU build sets vmx in it.
qemu_tcg_cpu() {
    local expansion
    expansion=$(printf '%s\n' '{"execute":"qmp_capabilities"}' \
        '{"execute":"query-cpu-model-expansion","arguments":{"type":"full","model":{"name":"max"}}}' \
        '{"execute":"quit"}' |
        timeout 20 qemu-system-x86_64 -machine q35 -accel tcg -display none -nodefaults -S -qmp stdio 2>/dev/null) || true
    if [[ $expansion == *'"vmx": true'* ]]; then echo qemu64; else echo max; fi
}
