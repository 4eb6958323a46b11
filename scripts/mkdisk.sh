#!/usr/bin/env bash
# Builds a bootable GPT disk image for Tessera without root: an EFI system partition holding the
# loader, the hypervisor, the guest configuration and guest files, then one Linux partition per -p
# (guests get their disks by GPT partition name).
#
#   mkdisk.sh -o OUT.img -c CONFIG.cfg [-f SRC:DEST]... [-p NAME:SIZE_MIB]... [-s ESP_MIB]
#             [-l LOADER.efi] [-k HYPERVISOR.elf] [-q]
#
#   -o  image to write (replaced atomically)
#   -c  guest configuration, stored as /tessera/tessera.cfg
#   -f  extra file for the ESP: SRC on the host, DEST on the ESP (e.g. build/guest/suite.elf:tessera/suite.elf)
#   -p  empty partition of SIZE_MIB MiB named NAME (type 8300), in the order given
#   -s  ESP size in MiB (default 64; FAT16 below 512 MiB)
#   -l  loader (default $BUILD/BOOTX64.EFI), stored as /EFI/BOOT/BOOTX64.EFI
#   -k  hypervisor (default $BUILD/tessera.elf), stored as /tessera/tessera.elf
#   -q  do not print the partition table
set -euo pipefail

die() { echo "mkdisk: $*" >&2; exit 1; }

build_dir=${BUILD:-build}
out='' config='' esp_mib=64 quiet=0
loader=$build_dir/BOOTX64.EFI
hypervisor=$build_dir/tessera.elf
files=() parts=()

while getopts ":o:c:f:p:s:l:k:q" opt; do
    case $opt in
        o) out=$OPTARG ;;
        c) config=$OPTARG ;;
        f) files+=("$OPTARG") ;;
        p) parts+=("$OPTARG") ;;
        s) esp_mib=$OPTARG ;;
        l) loader=$OPTARG ;;
        k) hypervisor=$OPTARG ;;
        q) quiet=1 ;;
        :) die "option -$OPTARG needs a value" ;;
        *) die "unknown option -$OPTARG (usage: mkdisk.sh -o OUT.img -c CONFIG.cfg [-f SRC:DEST]... [-p NAME:SIZE_MIB]... [-s ESP_MIB] [-l LOADER] [-k HYPERVISOR] [-q])" ;;
    esac
done
shift $((OPTIND - 1))
(($# == 0)) || die "unexpected argument '$1'"

[[ -n $out ]] || die "no output image given (-o OUT.img)"
[[ -n $config ]] || die "no configuration given (-c CONFIG.cfg)"
for tool in sgdisk mformat mmd mcopy; do
    command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/deps.sh)"
done

is_size() { [[ $1 =~ ^[1-9][0-9]{0,6}$ ]]; }
need_file() { [[ -f $1 && -r $1 ]] || die "$2 '$1' does not exist or is not a readable file"; }

is_size "$esp_mib" || die "bad ESP size '$esp_mib' (whole MiB, 1..9999999)"
# FAT16 needs at least ~4085 clusters; mformat refuses tiny volumes.
((esp_mib >= 8)) || die "ESP of $esp_mib MiB is too small (at least 8 MiB)"
need_file "$config" "configuration"
need_file "$loader" "loader"
need_file "$hypervisor" "hypervisor"

# Each ESP file as "SRC<TAB>DEST" with DEST relative to the ESP root, fixed files first.
esp_entries=("$loader"$'\t'"EFI/BOOT/BOOTX64.EFI" "$hypervisor"$'\t'"tessera/tessera.elf"
             "$config"$'\t'"tessera/tessera.cfg")
for spec in "${files[@]}"; do
    [[ $spec == *:* ]] || die "bad -f '$spec' (want SRC:DEST)"
    src=${spec%:*} dest=${spec##*:}
    dest=${dest#/}
    [[ -n $src && -n $dest && $dest != */ ]] || die "bad -f '$spec' (want SRC:DEST)"
    [[ $dest != *..* ]] || die "bad -f destination '$dest' ('..' not allowed)"
    need_file "$src" "file"
    esp_entries+=("$src"$'\t'"$dest")
done

part_names=() part_mibs=()
for spec in "${parts[@]}"; do
    [[ $spec == *:* ]] || die "bad -p '$spec' (want NAME:SIZE_MIB)"
    name=${spec%:*} size=${spec##*:}
    [[ -n $name ]] || die "bad -p '$spec': empty partition name"
    ((${#name} <= 36)) || die "partition name '$name' longer than 36 characters (GPT limit)"
    [[ $name =~ ^[[:print:]]+$ ]] || die "partition name '$name' has unprintable characters"
    is_size "$size" || die "bad size '$size' for partition '$name' (whole MiB, 1..9999999)"
    for seen in "${part_names[@]}"; do
        [[ $seen != "$name" ]] || die "partition name '$name' given twice"
    done
    part_names+=("$name") part_mibs+=("$size")
done
((${#part_names[@]} <= 127)) || die "too many partitions (GPT holds 128 with the ESP)"

# Layout in 512-byte sectors: 1 MiB for the primary GPT, partitions back to back on 1 MiB
# boundaries, 1 MiB at the end for the backup GPT.
sectors_per_mib=2048
total_mib=$((1 + esp_mib + 1))
for size in "${part_mibs[@]}"; do total_mib=$((total_mib + size)); done

mkdir -p "$(dirname "$out")"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
truncate -s "${total_mib}M" "$tmp"

sgdisk_args=(--clear
             "--new=1:$sectors_per_mib:+${esp_mib}M" --typecode=1:EF00 "--change-name=1:EFI system")
start_mib=$((1 + esp_mib))
for i in "${!part_names[@]}"; do
    n=$((i + 2))
    sgdisk_args+=("--new=$n:$((start_mib * sectors_per_mib)):+${part_mibs[i]}M" "--typecode=$n:8300"
                  "--change-name=$n:${part_names[i]}")
    start_mib=$((start_mib + part_mibs[i]))
done
sgdisk "${sgdisk_args[@]}" "$tmp" >/dev/null || die "sgdisk failed to write the partition table"

# The FAT must be told its size (-T): otherwise mformat sizes it to the whole file and its
# clusters run over the partitions after it.
export MTOOLS_SKIP_CHECK=1
esp="$tmp@@$((sectors_per_mib * 512))"
mformat -i "$esp" -T $((esp_mib * sectors_per_mib)) -v TESSERA :: || die "mformat failed on the ESP"

declare -A made_dirs=()
for entry in "${esp_entries[@]}"; do
    src=${entry%%$'\t'*} dest=${entry#*$'\t'}
    dir=
    IFS=/ read -r -a components <<<"$(dirname "$dest")"
    for c in "${components[@]}"; do
        [[ $c == . || -z $c ]] && continue
        dir+=/$c
        if [[ -z ${made_dirs[$dir]:-} ]]; then
            mmd -i "$esp" "::$dir" 2>/dev/null || true
            made_dirs[$dir]=1
        fi
    done
    mcopy -o -i "$esp" "$src" "::/$dest" || die "could not copy '$src' to /$dest on the ESP (ESP full? try -s)"
done

chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
((quiet)) || sgdisk -p "$out"
