#!/usr/bin/env bash
# Checks a disk image after the ten-guest minidisk scenario: every minidisk partition holds exactly
# the diskfill pattern of the guest that had it (guest/lib/diskpattern.h), and every byte outside
# those partitions (protective MBR, GPT headers and entries, ESP, gaps, backup GPT, partitions
# given to nobody) is the same as before the run. Partition positions come from the GPT of the
# image as it was before the run (sgdisk -p); the byte comparison covers the GPT itself.
#
#   check_disk_image.sh BEFORE.img AFTER.img PARTITION_NAME=GUEST_NAME...
#
# GUEST_NAME is the name the guest put in its pattern (its `name=` command-line value). Prints the
# "ok - ..." / "not ok - ..." lines of build/tests/integration/diskimage_check; exit 0 when all hold.
# Environment: BUILD (default build), DISKIMAGE_CHECK (path of the checker, default
# $BUILD/tests/integration/diskimage_check; build it with `make $BUILD/tests/integration/diskimage_check`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "check_disk_image: $*" >&2; exit 2; }

(($# >= 3)) || die "usage: check_disk_image.sh BEFORE.img AFTER.img PARTITION_NAME=GUEST_NAME..."
before=$1 after=$2
shift 2
build_dir=${BUILD:-build}
[[ $build_dir == /* ]] || build_dir=$repo/$build_dir
checker=${DISKIMAGE_CHECK:-$build_dir/tests/integration/diskimage_check}
[[ -x $checker ]] || die "'$checker' not built (make $checker)"
command -v sgdisk >/dev/null || die "'sgdisk' not found (gdisk package)"
for f in "$before" "$after"; do
    [[ -f $f && -r $f ]] || die "'$f' is not a readable file"
done

table=$(sgdisk -p "$before" 2>/dev/null) || die "sgdisk cannot read the partition table of '$before'"
grep -q 'Sector size (logical): 512 bytes' <<<"$table" || die "'$before' does not use 512-byte sectors"

# "Number Start End Size Unit Code Name...": the name is everything after the 6th field.
declare -A start_of end_of
while read -r number start end _size _unit _code name; do
    [[ $number =~ ^[0-9]+$ && -n $name ]] || continue
    [[ -z ${start_of[$name]+set} ]] || die "partition name '$name' appears twice in the GPT"
    start_of[$name]=$start
    end_of[$name]=$end
done <<<"$table"

specs=()
for pair in "$@"; do
    [[ $pair == *=* ]] || die "bad argument '$pair' (want PARTITION_NAME=GUEST_NAME)"
    part=${pair%%=*} guest=${pair#*=}
    [[ -n $part && -n $guest ]] || die "bad argument '$pair' (want PARTITION_NAME=GUEST_NAME)"
    [[ -n ${start_of[$part]+set} ]] || die "no partition named '$part' in '$before'"
    specs+=("${start_of[$part]}:${end_of[$part]}:$guest")
done

after_table=$(sgdisk -p "$after" 2>/dev/null) || { echo "not ok - the GPT of '$after' is readable"; exit 1; }
[[ $(grep -v "^Disk /" <<<"$after_table") == "$(grep -v "^Disk /" <<<"$table")" ]] || echo "  # note: sgdisk -p prints a different table after the run (the byte check decides)"

exec "$checker" "$before" "$after" "${specs[@]}"
