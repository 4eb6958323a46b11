/* Port I/O outside the devices: a port nobody claims reads all ones and drops writes, and the
 * string forms (INS/OUTS with REP, both directions) move RSI/RDI/RCX the way the CPU does. */
#include <stdbool.h>
#include "console.h"
#include "cpu.h"
#include "suite.h"
#include "tap.h"

#define PORT_UNCLAIMED 0x0E0

/* REP INS/OUTS of `size`-byte units, DF=1 when `down`; the registers come back updated. */
#define DEFINE_REP_STRING_IO(name, insn, ptr_reg)                                                  \
    static void name(unsigned size, bool down, uint16_t port, uint64_t *ptr, uint64_t *count)     \
    {                                                                                             \
        switch (size * 2 + down) {                                                                \
        case 2: asm volatile("rep " insn "b" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        case 3: asm volatile("std; rep " insn "b; cld" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        case 4: asm volatile("rep " insn "w" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        case 5: asm volatile("std; rep " insn "w; cld" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        case 8: asm volatile("rep " insn "l" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        case 9: asm volatile("std; rep " insn "l; cld" : "+" ptr_reg(*ptr), "+c"(*count) : "d"(port) : "memory"); break; \
        }                                                                                         \
    }
DEFINE_REP_STRING_IO(rep_ins, "ins", "D")
DEFINE_REP_STRING_IO(rep_outs, "outs", "S")

static void check_unclaimed_port(void)
{
    uint8_t b = inb(PORT_UNCLAIMED);
    uint16_t w = inw(PORT_UNCLAIMED);
    uint32_t l = inl(PORT_UNCLAIMED);
    if (!tap_check(b == 0xFF, "port 0x%x: inb reads 0xFF", PORT_UNCLAIMED))
        tap_diag("read 0x%x", b);
    if (!tap_check(w == 0xFFFF, "port 0x%x: inw reads 0xFFFF", PORT_UNCLAIMED))
        tap_diag("read 0x%x", w);
    if (!tap_check(l == 0xFFFFFFFFu, "port 0x%x: inl reads 0xFFFFFFFF", PORT_UNCLAIMED))
        tap_diag("read 0x%x", l);
    outb(PORT_UNCLAIMED, 0x12);
    outw(PORT_UNCLAIMED, 0x3456);
    outl(PORT_UNCLAIMED, 0x789abcde);
    uint32_t after = inl(PORT_UNCLAIMED);
    if (!tap_check(after == 0xFFFFFFFFu, "port 0x%x: writes have no effect", PORT_UNCLAIMED))
        tap_diag("read 0x%x after writing", after);
}

static void check_rep_ins(unsigned size, bool down)
{
    uint8_t buf[64] = { 0 };
    const unsigned first = 16, bytes = 16;
    uint64_t start = (uint64_t)(uintptr_t)(buf + (down ? first + bytes - size : first));
    uint64_t rdi = start, rcx = bytes / size;
    rep_ins(size, down, PORT_UNCLAIMED, &rdi, &rcx);
    uint64_t want_rdi = down ? (uint64_t)(uintptr_t)(buf + first - size) : (uint64_t)(uintptr_t)(buf + first + bytes);
    unsigned wrong = 0;
    for (unsigned i = 0; i < sizeof(buf); i++)
        wrong += buf[i] != (i >= first && i < first + bytes ? 0xFF : 0x00);
    if (!tap_check(wrong == 0 && rdi == want_rdi && rcx == 0, "string I/O: rep ins%c DF=%d fills 16 bytes with 0xFF",
                   size == 1 ? 'b' : size == 2 ? 'w' : 'd', down))
        tap_diag("%u bytes wrong, RDI moved by %ld (want %ld), RCX=%lu", wrong, (int64_t)(rdi - start),
                 (int64_t)(want_rdi - start), rcx);
}

static void check_rep_outsb_console(bool down)
{
    static const char message[] = "# rep outsb: this line reached COM1 through string I/O, DF=0\n";
    const uint64_t len = sizeof(message) - 1;
    char text[sizeof(message)], buf[sizeof(message)];
    for (uint64_t i = 0; i < len; i++)
        text[i] = message[i];
    text[len - 2] = down ? '1' : '0';     /* the digit of "DF=0" */
    /* With DF=1 the bytes go out last to first, so send them from a reversed copy. */
    for (uint64_t i = 0; i < len; i++)
        buf[i] = down ? text[len - 1 - i] : text[i];
    uint64_t start = (uint64_t)(uintptr_t)(down ? buf + len - 1 : buf);
    uint64_t rsi = start, rcx = len;
    rep_outs(1, down, COM1_PORT, &rsi, &rcx);
    uint64_t want = down ? start - len : start + len;
    if (!tap_check(rsi == want && rcx == 0, "string I/O: rep outsb DF=%d to COM1 advances RSI and RCX (line above)", down))
        tap_diag("RSI moved by %ld (want %ld), RCX=%lu", (int64_t)(rsi - start), (int64_t)(want - start), rcx);
}

static void check_rep_outs_dropped(unsigned size, bool down)
{
    static const uint32_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint64_t count = 4;
    uint64_t start = (uint64_t)(uintptr_t)data + (down ? 4 * sizeof(data[0]) : 0);
    uint64_t rsi = start, rcx = count;
    rep_outs(size, down, PORT_UNCLAIMED, &rsi, &rcx);
    uint64_t want = down ? start - count * size : start + count * size;
    if (!tap_check(rsi == want && rcx == 0 && inl(PORT_UNCLAIMED) == 0xFFFFFFFFu,
                   "string I/O: rep outs%c DF=%d to port 0x%x is dropped, RSI/RCX advance",
                   size == 2 ? 'w' : 'd', down, PORT_UNCLAIMED))
        tap_diag("RSI moved by %ld (want %ld), RCX=%lu", (int64_t)(rsi - start), (int64_t)(want - start), rcx);
}

void suite_ports(const struct suite_env *env)
{
    (void)env;
    check_unclaimed_port();
    check_rep_outsb_console(false);
    check_rep_outsb_console(true);
    for (unsigned size = 1; size <= 4; size *= 2) {
        check_rep_ins(size, false);
        check_rep_ins(size, true);
    }
    check_rep_outs_dropped(2, false);
    check_rep_outs_dropped(4, true);
}
