/* The empty bus under instructions other than MOV: cmp, test, add/or/and/xor/sub/adc/sbb (register,
 * immediate and sign-extended imm8 forms), inc/dec/not/neg, xchg, cmpxchg, bt/bts/btr/btc (register
 * and immediate bit offsets, offsets beyond the operand), their lock forms and movnti, at 8, 16,
 * 32 and 64 bits. The reference is the CPU itself: each instruction runs once on a RAM location
 * holding all ones (what the bus reads) and once on an empty-bus address, with the same registers
 * and flags. Both must leave the same registers, the same arithmetic flags the SDM defines for the
 * instruction, and continue at the next instruction; the empty bus still reads all ones after
 * (writes are dropped), while the RAM copy shows what the write would have stored. */
#include <stdbool.h>
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

#define WIDTHS 4
#define BUS_OFFSET 0x800u              /* within the suite's empty-bus page, apart from other tests */
#define AREA 64u                       /* bytes around the operand an instruction may touch */
#define OPERAND_AT 24u                 /* the operand's offset in that area (bit offsets reach +-16) */
#define FLAGS_IN (RFLAGS_FIXED1 | RFLAGS_CF | RFLAGS_PF | RFLAGS_ZF)
#define LOGIC_FLAGS (RFLAGS_ARITH & ~RFLAGS_AF)         /* and/or/xor/test: AF undefined */
#define BIT_TEST_FLAGS (RFLAGS_CF | RFLAGS_ZF)           /* bt*: OF SF AF PF undefined, ZF kept */

struct op_regs {
    uint64_t rax, rcx, rdx, flags;
    int vector;
    bool next_ran;                     /* the instruction after it ran */
};

typedef void (*op_fn)(uint64_t addr, struct op_regs *r);

/* One instruction with its memory operand at (%rsi), RAX/RCX/RDX as register operands. */
#define OP(fn, insn)                                                                               \
    static void fn(uint64_t addr, struct op_regs *r)                                               \
    {                                                                                              \
        uint64_t flags = r->flags, marker = 0;                                                     \
        fault_reset();                                                                             \
        asm volatile(FAULT_ARM                                                                     \
                     "pushq %[fl]\n\tpopfq\n\t"                                                    \
                     insn "\n\t"                                                                   \
                     "movl $1, %k[mk]\n\t"                                                         \
                     "pushfq\n\tpopq %[fl]"                                                        \
                     FAULT_LANDING                                                                 \
                     : "+a"(r->rax), "+c"(r->rcx), "+d"(r->rdx), [fl] "+r"(flags), [mk] "+r"(marker) \
                     : "S"(addr) : "r11", "cc", "memory");                                         \
        r->vector = fault_end();                                                                   \
        r->flags = flags;                                                                          \
        r->next_ran = marker == 1;                                                                 \
    }
#define OP4(n, i8, i16, i32, i64) OP(n##_8, i8) OP(n##_16, i16) OP(n##_32, i32) OP(n##_64, i64)
#define OP3(n, i16, i32, i64) OP(n##_16, i16) OP(n##_32, i32) OP(n##_64, i64)
#define FNS4(n) { n##_8, n##_16, n##_32, n##_64 }
#define FNS3(n) { 0, n##_16, n##_32, n##_64 }

/* op r/m, reg; op reg, r/m; op r/m, imm; op r/m, imm8 sign-extended (opcode 83). */
#define ALU(op)                                                                                      \
    OP4(op##_mr, #op "b %%al, (%%rsi)", #op "w %%ax, (%%rsi)", #op "l %%eax, (%%rsi)", #op "q %%rax, (%%rsi)") \
    OP4(op##_rm, #op "b (%%rsi), %%al", #op "w (%%rsi), %%ax", #op "l (%%rsi), %%eax", #op "q (%%rsi), %%rax") \
    OP4(op##_mi, #op "b $0x5a, (%%rsi)", #op "w $0x1234, (%%rsi)", #op "l $0x12345678, (%%rsi)",         \
        #op "q $-0x12345678, (%%rsi)")                                                                 \
    OP3(op##_mi8, #op "w $-3, (%%rsi)", #op "l $-3, (%%rsi)", #op "q $-3, (%%rsi)")
#define LOCKED(op)                                                                                   \
    OP4(lock_##op, "lock " #op "b %%al, (%%rsi)", "lock " #op "w %%ax, (%%rsi)",                       \
        "lock " #op "l %%eax, (%%rsi)", "lock " #op "q %%rax, (%%rsi)")
#define UNARY(op)                                                                                    \
    OP4(op##_m, #op "b (%%rsi)", #op "w (%%rsi)", #op "l (%%rsi)", #op "q (%%rsi)")                   \
    OP4(lock_##op##_m, "lock " #op "b (%%rsi)", "lock " #op "w (%%rsi)", "lock " #op "l (%%rsi)",       \
        "lock " #op "q (%%rsi)")
#define BITS(op)                                                                                     \
    OP3(op##_mr, #op "w %%cx, (%%rsi)", #op "l %%ecx, (%%rsi)", #op "q %%rcx, (%%rsi)")               \
    OP3(op##_mi, #op "w $21, (%%rsi)", #op "l $37, (%%rsi)", #op "q $69, (%%rsi)")

ALU(add) ALU(or) ALU(adc) ALU(sbb) ALU(and) ALU(sub) ALU(xor) ALU(cmp)
LOCKED(add) LOCKED(or) LOCKED(adc) LOCKED(sbb) LOCKED(and) LOCKED(sub) LOCKED(xor)
UNARY(inc) UNARY(dec) UNARY(not) UNARY(neg)
BITS(bt) BITS(bts) BITS(btr) BITS(btc)
OP3(lock_bts_mr, "lock btsw %%cx, (%%rsi)", "lock btsl %%ecx, (%%rsi)", "lock btsq %%rcx, (%%rsi)")
OP3(lock_btr_mr, "lock btrw %%cx, (%%rsi)", "lock btrl %%ecx, (%%rsi)", "lock btrq %%rcx, (%%rsi)")
OP3(lock_btc_mr, "lock btcw %%cx, (%%rsi)", "lock btcl %%ecx, (%%rsi)", "lock btcq %%rcx, (%%rsi)")
OP4(test_mr, "testb %%al, (%%rsi)", "testw %%ax, (%%rsi)", "testl %%eax, (%%rsi)", "testq %%rax, (%%rsi)")
OP4(test_mi, "testb $0x5a, (%%rsi)", "testw $0x1234, (%%rsi)", "testl $0x12345678, (%%rsi)",
    "testq $-0x12345678, (%%rsi)")
OP4(xchg_mr, "xchgb %%al, (%%rsi)", "xchgw %%ax, (%%rsi)", "xchgl %%eax, (%%rsi)", "xchgq %%rax, (%%rsi)")
OP4(cmpxchg_m, "cmpxchgb %%dl, (%%rsi)", "cmpxchgw %%dx, (%%rsi)", "cmpxchgl %%edx, (%%rsi)",
    "cmpxchgq %%rdx, (%%rsi)")
OP4(lock_cmpxchg_m, "lock cmpxchgb %%dl, (%%rsi)", "lock cmpxchgw %%dx, (%%rsi)", "lock cmpxchgl %%edx, (%%rsi)",
    "lock cmpxchgq %%rdx, (%%rsi)")
OP(movnti_32, "movntil %%eax, (%%rsi)")
OP(movnti_64, "movntiq %%rax, (%%rsi)")

#define RAX_IN 0x0123456789ABCDEFull
#define RCX_IN 5ull                    /* a bit offset inside every operand width */
#define RDX_IN 0xFEDCBA9876543210ull

struct op_form {
    const char *name;
    op_fn fn[WIDTHS];                  /* 8, 16, 32, 64 bits; 0 where the form has no such width */
    uint64_t defined_flags;
    uint64_t rax, rcx;                 /* RDX is always RDX_IN */
};

#define ALU_FORMS(op, flags)                                                          \
    { #op " r/m, reg", FNS4(op##_mr), flags, RAX_IN, RCX_IN },                        \
    { #op " reg, r/m", FNS4(op##_rm), flags, RAX_IN, RCX_IN },                        \
    { #op " r/m, imm", FNS4(op##_mi), flags, RAX_IN, RCX_IN },                        \
    { #op " r/m, imm8 (83 /n)", FNS3(op##_mi8), flags, RAX_IN, RCX_IN }
#define BIT_FORMS(op)                                                                 \
    { #op " r/m, reg", FNS3(op##_mr), BIT_TEST_FLAGS, RAX_IN, RCX_IN },               \
    { #op " r/m, reg beyond the operand (+100)", FNS3(op##_mr), BIT_TEST_FLAGS, RAX_IN, 100 }, \
    { #op " r/m, reg below the operand (-20)", FNS3(op##_mr), BIT_TEST_FLAGS, RAX_IN, (uint64_t)-20 }, \
    { #op " r/m, imm8 (taken modulo the width)", FNS3(op##_mi), BIT_TEST_FLAGS, RAX_IN, RCX_IN }

static const struct op_form forms[] = {
    ALU_FORMS(cmp, RFLAGS_ARITH), ALU_FORMS(add, RFLAGS_ARITH), ALU_FORMS(or, LOGIC_FLAGS),
    ALU_FORMS(adc, RFLAGS_ARITH), ALU_FORMS(sbb, RFLAGS_ARITH), ALU_FORMS(and, LOGIC_FLAGS),
    ALU_FORMS(sub, RFLAGS_ARITH), ALU_FORMS(xor, LOGIC_FLAGS),
    { "test r/m, reg", FNS4(test_mr), LOGIC_FLAGS, RAX_IN, RCX_IN },
    { "test r/m, imm", FNS4(test_mi), LOGIC_FLAGS, RAX_IN, RCX_IN },
    { "lock add", FNS4(lock_add), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock or", FNS4(lock_or), LOGIC_FLAGS, RAX_IN, RCX_IN },
    { "lock adc", FNS4(lock_adc), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock sbb", FNS4(lock_sbb), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock and", FNS4(lock_and), LOGIC_FLAGS, RAX_IN, RCX_IN },
    { "lock sub", FNS4(lock_sub), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock xor", FNS4(lock_xor), LOGIC_FLAGS, RAX_IN, RCX_IN },
    /* inc/dec keep CF; not changes no flag; neg sets all six. */
    { "inc r/m", FNS4(inc_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "dec r/m", FNS4(dec_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "not r/m", FNS4(not_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "neg r/m", FNS4(neg_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock inc", FNS4(lock_inc_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock dec", FNS4(lock_dec_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock not", FNS4(lock_not_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "lock neg", FNS4(lock_neg_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "xchg r/m, reg", FNS4(xchg_mr), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "cmpxchg r/m, reg (accumulator differs)", FNS4(cmpxchg_m), RFLAGS_ARITH, RAX_IN, RCX_IN },
    { "cmpxchg r/m, reg (accumulator all ones)", FNS4(cmpxchg_m), RFLAGS_ARITH, ~0ull, RCX_IN },
    { "lock cmpxchg (accumulator all ones)", FNS4(lock_cmpxchg_m), RFLAGS_ARITH, ~0ull, RCX_IN },
    BIT_FORMS(bt), BIT_FORMS(bts), BIT_FORMS(btr), BIT_FORMS(btc),
    { "lock bts r/m, reg", FNS3(lock_bts_mr), BIT_TEST_FLAGS, RAX_IN, RCX_IN },
    { "lock btr r/m, reg", FNS3(lock_btr_mr), BIT_TEST_FLAGS, RAX_IN, RCX_IN },
    { "lock btc r/m, reg", FNS3(lock_btc_mr), BIT_TEST_FLAGS, RAX_IN, RCX_IN },
    { "movnti", { 0, 0, movnti_32, movnti_64 }, RFLAGS_ARITH, RAX_IN, RCX_IN },
};

static uint8_t ram_area[AREA] __attribute__((aligned(64)));

static uint64_t ram_word_at_operand(void)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)ram_area[OPERAND_AT + i] << (8 * i);
    return v;
}

struct width_result {
    struct op_regs ref, got;
    uint64_t ram_after;
    bool bus_ones;
};

/* Runs one width on RAM and on the bus; returns whether they agree. */
static bool compare_width(const struct op_form *f, unsigned w, uint64_t bus_area, struct width_result *res)
{
    for (unsigned i = 0; i < AREA; i++)
        ram_area[i] = 0xFF;
    res->ref = (struct op_regs){ f->rax, f->rcx, RDX_IN, FLAGS_IN, 0, false };
    res->got = res->ref;
    f->fn[w]((uint64_t)(uintptr_t)(ram_area + OPERAND_AT), &res->ref);
    f->fn[w](bus_area + OPERAND_AT, &res->got);
    res->ram_after = ram_word_at_operand();
    res->bus_ones = bus_all_ones(bus_area, AREA);
    const struct op_regs *ref = &res->ref, *got = &res->got;
    uint64_t m = f->defined_flags;
    return ref->vector == FAULT_NONE && got->vector == FAULT_NONE && got->next_ran && ref->next_ran &&
           got->rax == ref->rax && got->rcx == ref->rcx && got->rdx == ref->rdx &&
           (got->flags & m) == (ref->flags & m) && res->bus_ones;
}

static void report_width(const struct op_form *f, unsigned bits, const struct width_result *res)
{
    const struct op_regs *ref = &res->ref, *got = &res->got;
    uint64_t m = f->defined_flags;
    tap_diag("%u-bit: RAM (the CPU) %s RAX 0x%lx RCX 0x%lx RDX 0x%lx flags 0x%lx, memory now 0x%lx", bits,
             fault_name(ref->vector), ref->rax, ref->rcx, ref->rdx, ref->flags & m, res->ram_after);
    tap_diag("%u-bit: empty bus %s%s RAX 0x%lx RCX 0x%lx RDX 0x%lx flags 0x%lx, bus %s", bits, fault_name(got->vector),
             got->next_ran ? "" : " (next instruction skipped)", got->rax, got->rcx, got->rdx, got->flags & m,
             res->bus_ones ? "still all ones" : "NOT all ones");
}

void suite_empty_bus_alu(const struct suite_env *env)
{
    static const unsigned bits[WIDTHS] = { 8, 16, 32, 64 };
    if (env->empty_bus == 0) {
        tap_skip("empty bus: arithmetic, logic and bit instructions", "RAM reaches the end of our page tables");
        return;
    }
    uint64_t bus_area = env->empty_bus + BUS_OFFSET;
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const struct op_form *f = &forms[i];
        struct width_result res[WIDTHS];
        bool agreed[WIDTHS] = { false };
        unsigned tested = 0, agreeing = 0, n = 0;
        char widths[16];
        for (unsigned w = 0; w < WIDTHS; w++) {
            if (!f->fn[w])
                continue;
            if (n)
                widths[n++] = '/';
            n += (unsigned)(bits[w] >= 10 ? 2 : 1);
            widths[n - 1] = (char)('0' + bits[w] % 10);
            if (bits[w] >= 10)
                widths[n - 2] = (char)('0' + bits[w] / 10);
            tested++;
            agreed[w] = compare_width(f, w, bus_area, &res[w]);
            agreeing += agreed[w];
        }
        widths[n] = '\0';
        if (tap_check(tested > 0 && agreeing == tested, "empty bus: %s (%s bits) acts as on RAM reading all ones",
                      f->name, widths))
            continue;
        for (unsigned w = 0; w < WIDTHS; w++) {
            if (f->fn[w] && !agreed[w])
                report_width(f, bits[w], &res[w]);
        }
    }
}
