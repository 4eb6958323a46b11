/* The empty bus under the SSE and AVX moves drivers use on device memory: movd, movq (both
 * encodings each way), movdqu, movdqa, movups, movaps and, with AVX enabled, vmovdqu with 128- and
 * 256-bit operands. As for the integer forms (empty_bus_alu.c), the same instruction runs on a RAM
 * location holding all ones and on an empty-bus address: the vector register must come out the
 * same (all 256 bits when AVX is on: legacy SSE loads keep the upper half, VEX.128 zeroes it),
 * flags unchanged, execution continuing at the next instruction, and the bus still all ones
 * after a store. The group sets CR4.OSFXSR (and OSXSAVE, XCR0 = x87|SSE|AVX where AVX exists)
 * and restores both. */
#include <stdbool.h>
#include "x86.h"
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

#define BUS_OFFSET 0xC00u              /* within the suite's empty-bus page, apart from other tests */
#define AREA 64u
#define OPERAND_AT 16u                 /* 16-byte aligned, for movdqa/movaps */
#define VEC_BYTES 32u
#define FLAGS_IN (RFLAGS_FIXED1 | RFLAGS_CF | RFLAGS_ZF | RFLAGS_SF)

struct vec_regs {
    uint8_t in[VEC_BYTES] __attribute__((aligned(32)));    /* YMM0 (or XMM0) before */
    uint8_t out[VEC_BYTES] __attribute__((aligned(32)));   /* and after */
    uint64_t flags;
    int vector;
    bool next_ran;
};

typedef void (*vec_fn)(uint64_t addr, struct vec_regs *r);

/* XMM0 or YMM0 loaded from r->in, the instruction with its memory operand at (%rsi), the
 * register stored to r->out. */
#define VOP(fn, preload, insn, save)                                                          \
    static void fn(uint64_t addr, struct vec_regs *r)                                         \
    {                                                                                         \
        uint64_t flags = r->flags, marker = 0;                                                \
        fault_reset();                                                                        \
        asm volatile(preload "\n\t"                                                           \
                     FAULT_ARM                                                                \
                     "pushq %[fl]\n\tpopfq\n\t"                                               \
                     insn "\n\t"                                                              \
                     "movl $1, %k[mk]\n\t"                                                    \
                     "pushfq\n\tpopq %[fl]\n\t"                                               \
                     save                                                                     \
                     FAULT_LANDING                                                            \
                     : [fl] "+r"(flags), [mk] "+r"(marker)                                    \
                     : "S"(addr), "D"(r->in), "d"(r->out) : "r11", "cc", "memory");           \
        r->vector = fault_end();                                                              \
        r->flags = flags;                                                                     \
        r->next_ran = marker == 1;                                                            \
    }
#define SSE_IN  "movdqu (%%rdi), %%xmm0"
#define SSE_OUT "movdqu %%xmm0, (%%rdx)"
#define AVX_IN  "vmovdqu (%%rdi), %%ymm0"
#define AVX_OUT "vmovdqu %%ymm0, (%%rdx)"
/* Each SSE form twice: observed through XMM0, or through all of YMM0 when AVX is on. */
#define SSE_OP(n, insn) VOP(n##_x, SSE_IN, insn, SSE_OUT) VOP(n##_y, AVX_IN, insn, AVX_OUT)

SSE_OP(movd_load, "movd (%%rsi), %%xmm0")
SSE_OP(movd_store, "movd %%xmm0, (%%rsi)")
SSE_OP(movq_load, "movq (%%rsi), %%xmm0")                               /* F3 0F 7E */
SSE_OP(movq_load_6e, ".byte 0x66, 0x48, 0x0f, 0x6e, 0x06")               /* 66 REX.W 0F 6E: movq xmm0, [rsi] */
SSE_OP(movq_store, "movq %%xmm0, (%%rsi)")                              /* 66 0F D6 */
SSE_OP(movq_store_7e, ".byte 0x66, 0x48, 0x0f, 0x7e, 0x06")              /* 66 REX.W 0F 7E: movq [rsi], xmm0 */
SSE_OP(movdqu_load, "movdqu (%%rsi), %%xmm0")
SSE_OP(movdqu_store, "movdqu %%xmm0, (%%rsi)")
SSE_OP(movdqa_load, "movdqa (%%rsi), %%xmm0")
SSE_OP(movdqa_store, "movdqa %%xmm0, (%%rsi)")
SSE_OP(movups_load, "movups (%%rsi), %%xmm0")
SSE_OP(movups_store, "movups %%xmm0, (%%rsi)")
SSE_OP(movaps_load, "movaps (%%rsi), %%xmm0")
SSE_OP(movaps_store, "movaps %%xmm0, (%%rsi)")
VOP(vmovdqu128_load, AVX_IN, "vmovdqu (%%rsi), %%xmm0", AVX_OUT)
VOP(vmovdqu128_store, AVX_IN, "vmovdqu %%xmm0, (%%rsi)", AVX_OUT)
VOP(vmovdqu256_load, AVX_IN, "vmovdqu (%%rsi), %%ymm0", AVX_OUT)
VOP(vmovdqu256_store, AVX_IN, "vmovdqu %%ymm0, (%%rsi)", AVX_OUT)

struct vec_form {
    const char *name;
    vec_fn sse, avx;                   /* without / with AVX enabled; sse 0: needs AVX */
    unsigned store_bytes;              /* bytes a store writes, 0 for a load */
};

static const struct vec_form forms[] = {
    { "movd xmm, m32 (66 0F 6E)", movd_load_x, movd_load_y, 0 },
    { "movd m32, xmm (66 0F 7E)", movd_store_x, movd_store_y, 4 },
    { "movq xmm, m64 (F3 0F 7E)", movq_load_x, movq_load_y, 0 },
    { "movq xmm, m64 (66 REX.W 0F 6E)", movq_load_6e_x, movq_load_6e_y, 0 },
    { "movq m64, xmm (66 0F D6)", movq_store_x, movq_store_y, 8 },
    { "movq m64, xmm (66 REX.W 0F 7E)", movq_store_7e_x, movq_store_7e_y, 8 },
    { "movdqu xmm, m128", movdqu_load_x, movdqu_load_y, 0 },
    { "movdqu m128, xmm", movdqu_store_x, movdqu_store_y, 16 },
    { "movdqa xmm, m128", movdqa_load_x, movdqa_load_y, 0 },
    { "movdqa m128, xmm", movdqa_store_x, movdqa_store_y, 16 },
    { "movups xmm, m128", movups_load_x, movups_load_y, 0 },
    { "movups m128, xmm", movups_store_x, movups_store_y, 16 },
    { "movaps xmm, m128", movaps_load_x, movaps_load_y, 0 },
    { "movaps m128, xmm", movaps_store_x, movaps_store_y, 16 },
    { "vmovdqu xmm, m128 (VEX.128)", 0, vmovdqu128_load, 0 },
    { "vmovdqu m128, xmm (VEX.128)", 0, vmovdqu128_store, 16 },
    { "vmovdqu ymm, m256 (VEX.256)", 0, vmovdqu256_load, 0 },
    { "vmovdqu m256, ymm (VEX.256)", 0, vmovdqu256_store, 32 },
};

static uint8_t ram_area[AREA] __attribute__((aligned(64)));
static struct vec_regs ref, got;

static bool same_bytes(const uint8_t *a, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

static uint64_t word(const uint8_t *p, unsigned i)
{
    uint64_t v = 0;
    for (unsigned b = 0; b < 8; b++)
        v |= (uint64_t)p[8 * i + b] << (8 * b);
    return v;
}

static void run_form(const struct vec_form *f, bool avx, uint64_t bus_area)
{
    vec_fn fn = avx ? f->avx : f->sse;
    unsigned observed = avx ? VEC_BYTES : 16;
    for (unsigned i = 0; i < AREA; i++)
        ram_area[i] = 0xFF;
    for (unsigned i = 0; i < VEC_BYTES; i++) {
        ref.in[i] = got.in[i] = (uint8_t)(0x10 + i);
        ref.out[i] = got.out[i] = 0;
    }
    ref.flags = got.flags = FLAGS_IN;
    fn((uint64_t)(uintptr_t)(ram_area + OPERAND_AT), &ref);
    fn(bus_area + OPERAND_AT, &got);
    bool bus_ones = bus_all_ones(bus_area, AREA);
    bool stored_on_ram = f->store_bytes == 0 || same_bytes(ram_area + OPERAND_AT, ref.in, f->store_bytes);
    bool ok = ref.vector == FAULT_NONE && got.vector == FAULT_NONE && ref.next_ran && got.next_ran &&
              same_bytes(ref.out, got.out, observed) && (ref.flags & RFLAGS_ARITH) == (got.flags & RFLAGS_ARITH) &&
              bus_ones && stored_on_ram;
    if (tap_check(ok, "empty bus: %s acts as on RAM reading all ones%s", f->name, avx ? " (YMM0 observed)" : ""))
        return;
    tap_diag("RAM (the CPU): %s, register %016lx%016lx..., flags 0x%lx%s", fault_name(ref.vector), word(ref.out, 1),
             word(ref.out, 0), (uint64_t)(ref.flags & RFLAGS_ARITH),
             stored_on_ram ? "" : ", the store did not reach RAM");
    tap_diag("empty bus: %s%s, register %016lx%016lx..., flags 0x%lx, bus %s", fault_name(got.vector),
             got.next_ran ? "" : " (next instruction skipped)", word(got.out, 1), word(got.out, 0),
             (uint64_t)(got.flags & RFLAGS_ARITH), bus_ones ? "still all ones" : "NOT all ones");
}

void suite_empty_bus_simd(const struct suite_env *env)
{
    if (env->empty_bus == 0 || !cpuid1_edx(CPUID1_EDX_SSE2)) {
        tap_skip("empty bus: SSE/AVX moves", env->empty_bus ? "no SSE2" : "RAM reaches the end of our page tables");
        return;
    }
    uint64_t cr4 = read_cr4();
    bool xsave = cpuid1_ecx(CPUID1_ECX_XSAVE);
    uint64_t want_cr4 = cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT | (xsave ? CR4_OSXSAVE : 0);
    if (!tap_check(write_cr4_checked(want_cr4) == FAULT_NONE,
                   "empty bus: CR4.OSFXSR/OSXMMEXCPT/OSXSAVE can be set for SSE/AVX"))
        return;
    uint64_t xcr0 = xsave ? xgetbv(0) : 0;
    bool avx = xsave && cpuid1_ecx(CPUID1_ECX_AVX) &&
               xsetbv_checked(0, XCR0_X87 | XCR0_SSE | XCR0_AVX) == FAULT_NONE;
    uint64_t bus_area = env->empty_bus + BUS_OFFSET;
    for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const struct vec_form *f = &forms[i];
        if (avx)
            run_form(f, true, bus_area);
        else if (f->sse)
            run_form(f, false, bus_area);
        else
            tap_skipf("AVX not available", "empty bus: %s acts as on RAM reading all ones", f->name);
    }
    if (xsave)
        xsetbv_checked(0, xcr0);
    write_cr4_checked(cr4);
}
