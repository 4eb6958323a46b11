#!/usr/bin/env bash
# Installs the Debian packages Tessera needs to build, test and run (idempotent: installs only what is missing).
set -euo pipefail

packages=(
    make gcc binutils                           # hypervisor, loader, guests
    gnu-efi                                     # UEFI loader (crt0, linker script, libefi)
    clang libclang-rt-14-dev libcmocka-dev      # host unit tests and libFuzzer harnesses
    mtools gdisk                                # disk images without root
    bochs bochs-term bochsbios vgabios ovmf     # the VMX-capable emulator and UEFI firmware
    qemu-system-x86                             # QEMU TCG refusal test, nested KVM for `make run`
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "deps: all present"
    exit 0
fi

if ((EUID == 0)); then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
else
    echo "deps: missing ${missing[*]}; need root or password-less sudo to install them" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
