/* The empty bus above RAM: every memory instruction form Tessera's emulator decodes, aimed at a
 * guest-physical address no RAM or device backs. Loads read all ones (then sized, zero- or
 * sign-extended as the instruction says), stores vanish, string forms still move RSI/RDI/RCX. */
#include <stdbool.h>
#include "suite.h"
#include "tap.h"

/* moffs forms carry the address as an immediate: the default empty-bus address, spelled out. */
#define EMPTY_BUS_MOFFS     0x100001000ull
#define EMPTY_BUS_MOFFS_STR "0x100001000"

#define ONES UINT64_MAX

static void expect_value(const char *what, uint64_t got, uint64_t want)
{
    if (!tap_check(got == want, "empty bus: %s", what))
        tap_diag("got 0x%lx, want 0x%lx", got, want);
}

uint64_t bus_load64(uint64_t addr)
{
    uint64_t v;
    asm volatile("movq (%1), %0" : "=r"(v) : "r"(addr) : "memory");
    return v;
}

static void check_loads(uint64_t bus)
{
    uint64_t v = 0x1122334455667700ull;
    asm volatile("movb (%1), %%al" : "+a"(v) : "S"(bus) : "memory");
    expect_value("mov al, [mem] reads 0xFF, keeps the rest of RAX", v, 0x11223344556677FFull);
    v = 0x1122334455660000ull;
    asm volatile("movw (%1), %%ax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("mov ax, [mem] reads 0xFFFF, keeps the rest of RAX", v, 0x112233445566FFFFull);
    v = 0x1122334455667788ull;
    asm volatile("movl (%1), %%eax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("mov eax, [mem] reads 0xFFFFFFFF, zero-extended", v, 0xFFFFFFFFull);
    v = 0;
    asm volatile("movq (%1), %%rax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("mov rax, [mem] reads all ones", v, ONES);
    v = 0;
    asm volatile("movq (%1), %%r13\n\tmovq %%r13, %0" : "+r"(v) : "S"(bus) : "r13", "memory");
    expect_value("mov r13, [mem] (REX.R) reads all ones", v, ONES);
    v = 0x1122334455667788ull;
    asm volatile("movb (%1), %%ah" : "+a"(v) : "S"(bus) : "memory");
    expect_value("mov ah, [mem] reads 0xFF into bits 15:8 only", v, 0x112233445566FF88ull);
}

static void check_extending_loads(uint64_t bus)
{
    uint64_t v = 0x1122334455667788ull;
    asm volatile("movzbl (%1), %%eax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("movzx eax, byte [mem] gives 0xFF", v, 0xFF);
    v = 0x1122334455667788ull;
    asm volatile("movzwq (%1), %%rax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("movzx rax, word [mem] gives 0xFFFF", v, 0xFFFF);
    v = 0;
    asm volatile("movsbq (%1), %%rax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("movsx rax, byte [mem] gives -1", v, ONES);
    v = 0x1122334455667788ull;
    asm volatile("movswl (%1), %%eax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("movsx eax, word [mem] gives 0xFFFFFFFF, zero-extended", v, 0xFFFFFFFFull);
    v = 0;
    asm volatile("movslq (%1), %%rax" : "+a"(v) : "S"(bus) : "memory");
    expect_value("movsxd rax, dword [mem] gives -1", v, ONES);
}

static void check_stores(uint64_t bus)
{
    uint64_t zero = 0;
    asm volatile("movb %%al, (%1)" :: "a"(zero), "S"(bus) : "memory");
    expect_value("mov [mem], al is dropped", bus_load64(bus), ONES);
    asm volatile("movw %%ax, (%1)" :: "a"(zero), "S"(bus) : "memory");
    expect_value("mov [mem], ax is dropped", bus_load64(bus), ONES);
    asm volatile("movl %%eax, (%1)" :: "a"(zero), "S"(bus) : "memory");
    expect_value("mov [mem], eax is dropped", bus_load64(bus), ONES);
    asm volatile("movq %%rax, (%1)" :: "a"(zero), "S"(bus) : "memory");
    expect_value("mov [mem], rax is dropped", bus_load64(bus), ONES);
    asm volatile("movb %%ah, (%1)" :: "a"(zero), "S"(bus + 1) : "memory");
    expect_value("mov [mem], ah is dropped", bus_load64(bus), ONES);
    asm volatile("movq %%rax, %%r10\n\tmovb %%r10b, (%1)" :: "a"(zero), "S"(bus + 2) : "r10", "memory");
    expect_value("mov [mem], r10b (REX) is dropped", bus_load64(bus), ONES);
    asm volatile("movb $0x12, (%0)" :: "S"(bus) : "memory");
    expect_value("mov byte [mem], imm8 is dropped", bus_load64(bus), ONES);
    asm volatile("movw $0x1234, (%0)" :: "S"(bus) : "memory");
    expect_value("mov word [mem], imm16 is dropped", bus_load64(bus), ONES);
    asm volatile("movl $0x12345678, (%0)" :: "S"(bus) : "memory");
    expect_value("mov dword [mem], imm32 is dropped", bus_load64(bus), ONES);
    asm volatile("movq $-2, (%0)" :: "S"(bus) : "memory");
    expect_value("mov qword [mem], imm32 sign-extended is dropped", bus_load64(bus), ONES);
}

static void check_moffs(uint64_t bus)
{
    if (bus != EMPTY_BUS_MOFFS) {
        tap_skip("empty bus: moffs forms", "RAM reaches above 4 GiB");
        return;
    }
    uint64_t v = 0x1122334455667700ull;
    asm volatile("movabs " EMPTY_BUS_MOFFS_STR ", %%al" : "+a"(v) :: "memory");
    expect_value("movabs al, [moffs64] reads 0xFF", v, 0x11223344556677FFull);
    v = 0x1122334455667788ull;
    asm volatile("movabs " EMPTY_BUS_MOFFS_STR ", %%eax" : "+a"(v) :: "memory");
    expect_value("movabs eax, [moffs64] reads 0xFFFFFFFF, zero-extended", v, 0xFFFFFFFFull);
    v = 0;
    asm volatile("movabs " EMPTY_BUS_MOFFS_STR ", %%rax" : "+a"(v) :: "memory");
    expect_value("movabs rax, [moffs64] reads all ones", v, ONES);
    asm volatile("movabs %%al, " EMPTY_BUS_MOFFS_STR :: "a"(0) : "memory");
    expect_value("movabs [moffs64], al is dropped", bus_load64(bus), ONES);
    asm volatile("movabs %%rax, " EMPTY_BUS_MOFFS_STR :: "a"(0) : "memory");
    expect_value("movabs [moffs64], rax is dropped", bus_load64(bus), ONES);
}

static void expect_string(const char *what, bool memory_ok, uint64_t rdi, uint64_t want_rdi,
                          uint64_t rsi, uint64_t want_rsi, uint64_t rcx, uint64_t want_rcx)
{
    if (!tap_check(memory_ok && rdi == want_rdi && rsi == want_rsi && rcx == want_rcx, "empty bus: %s", what))
        tap_diag("memory %s, RDI 0x%lx (want 0x%lx), RSI 0x%lx (want 0x%lx), RCX %lu (want %lu)",
                 memory_ok ? "as expected" : "WRONG", rdi, want_rdi, rsi, want_rsi, rcx, want_rcx);
}

bool bus_all_ones(uint64_t from, unsigned bytes)
{
    for (unsigned off = 0; off < bytes; off += 8) {
        if (bus_load64(from + off) != ONES)
            return false;
    }
    return true;
}

static void check_stos(uint64_t bus)
{
    uint64_t at = bus + 0x100, rdi, rcx = 7;
    rdi = at;
    asm volatile("stosb" : "+D"(rdi) : "a"(0) : "memory");
    expect_string("stosb is dropped, RDI += 1", bus_all_ones(at, 8), rdi, at + 1, 0, 0, 0, 0);
    rdi = at;
    asm volatile("stosw" : "+D"(rdi) : "a"(0) : "memory");
    expect_string("stosw is dropped, RDI += 2", bus_all_ones(at, 8), rdi, at + 2, 0, 0, 0, 0);
    rdi = at;
    asm volatile("stosl" : "+D"(rdi) : "a"(0) : "memory");
    expect_string("stosd is dropped, RDI += 4", bus_all_ones(at, 8), rdi, at + 4, 0, 0, 0, 0);
    rdi = at;
    asm volatile("stosq" : "+D"(rdi) : "a"(0) : "memory");
    expect_string("stosq is dropped, RDI += 8", bus_all_ones(at, 8), rdi, at + 8, 0, 0, 0, 0);

    rdi = at, rcx = 16;
    asm volatile("rep stosb" : "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
    expect_string("rep stosb x16 is dropped, RDI += 16, RCX = 0", bus_all_ones(at, 16), rdi, at + 16, 0, 0, rcx, 0);
    rdi = at, rcx = 8;
    asm volatile("rep stosq" : "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
    expect_string("rep stosq x8 is dropped, RDI += 64, RCX = 0", bus_all_ones(at, 64), rdi, at + 64, 0, 0, rcx, 0);
    at = bus + 0x800;
    rdi = at, rcx = 4;
    asm volatile("std\n\trep stosl\n\tcld" : "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
    expect_string("rep stosd x4 with DF=1 is dropped, RDI -= 16", bus_all_ones(at - 16, 24), rdi, at - 16, 0, 0, rcx, 0);
    rdi = at, rcx = 0;
    asm volatile("rep stosw" : "+D"(rdi), "+c"(rcx) : "a"(0) : "memory");
    expect_string("rep stosw with RCX = 0 changes nothing", bus_all_ones(at, 8), rdi, at, 0, 0, rcx, 0);
}

static bool ram_bytes_are(const uint8_t *p, unsigned n, uint8_t v)
{
    for (unsigned i = 0; i < n; i++) {
        if (p[i] != v)
            return false;
    }
    return true;
}

static void check_movs(uint64_t bus)
{
    uint8_t ram[96];
    uint64_t from = bus + 0x200, ram_at = (uint64_t)(uintptr_t)(ram + 16), rsi, rdi, rcx;

    for (unsigned i = 0; i < sizeof(ram); i++) ram[i] = 0;
    rsi = from, rdi = ram_at;
    asm volatile("movsb" : "+S"(rsi), "+D"(rdi) :: "memory");
    expect_string("movsb bus -> RAM stores 0xFF", ram_bytes_are(ram + 16, 1, 0xFF) && ram_bytes_are(ram + 17, 8, 0),
                  rdi, ram_at + 1, rsi, from + 1, 0, 0);

    for (unsigned i = 0; i < sizeof(ram); i++) ram[i] = 0;
    rsi = from, rdi = ram_at, rcx = 8;
    asm volatile("rep movsq" : "+S"(rsi), "+D"(rdi), "+c"(rcx) :: "memory");
    expect_string("rep movsq x8 bus -> RAM fills 64 bytes with 0xFF",
                  ram_bytes_are(ram, 16, 0) && ram_bytes_are(ram + 16, 64, 0xFF) && ram_bytes_are(ram + 80, 16, 0),
                  rdi, ram_at + 64, rsi, from + 64, rcx, 0);

    for (unsigned i = 0; i < sizeof(ram); i++) ram[i] = 0;
    rsi = from + 15, rdi = ram_at + 15, rcx = 16;
    asm volatile("std\n\trep movsb\n\tcld" : "+S"(rsi), "+D"(rdi), "+c"(rcx) :: "memory");
    expect_string("rep movsb x16 with DF=1 bus -> RAM fills 16 bytes with 0xFF",
                  ram_bytes_are(ram, 16, 0) && ram_bytes_are(ram + 16, 16, 0xFF) && ram_bytes_are(ram + 32, 64, 0),
                  rdi, ram_at - 1, rsi, from - 1, rcx, 0);

    for (unsigned i = 0; i < sizeof(ram); i++) ram[i] = (uint8_t)i;
    uint64_t to = bus + 0x300;
    rsi = ram_at, rdi = to, rcx = 16;
    asm volatile("rep movsb" : "+S"(rsi), "+D"(rdi), "+c"(rcx) :: "memory");
    expect_string("rep movsb x16 RAM -> bus is dropped", bus_all_ones(to, 16), rdi, to + 16, rsi, ram_at + 16, rcx, 0);

    rsi = ram_at + 24, rdi = to + 24, rcx = 4;
    asm volatile("std\n\trep movsq\n\tcld" : "+S"(rsi), "+D"(rdi), "+c"(rcx) :: "memory");
    expect_string("rep movsq x4 with DF=1 RAM -> bus is dropped", bus_all_ones(to, 32) && ram[16] == 16,
                  rdi, to - 8, rsi, ram_at - 8, rcx, 0);
}

void suite_empty_bus(const struct suite_env *env)
{
    if (env->empty_bus == 0) {
        tap_skip("empty bus: all instruction forms", "RAM reaches the end of our page tables");
        return;
    }
    check_loads(env->empty_bus);
    check_extending_loads(env->empty_bus);
    check_stores(env->empty_bus);
    check_moffs(env->empty_bus);
    check_stos(env->empty_bus);
    check_movs(env->empty_bus);
}
