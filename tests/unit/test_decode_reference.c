/* Reference check of the decoder's instruction lengths against GNU objdump: thousands of
 * generated encodings of the forms the decoder accepts (random prefixes, REX/VEX bits, ModRM,
 * SIB, displacements and immediates) in 16-, 32- and 64-bit code. For every one the decoder
 * accepts as an instruction the CPU executes, objdump must find it exactly as long: a wrong
 * length would leave the guest's RIP in the middle of an instruction. Skipped if objdump is
 * missing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "emu/decode.h"

#define SLOT       32               /* each instruction starts a slot, INT3s fill the rest */
#define PER_MODE   4000
#define INT3       0xcc

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A byte that is not INT3, so the padding cannot be mistaken for the instruction's tail. */
static uint8_t byte(void)
{
    uint8_t b = (uint8_t)rnd();
    return b == INT3 ? 0xcd : b;
}

/* Opcode bytes (after prefixes) of every form, with the ModRM.reg values that select it. */
struct form {
    uint8_t opcode[3];
    uint8_t opcode_len;
    uint8_t reg_mask;               /* bit n: ModRM.reg = n allowed */
    uint8_t imm;                    /* 0, 1, 2/4 (operand-sized, 4 for 64), or 0xff: moffs */
    uint8_t mandatory;              /* SSE mandatory prefix to put before, 0 for none */
    bool no_modrm;
};

#define ALL 0xff
#define IMM_OPERAND 2
#define MOFFS 0xff

static const struct form forms[] = {
    { { 0x00 }, 1, ALL, 0, 0, false }, { { 0x01 }, 1, ALL, 0, 0, false }, { { 0x02 }, 1, ALL, 0, 0, false },
    { { 0x0b }, 1, ALL, 0, 0, false }, { { 0x11 }, 1, ALL, 0, 0, false }, { { 0x1a }, 1, ALL, 0, 0, false },
    { { 0x21 }, 1, ALL, 0, 0, false }, { { 0x2b }, 1, ALL, 0, 0, false }, { { 0x30 }, 1, ALL, 0, 0, false },
    { { 0x39 }, 1, ALL, 0, 0, false }, { { 0x3a }, 1, ALL, 0, 0, false },
    { { 0x80 }, 1, ALL, 1, 0, false }, { { 0x81 }, 1, ALL, IMM_OPERAND, 0, false },
    { { 0x83 }, 1, ALL, 1, 0, false }, { { 0x84 }, 1, ALL, 0, 0, false }, { { 0x85 }, 1, ALL, 0, 0, false },
    { { 0x86 }, 1, ALL, 0, 0, false }, { { 0x87 }, 1, ALL, 0, 0, false },
    { { 0x88 }, 1, ALL, 0, 0, false }, { { 0x89 }, 1, ALL, 0, 0, false }, { { 0x8a }, 1, ALL, 0, 0, false },
    { { 0x8b }, 1, ALL, 0, 0, false }, { { 0xc6 }, 1, 0x01, 1, 0, false },
    { { 0xc7 }, 1, 0x01, IMM_OPERAND, 0, false },
    { { 0xa0 }, 1, 0, MOFFS, 0, true }, { { 0xa1 }, 1, 0, MOFFS, 0, true }, { { 0xa2 }, 1, 0, MOFFS, 0, true },
    { { 0xa3 }, 1, 0, MOFFS, 0, true }, { { 0xaa }, 1, 0, 0, 0, true }, { { 0xab }, 1, 0, 0, 0, true },
    { { 0xa4 }, 1, 0, 0, 0, true }, { { 0xa5 }, 1, 0, 0, 0, true },
    { { 0xf6 }, 1, 0x03, 1, 0, false }, { { 0xf7 }, 1, 0x03, IMM_OPERAND, 0, false },
    { { 0xf6 }, 1, 0x0c, 0, 0, false }, { { 0xf7 }, 1, 0x0c, 0, 0, false },
    { { 0xfe }, 1, 0x03, 0, 0, false }, { { 0xff }, 1, 0x03, 0, 0, false },
    { { 0x0f, 0xb6 }, 2, ALL, 0, 0, false }, { { 0x0f, 0xbf }, 2, ALL, 0, 0, false },
    { { 0x0f, 0xa3 }, 2, ALL, 0, 0, false }, { { 0x0f, 0xab }, 2, ALL, 0, 0, false },
    { { 0x0f, 0xb3 }, 2, ALL, 0, 0, false }, { { 0x0f, 0xbb }, 2, ALL, 0, 0, false },
    { { 0x0f, 0xba }, 2, 0xf0, 1, 0, false }, { { 0x0f, 0xb0 }, 2, ALL, 0, 0, false },
    { { 0x0f, 0xb1 }, 2, ALL, 0, 0, false }, { { 0x0f, 0xc0 }, 2, ALL, 0, 0, false },
    { { 0x0f, 0xc1 }, 2, ALL, 0, 0, false }, { { 0x0f, 0xc3 }, 2, ALL, 0, 0, false },
    { { 0x0f, 0x10 }, 2, ALL, 0, 0, false }, { { 0x0f, 0x29 }, 2, ALL, 0, 0, false },
    { { 0x0f, 0x2b }, 2, ALL, 0, 0x66, false }, { { 0x0f, 0x6e }, 2, ALL, 0, 0x66, false },
    { { 0x0f, 0x7e }, 2, ALL, 0, 0x66, false }, { { 0x0f, 0x7e }, 2, ALL, 0, 0xf3, false },
    { { 0x0f, 0xd6 }, 2, ALL, 0, 0x66, false }, { { 0x0f, 0x6f }, 2, ALL, 0, 0x66, false },
    { { 0x0f, 0x7f }, 2, ALL, 0, 0xf3, false }, { { 0x0f, 0x11 }, 2, ALL, 0, 0xf2, false },
    { { 0x0f, 0xe7 }, 2, ALL, 0, 0x66, false }, { { 0x0f, 0x28 }, 2, ALL, 0, 0x66, false },
};

static const uint8_t legacy_prefixes[] = { 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65 };

/* ModRM (mod != 3) with reg from mask, then SIB and displacement as it calls for them. */
static size_t put_modrm(uint8_t *b, uint8_t reg_mask, bool addr16)
{
    unsigned reg;
    do
        reg = rnd() & 7;
    while (!(reg_mask & (1u << reg)));
    unsigned mod = rnd() % 3, rm = rnd() & 7;
    size_t n = 0;
    b[n++] = (uint8_t)((mod << 6) | (reg << 3) | rm);
    unsigned disp = 0;
    if (addr16) {
        disp = mod == 1 ? 1 : mod == 2 ? 2 : rm == 6 ? 2 : 0;
    } else {
        if (rm == 4) {
            uint8_t sib = byte();
            b[n++] = sib;
            if (mod == 0 && (sib & 7) == 5)
                disp = 4;
        }
        if (mod == 1)
            disp = 1;
        else if (mod == 2 || (mod == 0 && rm == 5))
            disp = 4;
    }
    for (unsigned i = 0; i < disp; i++)
        b[n++] = byte();
    return n;
}

/* One random encoding of a random form; the decoder decides what it is. */
static size_t generate(uint8_t *b, enum decode_mode mode)
{
    size_t n = 0;
    unsigned prefixes = rnd() % 4;
    for (unsigned i = 0; i < prefixes; i++)
        b[n++] = legacy_prefixes[rnd() % sizeof(legacy_prefixes)];
    const struct form *f = &forms[rnd() % (sizeof(forms) / sizeof(forms[0]))];
    bool vex = (rnd() % 5) == 0;
    if (!vex && f->mandatory)
        b[n++] = f->mandatory;
    bool opsize = false, addrsize = false;
    for (size_t i = 0; i < n; i++) {
        opsize |= b[i] == 0x66;
        addrsize |= b[i] == 0x67;
    }
    bool addr16 = mode == DECODE_16 ? !addrsize : mode == DECODE_32 && addrsize;
    if (vex) {
        /* a VEX move: C5 or C4 (map 0F), vvvv 1111b, any pp/L/R/X/B/W */
        static const uint8_t ops[] = { 0x10, 0x11, 0x28, 0x29, 0x2b, 0x6e, 0x7e, 0x6f, 0x7f, 0xd6, 0xe7 };
        uint8_t low = (uint8_t)(0x78 | (rnd() & 7));             /* vvvv = 1111b, L, pp */
        if (rnd() & 1) {
            b[n++] = 0xc5;
            b[n++] = (uint8_t)(low | (mode == DECODE_64 ? (rnd() & 0x80) : 0x80));
        } else {
            b[n++] = 0xc4;
            b[n++] = (uint8_t)(0x01 | (mode == DECODE_64 ? (rnd() & 0xe0) : 0xc0 | (rnd() & 0x20)));
            b[n++] = (uint8_t)(low | (rnd() & 0x80));
        }
        b[n++] = ops[rnd() % sizeof(ops)];
        return n + put_modrm(b + n, ALL, addr16);
    }
    uint8_t rex = 0;
    if (mode == DECODE_64 && (rnd() & 1))
        b[n++] = rex = (uint8_t)(0x40 | (rnd() & 0xf));
    memcpy(b + n, f->opcode, f->opcode_len);
    n += f->opcode_len;
    if (!f->no_modrm)
        n += put_modrm(b + n, f->reg_mask, addr16);
    unsigned op_size = mode == DECODE_16 ? 2 : 4;
    if (opsize)
        op_size = op_size == 2 ? 4 : 2;
    if (rex & 8)
        op_size = 8;
    unsigned imm = f->imm;
    if (imm == IMM_OPERAND)
        imm = op_size == 8 ? 4 : op_size;
    if (imm == MOFFS)
        imm = mode == DECODE_64 ? (addrsize ? 4 : 8) : (addr16 ? 2 : 4);
    for (unsigned i = 0; i < imm; i++)
        b[n++] = byte();
    return n;
}

/* Run objdump on the slots; fill length[i] with where the INT3 padding of slot i starts. */
static int objdump_lengths(const uint8_t *image, size_t slots, enum decode_mode mode, unsigned *length)
{
    char path[] = "/tmp/tessera-decode-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (write(fd, image, slots * SLOT) != (ssize_t)(slots * SLOT)) {
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    const char *machine = mode == DECODE_64 ? "i386:x86-64" : mode == DECODE_32 ? "i386" : "i8086";
    char command[256];
    snprintf(command, sizeof(command), "objdump -D -b binary -m %s --insn-width=16 %s", machine, path);
    FILE *p = popen(command, "r");
    if (!p) {
        unlink(path);
        return -1;
    }
    for (size_t i = 0; i < slots; i++)
        length[i] = SLOT;
    /* The padding of a slot starts at the first INT3 after which the slot holds only INT3s. */
    char line[512];
    size_t run_slot = (size_t)-1;
    unsigned run_start = 0;
    bool in_run = false;
    while (fgets(line, sizeof(line), p)) {
        unsigned long addr;
        char *colon = strchr(line, ':');
        if (!colon || sscanf(line, " %lx:", &addr) != 1 || colon[1] != '\t')
            continue;
        char *mnemonic = strchr(colon + 2, '\t');
        bool int3 = mnemonic && strncmp(mnemonic + 1, "int3", 4) == 0;
        size_t slot = addr / SLOT;
        if (slot >= slots)
            continue;
        if (slot != run_slot) {
            in_run = false;
            run_slot = slot;
        }
        if (int3 && !in_run) {
            in_run = true;
            run_start = (unsigned)(addr % SLOT);
            length[slot] = run_start;
        } else if (!int3) {
            in_run = false;
            length[slot] = SLOT;
        }
    }
    int status = pclose(p);
    unlink(path);
    return status == 0 ? 0 : -1;
}

static void check_mode(enum decode_mode mode)
{
    uint8_t *image = malloc(PER_MODE * SLOT);
    unsigned *ours = calloc(PER_MODE, sizeof(unsigned));
    unsigned *theirs = calloc(PER_MODE, sizeof(unsigned));
    memset(image, INT3, PER_MODE * SLOT);
    size_t slots = 0;
    unsigned tries = 0;
    while (slots < PER_MODE && tries++ < 50 * PER_MODE) {
        uint8_t b[SLOT];
        size_t n = generate(b, mode);
        struct mem_insn insn;
        if (n >= SLOT - 1 || decode_mem_insn(b, n, mode, &insn) != 0 || insn.invalid)
            continue;
        memcpy(image + slots * SLOT, b, insn.length);
        ours[slots++] = insn.length;
    }
    assert_true(slots == PER_MODE);
    assert_int_equal(objdump_lengths(image, slots, mode, theirs), 0);
    unsigned wrong = 0;
    for (size_t i = 0; i < slots; i++) {
        if (ours[i] == theirs[i])
            continue;
        if (wrong++ < 10) {
            char hex[3 * SLOT + 1] = "";
            for (unsigned k = 0; k < ours[i]; k++)
                snprintf(hex + 3 * k, 4, "%02x ", image[i * SLOT + k]);
            print_error("mode %u: %s: decoder says %u bytes, objdump %u\n", (unsigned)mode, hex, ours[i], theirs[i]);
        }
    }
    assert_int_equal(wrong, 0);
    free(image);
    free(ours);
    free(theirs);
}

static void lengths_agree_64(void **state) { (void)state; check_mode(DECODE_64); }
static void lengths_agree_32(void **state) { (void)state; check_mode(DECODE_32); }
static void lengths_agree_16(void **state) { (void)state; check_mode(DECODE_16); }

static int have_objdump(void **state)
{
    (void)state;
    return system("objdump --version >/dev/null 2>&1") == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lengths_agree_64),
        cmocka_unit_test(lengths_agree_32),
        cmocka_unit_test(lengths_agree_16),
    };
    if (have_objdump(NULL) != 0) {
        printf("objdump not found: decoder reference check skipped\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
