/* Fuzzes the MMIO instruction decoder: arbitrary bytes in any mode must decode to a sane
 * description within the bytes given, or be refused, never read past them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "emu/decode.h"

static const enum decode_mode modes[3] = { DECODE_16, DECODE_32, DECODE_64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum decode_mode mode = modes[data[0] % 3];
    size_t n = size - 1;
    /* An exact-size heap copy, so any read past n bytes is caught by ASan. */
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes)
        return 0;
    memcpy(bytes, data + 1, n);

    struct mem_insn insn;
    if (decode_mem_insn(bytes, n, mode, &insn) == 0) {
        if (insn.length < 1 || insn.length > n || insn.length > 15)
            abort();
        if (insn.kind > MI_MOVS)
            abort();
        if (insn.mem_size != 1 && insn.mem_size != 2 && insn.mem_size != 4 && insn.mem_size != 8)
            abort();
        if (insn.reg_size < insn.mem_size && insn.kind != MI_STORE_IMM)
            abort();
        if (insn.reg > 15 || (insn.reg_high8 && (insn.reg > 3 || insn.mem_size != 1)))
            abort();
        if (insn.addr_size != 2 && insn.addr_size != 4 && insn.addr_size != 8)
            abort();
        if (insn.seg > SEG_GS && insn.seg != SEG_NONE)
            abort();
        if (insn.rep && insn.kind != MI_STOS && insn.kind != MI_MOVS)
            abort();
        if (insn.mem_size < 8 && (insn.imm >> (8 * insn.mem_size)))
            abort();
        /* Decoding exactly the instruction's own bytes gives the same answer. */
        struct mem_insn again;
        if (decode_mem_insn(bytes, insn.length, mode, &again) != 0 || again.length != insn.length ||
            again.kind != insn.kind || again.mem_size != insn.mem_size || again.reg != insn.reg)
            abort();
    }
    free(bytes);
    return 0;
}
