#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_decode and fuzz_mmio_emulate (corpus/fuzz_decode/,
corpus/fuzz_mmio_emulate/): one per instruction form the emulator handles, so the fuzzers start
from every form instead of having to find them. Run from anywhere; rewrites the seed files."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, mode 0/1/2 = 16/32/64-bit, instruction bytes); memory operand [rbx] (or [bx]) unless said.
FORMS = [
    ("mov_store", 2, "89 0b"), ("mov_load", 2, "48 8b 0b"), ("mov_imm", 2, "c7 03 78 56 34 12"),
    ("movzx", 2, "0f b6 0b"), ("movsxd", 2, "48 63 0b"), ("moffs", 2, "a1 40 00 02 00 00 00 00 00"),
    ("rep_stos", 2, "f3 48 ab"), ("rep_movs", 2, "f3 a4"),
    ("add_mr", 2, "01 0b"), ("or_rm", 2, "66 0b 0b"), ("adc_imm8", 2, "48 83 13 01"),
    ("sbb_imm", 2, "81 1b 78 56 34 12"), ("and_byte", 2, "80 23 0f"), ("sub_high8", 2, "28 2b"),
    ("xor_lock", 2, "f0 31 0b"), ("cmp_mr", 2, "39 0b"), ("cmp_rm", 2, "3a 0b"), ("cmp_imm", 2, "83 3b ff"),
    ("test_mr", 2, "85 0b"), ("test_imm", 2, "f6 03 80"), ("not", 2, "f7 13"), ("neg_lock", 2, "f0 48 f7 1b"),
    ("inc", 2, "fe 03"), ("dec", 2, "66 ff 0b"), ("xchg", 2, "87 0b"), ("cmpxchg", 2, "f0 0f b1 0b"),
    ("cmpxchg8", 2, "0f b0 0b"), ("xadd", 2, "f0 48 0f c1 0b"), ("bt_reg", 2, "0f a3 0b"),
    ("bts_reg", 2, "f0 48 0f ab 0b"), ("btr_imm", 2, "66 0f ba 33 11"), ("btc_imm", 2, "0f ba 3b 21"),
    ("movnti", 2, "48 0f c3 0b"), ("movd_load", 2, "66 0f 6e 0b"), ("movq_store", 2, "66 48 0f 7e 0b"),
    ("movq_load", 2, "f3 0f 7e 0b"), ("movq_d6", 2, "66 0f d6 0b"), ("movdqu", 2, "f3 0f 6f 0b"),
    ("movdqa_store", 2, "66 44 0f 7f 3b"), ("movups", 2, "0f 10 0b"), ("movaps_store", 2, "0f 29 0b"),
    ("movss", 2, "f3 0f 10 0b"), ("movsd_store", 2, "f2 0f 11 0b"), ("movntdq", 2, "66 0f e7 0b"),
    ("vmovdqu_ymm", 2, "c5 fe 6f 0b"), ("vmovdqu_store", 2, "c5 7e 7f 23"), ("vmovdqa_c4", 2, "c4 c1 7d 6f 0b"),
    ("vmovd", 2, "c5 f9 6e 0b"), ("vmovq_w1", 2, "c4 e1 f9 7e 0b"), ("vmovaps", 2, "c5 fc 28 0b"),
    ("sib_rip", 2, "8b 54 88 10"), ("rip_relative", 2, "8b 05 00 00 00 00"),
    ("prot32_add", 1, "01 0b"), ("prot32_vex", 1, "c5 fa 6f 0b"), ("prot32_bt", 1, "0f a3 0b"),
    ("real_add", 0, "01 0f"), ("real_movdqa", 0, "66 0f 6f 07"), ("real_xchg", 0, "86 2f"),
]

PML4, PDPT, CODE, DEV = 0x0, 0x1000, 0x1100, 0x20000


def header(mode):
    """struct fuzz_header of fuzz_mmio_emulate.c: the guest in the given mode, RBX/EBX/BX on the
    device, SSE and AVX enabled."""
    if mode == 2:
        cr0, cr4, efer, cs_ar = 0x80010031, 0x40220, 0x500, 0xa09b
        rip = CODE
        cs_base = ds_base = 0
        rbx = DEV + 0x40
    elif mode == 1:
        cr0, cr4, efer, cs_ar = 0x11, 0x40200, 0, 0xc09b
        rip, cs_base, ds_base, rbx = CODE, 0, 0, DEV + 0x40
    else:
        cr0, cr4, efer, cs_ar = 0x10, 0x40200, 0, 0x9b
        rip, cs_base, ds_base, rbx = 0, CODE, DEV, 0x40
    gpr = [0x11, 0x22, 0x33, rbx, 0, 0x66, 0x77, 0x88] + [0x1000 + i for i in range(8)]
    fields = struct.pack("<8Q", cr0, PML4, cr4, efer, 2, rip, 0x8000, DEV + 0x40)
    fields += struct.pack("<6Q", cs_base, ds_base, 0, 0, 0, 0)
    fields += struct.pack("<2I", cs_ar, 0xc093 if mode else 0x93)
    fields += struct.pack("<16Q", *gpr)
    fields += struct.pack("<5Q", 7, 0x183, DEV + 0x40, 0x400, 0)
    fields += bytes(range(256))
    return fields


def ram(code):
    """Guest RAM: 64-bit paging identity-maps the first GiB; the instruction at CODE."""
    image = bytearray(CODE + 16)            # PDPT entries past the first are never read
    struct.pack_into("<Q", image, PML4, PDPT | 7)
    struct.pack_into("<Q", image, PDPT, 0x83)
    image[CODE:CODE + len(code)] = code
    return bytes(image)


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    for name, mode, text in FORMS:
        code = bytes.fromhex(text)
        write(os.path.join(HERE, "fuzz_decode"), name, bytes([mode]) + code)
        write(os.path.join(HERE, "fuzz_mmio_emulate"), name, header(mode) + ram(code))


if __name__ == "__main__":
    main()
