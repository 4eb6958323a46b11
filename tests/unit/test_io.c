/* Tests for I/O-instruction exits and the port space: IN/OUT widths and RAX merging, the UART
 * behind 0x3F8, debug-exit status, the Bochs "Shutdown" sequence, the empty bus, INS/OUTS
 * (address sizes, segments, direction flag, REP batching, page faults, page-crossing elements),
 * and the I/O and data breakpoints those accesses hit (REP stopping after the iteration). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/ports.h"
#include "exit/debug_events.h"
#include "exit/handlers.h"
#include "hypercall.h"
#include "test_guest_helpers.h"

#define RAM_SIZE (1u << 20)

#define Q_IN     (1u << 3)
#define Q_STRING (1u << 4)
#define Q_REP    (1u << 5)
#define Q_SIZE(n) ((n) == 1 ? 0u : (n) == 2 ? 1u : 3u)
#define Q_PORT(p) ((uint32_t)(p) << 16)

#define INFO_ADDR16 (0u << 7)
#define INFO_ADDR32 (1u << 7)
#define INFO_ADDR64 (2u << 7)
#define INFO_SEG(s) ((uint32_t)(s) << 15)
enum { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5 };

static struct vm *vm;
static struct vcpu *vcpu;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("io", RAM_SIZE);
    vcpu = test_vcpu(vm);
    memset(host_debug_regs, 0, sizeof(host_debug_regs));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static enum exit_result io_exit(uint32_t qual)
{
    vmcs_write(VMCS_EXIT_QUALIFICATION, qual);
    return exit_handle_io(vcpu);
}

static enum exit_result out_port(uint16_t port, unsigned size, uint64_t rax)
{
    vcpu->gpr[REG_RAX] = rax;
    return io_exit(Q_SIZE(size) | Q_PORT(port));
}

static enum exit_result in_port(uint16_t port, unsigned size, uint64_t rax)
{
    vcpu->gpr[REG_RAX] = rax;
    return io_exit(Q_SIZE(size) | Q_IN | Q_PORT(port));
}

/* ---- IN / OUT ---- */

static void test_out_to_uart_prints_line(void **state)
{
    (void)state;
    assert_int_equal(out_port(PORT_COM1, 1, 0xFFFFFF00 | 'h'), EXIT_ADVANCE);
    assert_int_equal(out_port(PORT_COM1, 1, 'i'), EXIT_ADVANCE);
    assert_string_equal(host_console(), "");
    assert_int_equal(out_port(PORT_COM1, 1, '\n'), EXIT_ADVANCE);
    assert_string_equal(host_console(), "[io] hi\n");
    assert_false(soft_vmcs_written(VMCS_GUEST_RIP));     /* the dispatcher advances RIP */
}

static void test_in_byte_and_word_merge_into_rax(void **state)
{
    (void)state;
    assert_int_equal(in_port(PORT_COM1 + 5, 1, 0x1122334455667788ull), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0x1122334455667760ull);   /* LSR = 0x60 */
    assert_int_equal(in_port(0x1234, 2, 0x1122334455667788ull), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0x112233445566FFFFull);
}

static void test_in_dword_zero_extends(void **state)
{
    (void)state;
    assert_int_equal(in_port(0x1234, 4, 0x1122334455667788ull), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFFFFFFFFull);
}

static void test_wide_uart_access_touches_consecutive_registers(void **state)
{
    (void)state;
    /* 16-bit OUT at LCR: LCR gets the low byte, MCR the high byte. */
    assert_int_equal(out_port(PORT_COM1 + 3, 2, 0x1003), EXIT_ADVANCE);
    assert_int_equal(vm->uart.lcr, 0x03);
    assert_int_equal(vm->uart.mcr, 0x10);
    /* 32-bit IN at LSR: LSR, MSR (loopback, all lines low), SCR, then 0x400 (empty bus). */
    vm->uart.scr = 0x5A;
    assert_int_equal(in_port(PORT_COM1 + 5, 4, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFF5A0060ull);
}

static void test_unclaimed_ports(void **state)
{
    (void)state;
    assert_int_equal(in_port(0x80, 1, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFF);
    assert_int_equal(in_port(0xCFC, 4, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFFFFFFFFull);
    assert_int_equal(out_port(0x80, 4, 0x12345678), EXIT_ADVANCE);
    assert_int_equal(out_port(0xFFFF, 4, 0x12345678), EXIT_ADVANCE);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_string_equal(host_console(), "");
}

static void test_debug_exit_zero_is_success(void **state)
{
    (void)state;
    assert_int_equal(out_port(PORT_DEBUG_EXIT, 1, 0), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_EXIT_CODE);
    assert_int_equal(vm->exit_code, 1);
    assert_true(vm_succeeded(vm));
}

static void test_debug_exit_status_encoding(void **state)
{
    (void)state;
    /* A byte write uses only AL. */
    assert_int_equal(out_port(PORT_DEBUG_EXIT, 1, 0x1234), EXIT_STOP);
    assert_int_equal(vm->exit_code, (0x34u << 1) | 1);
    assert_false(vm_succeeded(vm));
}

static void test_debug_exit_port_masks_to_size(void **state)
{
    (void)state;
    assert_int_equal(port_out(vm, PORT_DEBUG_EXIT, 2, 0xABCD1234u), EXIT_STOP);
    assert_int_equal(vm->exit_code, (0x1234u << 1) | 1);
}

static void test_debug_exit_dword(void **state)
{
    (void)state;
    assert_int_equal(out_port(PORT_DEBUG_EXIT, 4, 0xFFFFFFFF00001234ull), EXIT_STOP);
    assert_int_equal(vm->exit_code, (0x1234u << 1) | 1);
    assert_int_equal(vm->state, VM_ENDED);
}

static void test_debug_exit_read_is_all_ones(void **state)
{
    (void)state;
    assert_int_equal(in_port(PORT_DEBUG_EXIT, 2, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFFFF);
    assert_int_equal(vm->state, VM_RUNNING);
}

static enum exit_result send_shutdown_bytes(const char *s)
{
    enum exit_result r = EXIT_ADVANCE;
    for (; *s; s++) {
        r = out_port(PORT_BOCHS_SHUTDOWN, 1, (uint8_t)*s);
        if (r == EXIT_STOP)
            break;
    }
    return r;
}

static void test_shutdown_sequence(void **state)
{
    (void)state;
    assert_int_equal(send_shutdown_bytes("Shutdow"), EXIT_ADVANCE);
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(send_shutdown_bytes("n"), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_SHUTDOWN);
    assert_true(vm_succeeded(vm));
}

static void test_shutdown_wrong_byte_resets(void **state)
{
    (void)state;
    assert_int_equal(send_shutdown_bytes("ShutXdown"), EXIT_ADVANCE);
    assert_int_equal(send_shutdown_bytes("hutdown"), EXIT_ADVANCE);
    assert_int_equal(vm->state, VM_RUNNING);
    /* A stray 'S' starts a new match. */
    assert_int_equal(send_shutdown_bytes("ShuShutdown"), EXIT_STOP);
    assert_int_equal(vm->outcome, OUTCOME_SHUTDOWN);
}

static void test_shutdown_read_is_all_ones(void **state)
{
    (void)state;
    assert_int_equal(in_port(PORT_BOCHS_SHUTDOWN, 1, 0), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RAX], 0xFF);
}

static void test_port_functions_direct(void **state)
{
    (void)state;
    uint32_t v = 0;
    assert_int_equal(port_in(vm, 0x3FF, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0);                         /* SCR */
    assert_int_equal(port_out(vm, 0x3FF, 1, 0x77), EXIT_ADVANCE);
    assert_int_equal(port_in(vm, 0x3FF, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0x77);
    assert_int_equal(port_in(vm, 0x3FF, 2, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0xFF77);                    /* 0x400 is the empty bus */
}

/* ---- INS / OUTS ---- */

static enum exit_result string_exit(uint16_t port, unsigned size, int in, int rep, uint32_t info)
{
    vmcs_write(VMCS_EXIT_INSTR_INFO, info);
    return io_exit(Q_SIZE(size) | Q_STRING | (in ? Q_IN : 0) | (rep ? Q_REP : 0) | Q_PORT(port));
}

static void test_rep_outsb_to_uart(void **state)
{
    (void)state;
    memcpy(vm->ram + 0x1000, "abc\n", 4);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 4;
    assert_int_equal(string_exit(PORT_COM1, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_string_equal(host_console(), "[io] abc\n");
    assert_int_equal(vcpu->gpr[REG_RSI], 0x1004);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
}

static void test_outs_without_rep_moves_one_element(void **state)
{
    (void)state;
    memcpy(vm->ram + 0x1000, "xy", 2);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 77;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 'x');
    assert_int_equal(vcpu->gpr[REG_RSI], 0x1001);
    assert_int_equal(vcpu->gpr[REG_RCX], 77);
}

static void test_outs_uses_segment_base_and_override(void **state)
{
    (void)state;
    vm->ram[0x3000] = 0x11;
    vm->ram[0x5000] = 0x22;
    vmcs_write(VMCS_GUEST_DS_BASE, 0x2000);
    vmcs_write(VMCS_GUEST_FS_BASE, 0x4000);
    vcpu->gpr[REG_RSI] = 0x1000;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x11);
    vcpu->gpr[REG_RSI] = 0x1000;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR32 | INFO_SEG(FS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x22);
}

static void test_ins_always_uses_es(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_ES_BASE, 0x2000);
    vmcs_write(VMCS_GUEST_DS_BASE, 0x8000);
    vm->uart.scr = 0x99;
    vcpu->gpr[REG_RDI] = 0x10;
    /* The segment field is meaningless for INS; give it DS to prove it is ignored. */
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 1, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->ram[0x2010], 0x99);
    assert_int_equal(vm->ram[0x8010], 0);
    assert_int_equal(vcpu->gpr[REG_RDI], 0x11);
}

static void test_rep_insw_from_empty_bus(void **state)
{
    (void)state;
    vcpu->gpr[REG_RDI] = 0x100;
    vcpu->gpr[REG_RCX] = 3;
    assert_int_equal(string_exit(0x1234, 2, 1, 1, INFO_ADDR32), EXIT_ADVANCE);
    for (int i = 0; i < 6; i++)
        assert_int_equal(vm->ram[0x100 + i], 0xFF);
    assert_int_equal(vm->ram[0x106], 0);
    assert_int_equal(vcpu->gpr[REG_RDI], 0x106);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
}

static void test_direction_flag_steps_backwards(void **state)
{
    (void)state;
    memcpy(vm->ram + 0x1000, "\nih", 3);
    vmcs_write(VMCS_GUEST_RFLAGS, 0x2 | (1u << 10));
    vcpu->gpr[REG_RSI] = 0x1002;
    vcpu->gpr[REG_RCX] = 3;
    assert_int_equal(string_exit(PORT_COM1, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_string_equal(host_console(), "[io] hi\n");
    assert_int_equal(vcpu->gpr[REG_RSI], 0x0FFF);
}

static void test_address_size_16_wraps_and_keeps_upper_bits(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR0, 0x30);              /* real mode */
    vmcs_write(VMCS_GUEST_CS_AR, 0x9B);
    vm->ram[0xFFFF] = 0x41;
    vm->ram[0x0000] = 0x42;
    vcpu->gpr[REG_RDI] = 0;
    vcpu->gpr[REG_RSI] = 0xABCD0000FFFFull;
    vcpu->gpr[REG_RCX] = 0x7777000000000002ull;
    /* OUTSB twice to SCR: the last byte written is the one after the wrap. */
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR16 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x42);
    assert_int_equal(vcpu->gpr[REG_RSI], 0xABCD00000001ull);
    assert_int_equal(vcpu->gpr[REG_RCX], 0x7777000000000000ull);
}

static void test_address_size_32_uses_ecx_only(void **state)
{
    (void)state;
    vcpu->gpr[REG_RSI] = 0xFFFFFFFF00001000ull;
    vcpu->gpr[REG_RCX] = 0xFFFFFFFF00000002ull;
    memcpy(vm->ram + 0x1000, "Z\n", 2);
    assert_int_equal(string_exit(PORT_COM1, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_string_equal(host_console(), "[io] Z\n");
    /* 32-bit register writes zero-extend */
    assert_int_equal(vcpu->gpr[REG_RSI], 0x1002);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
}

static void test_rep_with_zero_count_does_nothing(void **state)
{
    (void)state;
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 0xFFFFFFFF00000000ull;  /* ECX = 0 */
    vm->ram[0x1000] = 'q';
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0);
    assert_int_equal(vcpu->gpr[REG_RSI], 0x1000);
    assert_int_equal(vcpu->gpr[REG_RCX], 0xFFFFFFFF00000000ull);
}

static void test_rep_batches_per_exit(void **state)
{
    (void)state;
    vcpu->gpr[REG_RSI] = 0x10000;
    vcpu->gpr[REG_RCX] = 5000;
    assert_true(IO_REP_BATCH <= 256);   /* one exit must stay a small part of a slice */
    unsigned exits = 0;
    for (uint64_t left = 5000; left > IO_REP_BATCH; left -= IO_REP_BATCH, exits++) {
        assert_int_equal(string_exit(0x80, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
        assert_int_equal(vcpu->gpr[REG_RCX], left - IO_REP_BATCH);
        assert_int_equal(vcpu->gpr[REG_RSI], 0x10000 + 5000 - (left - IO_REP_BATCH));
        vcpu_commit_events(vcpu);
        assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);      /* no fault injected */
    }
    assert_int_equal(exits, (5000 - 1) / IO_REP_BATCH);
    assert_int_equal(string_exit(0x80, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
    assert_int_equal(vcpu->gpr[REG_RSI], 0x10000 + 5000);
}

static void test_rep_outs_to_debug_exit_stops(void **state)
{
    (void)state;
    vm->ram[0x1000] = 3;
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 10;
    assert_int_equal(string_exit(PORT_DEBUG_EXIT, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->exit_code, 7);
}

static void test_string_io_beyond_ram_uses_empty_bus(void **state)
{
    (void)state;
    vcpu->gpr[REG_RSI] = RAM_SIZE + 0x100;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0xFF);
    vcpu->gpr[REG_RDI] = 0xFFFFFFF0ull;          /* INS into nothing: dropped, no crash */
    assert_int_equal(string_exit(PORT_COM1 + 7, 4, 1, 0, INFO_ADDR32), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RDI], 0xFFFFFFF4ull);
}

/* 32-bit paging: page directory at 0x10000, one page table at 0x11000 covering 0-4 MiB. */
#define PD 0x10000u
#define PT 0x11000u
static void map_page(uint32_t linear, uint32_t gpa)
{
    uint32_t pde = PT | 0x3, pte = gpa | 0x3;
    memcpy(vm->ram + PD, &pde, 4);
    memcpy(vm->ram + PT + 4 * (linear >> 12), &pte, 4);
}

static void enable_paging32(void)
{
    vmcs_write(VMCS_GUEST_CR0, 0x80000031ull);
    vmcs_write(VMCS_GUEST_CR3, PD);
}

static void test_outs_faults_mid_rep(void **state)
{
    (void)state;
    enable_paging32();
    map_page(0x1000, 0x1000);                       /* 0x2000 stays unmapped */
    memcpy(vm->ram + 0x1FFE, "ok", 2);
    vcpu->gpr[REG_RSI] = 0x1FFE;
    vcpu->gpr[REG_RCX] = 4;
    assert_int_equal(string_exit(PORT_COM1, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
    assert_int_equal(vcpu->gpr[REG_RSI], 0x2000);
    assert_int_equal(vcpu->gpr[REG_RCX], 2);
    assert_int_equal(vcpu->cr2, 0x2000);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);     /* not present, read, CPL 0 */
    uart_flush(&vm->uart);
    assert_string_equal(host_console(), "[io] ok\n");
}

static void test_ins_fault_leaves_registers_and_port(void **state)
{
    (void)state;
    enable_paging32();
    map_page(0x1000, 0x1000);
    vm->uart.loopback_ready = 1;                     /* a byte waits in RBR: must not be consumed */
    vm->uart.loopback_data = 0x33;
    vcpu->gpr[REG_RDI] = 0x5000;
    vcpu->gpr[REG_RCX] = 0xFFFFFFFF00000003ull;
    assert_int_equal(string_exit(PORT_COM1, 1, 1, 1, INFO_ADDR32), EXIT_CONTINUE);
    assert_int_equal(vcpu->gpr[REG_RDI], 0x5000);
    assert_int_equal(vcpu->gpr[REG_RCX], 0xFFFFFFFF00000003ull);
    assert_int_equal(vcpu->cr2, 0x5000);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x2);  /* write */
    assert_int_equal(vm->uart.loopback_ready, 1);
}

static void test_ins_element_crossing_pages(void **state)
{
    (void)state;
    enable_paging32();
    map_page(0x1000, 0x1000);
    map_page(0x2000, 0x5000);
    vm->uart.scr = 0x5A;
    vcpu->gpr[REG_RDI] = 0x1FFF;
    /* 16-bit IN at MSR (0xB0) and SCR (0x5A) */
    assert_int_equal(string_exit(PORT_COM1 + 6, 2, 1, 0, INFO_ADDR32), EXIT_ADVANCE);
    assert_int_equal(vm->ram[0x1FFF], 0xB0);
    assert_int_equal(vm->ram[0x5000], 0x5A);
    assert_int_equal(vm->ram[0x2000], 0);
    assert_int_equal(vcpu->gpr[REG_RDI], 0x2001);
}

static void test_outs_element_crossing_pages(void **state)
{
    (void)state;
    enable_paging32();
    map_page(0x1000, 0x1000);
    map_page(0x2000, 0x5000);
    vm->ram[0x1FFF] = 0x03;
    vm->ram[0x2000] = 0x1F;                          /* physically next, but not what is mapped */
    vm->ram[0x5000] = 0x0B;
    vcpu->gpr[REG_RSI] = 0x1FFF;
    /* 16-bit OUT at LCR: LCR gets the byte at 0x1FFF, MCR the byte at linear 0x2000 */
    assert_int_equal(string_exit(PORT_COM1 + 3, 2, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.lcr, 0x03);
    assert_int_equal(vm->uart.mcr, 0x0B);
    assert_int_equal(vcpu->gpr[REG_RSI], 0x2001);
}

/* 64-bit mode with 4-level paging, identity-mapping the first 2 MiB with one large page. */
static void enable_long_mode(void)
{
    uint64_t pml4e = 0x21000 | 0x3, pdpte = 0x22000 | 0x3, pde = 0x0 | 0x83;
    memcpy(vm->ram + 0x20000, &pml4e, 8);
    memcpy(vm->ram + 0x21000, &pdpte, 8);
    memcpy(vm->ram + 0x22000, &pde, 8);
    vmcs_write(VMCS_GUEST_CR0, 0x80000031ull);
    vmcs_write(VMCS_GUEST_CR4, 1u << 5);
    vmcs_write(VMCS_GUEST_CR3, 0x20000);
    vmcs_write(VMCS_GUEST_EFER, (1u << 8) | (1u << 10));
    vmcs_write(VMCS_GUEST_CS_AR, 0xA09B);
}

static void test_long_mode_ignores_ds_base_but_not_gs(void **state)
{
    (void)state;
    enable_long_mode();
    vm->ram[0x3000] = 0x61;
    vm->ram[0x7000] = 0x62;
    vmcs_write(VMCS_GUEST_DS_BASE, 0x4000);
    vmcs_write(VMCS_GUEST_GS_BASE, 0x4000);
    vcpu->gpr[REG_RSI] = 0x3000;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR64 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x61);
    vcpu->gpr[REG_RSI] = 0x3000;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 0, INFO_ADDR64 | INFO_SEG(GS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x62);
    assert_int_equal(vcpu->gpr[REG_RSI], 0x3001);
}

static void test_long_mode_rep_outsd(void **state)
{
    (void)state;
    enable_long_mode();
    uint32_t words[2] = { 0x11111111, 0x22222222 };
    memcpy(vm->ram + 0x3000, words, 8);
    vcpu->gpr[REG_RSI] = 0x3000;
    vcpu->gpr[REG_RCX] = 2;
    assert_int_equal(string_exit(PORT_COM1 + 7, 4, 0, 1, INFO_ADDR64 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vm->uart.scr, 0x22);            /* low byte of the last dword reached SCR */
    assert_int_equal(vcpu->gpr[REG_RSI], 0x3008);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
}

/* ---- I/O and data breakpoints hit by emulated port and string accesses ---- */

enum { BP_LEN1 = 0, BP_LEN2 = 1, BP_LEN4 = 3 };

static void set_breakpoint(unsigned n, uint64_t addr, unsigned rw, unsigned len)
{
    host_debug_regs[n] = addr;
    uint64_t dr7 = vmcs_read(VMCS_GUEST_DR7) | DR7_INIT | DR7_L(n);
    dr7 |= ((uint64_t)rw << (16 + 4 * n)) | ((uint64_t)len << (18 + 4 * n));
    vmcs_write(VMCS_GUEST_DR7, dr7);
}

static uint64_t rflags_rf(void)
{
    return vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_RF;
}

static void test_out_and_in_hit_io_breakpoint(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, CR4_DE);
    set_breakpoint(1, 0x80, DR7_RW_IO, BP_LEN1);
    assert_int_equal(out_port(0x80, 1, 0), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(1) | PENDING_DBG_ENABLED_BP);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_int_equal(in_port(0x7E, 4, 0), EXIT_ADVANCE);           /* ports 0x7E-0x81 */
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(1) | PENDING_DBG_ENABLED_BP);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_int_equal(out_port(0x81, 1, 0), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_io_breakpoint_off_without_cr4_de(void **state)
{
    (void)state;
    set_breakpoint(0, PORT_COM1 + 7, DR7_RW_IO, BP_LEN1);
    assert_int_equal(out_port(PORT_COM1 + 7, 1, 0x12), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_rep_outs_stops_after_first_iteration_on_io_breakpoint(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, CR4_DE);
    set_breakpoint(0, PORT_COM1 + 7, DR7_RW_IO, BP_LEN1);
    memcpy(vm->ram + 0x1000, "abcd", 4);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 4;
    /* The #DB comes between iterations: RIP stays on the REP, which resumes with RF set. */
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
    assert_int_equal(vm->uart.scr, 'a');
    assert_int_equal(vcpu->gpr[REG_RSI], 0x1001);
    assert_int_equal(vcpu->gpr[REG_RCX], 3);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(0) | PENDING_DBG_ENABLED_BP);
    assert_int_equal(rflags_rf(), RFLAGS_RF);
    vcpu_commit_events(vcpu);
    assert_false(soft_vmcs_written(VMCS_ENTRY_INTR_INFO));
}

static void test_rep_ins_stops_after_iteration_writing_watched_byte(void **state)
{
    (void)state;
    set_breakpoint(2, 0x103, DR7_RW_WRITE, BP_LEN1);
    vcpu->gpr[REG_RDI] = 0x100;
    vcpu->gpr[REG_RCX] = 8;
    assert_int_equal(string_exit(0x1234, 1, 1, 1, INFO_ADDR32), EXIT_CONTINUE);
    assert_int_equal(vm->ram[0x103], 0xFF);                          /* the write happened (a trap) */
    assert_int_equal(vm->ram[0x104], 0);
    assert_int_equal(vcpu->gpr[REG_RDI], 0x104);
    assert_int_equal(vcpu->gpr[REG_RCX], 4);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(2) | PENDING_DBG_ENABLED_BP);
    assert_int_equal(rflags_rf(), RFLAGS_RF);
}

static void test_outs_reads_memory_for_read_write_breakpoints_only(void **state)
{
    (void)state;
    set_breakpoint(0, 0x1000, DR7_RW_WRITE, BP_LEN4);
    vcpu->gpr[REG_RSI] = 0x1002;
    assert_int_equal(string_exit(0x80, 2, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
    set_breakpoint(3, 0x1003, DR7_RW_READ_WRITE, BP_LEN1);
    vcpu->gpr[REG_RSI] = 0x1002;                                  /* bytes 0x1002-0x1003 */
    assert_int_equal(string_exit(0x80, 2, 0, 0, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(3) | PENDING_DBG_ENABLED_BP);
}

static void test_breakpoint_on_last_iteration_completes_the_instruction(void **state)
{
    (void)state;
    set_breakpoint(1, 0x1001, DR7_RW_READ_WRITE, BP_LEN1);
    memcpy(vm->ram + 0x1000, "hi", 2);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 2;
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
    assert_int_equal(vm->uart.scr, 'i');
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_B(1) | PENDING_DBG_ENABLED_BP);
    assert_int_equal(rflags_rf(), 0);
}

static void test_rep_resumed_after_batch_has_rf_set(void **state)
{
    (void)state;
    /* The exit saved RF=0; resuming the same REP must not report its instruction breakpoint
     * a second time. */
    vcpu->gpr[REG_RSI] = 0x10000;
    vcpu->gpr[REG_RCX] = 5000;
    assert_int_equal(string_exit(0x80, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
    assert_int_equal(rflags_rf(), RFLAGS_RF);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_page_fault_mid_rep_pushes_rf(void **state)
{
    (void)state;
    enable_paging32();
    map_page(0x1000, 0x1000);
    vcpu->gpr[REG_RSI] = 0x1FFF;
    vcpu->gpr[REG_RCX] = 2;
    assert_int_equal(string_exit(0x80, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO) & 0xFF, VEC_PF);
    assert_int_equal(rflags_rf(), RFLAGS_RF);
}

static void test_single_step_runs_one_rep_iteration_per_exit(void **state)
{
    (void)state;
    /* TF traps after every iteration of a REP string instruction. */
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);
    memcpy(vm->ram + 0x1000, "xyz", 3);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 3;
    for (unsigned left = 2; left >= 1; left--) {
        vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
        vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);   /* as the next exit saves it */
        assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_CONTINUE);
        assert_int_equal(vcpu->gpr[REG_RCX], left);
        assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), DR6_BS);
        assert_int_equal(rflags_rf(), RFLAGS_RF);
    }
    /* The last iteration completes the instruction: the dispatcher's RIP advance steps it. */
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);
    assert_int_equal(string_exit(PORT_COM1 + 7, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
    assert_int_equal(vm->uart.scr, 'z');
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_branch_trap_mode_runs_the_whole_rep(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_RFLAGS, RFLAGS_FIXED1 | RFLAGS_TF);
    vmcs_write(VMCS_GUEST_DEBUGCTL, DEBUGCTL_BTF);
    vcpu->gpr[REG_RSI] = 0x1000;
    vcpu->gpr[REG_RCX] = 3;
    assert_int_equal(string_exit(0x80, 1, 0, 1, INFO_ADDR32 | INFO_SEG(DS)), EXIT_ADVANCE);
    assert_int_equal(vcpu->gpr[REG_RCX], 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_PENDING_DBG), 0);
}

static void test_bad_exit_information_stops_guest(void **state)
{
    (void)state;
    assert_int_equal(string_exit(0x80, 1, 0, 0, (3u << 7)), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_STOPPED);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_out_to_uart_prints_line),
        T(test_in_byte_and_word_merge_into_rax),
        T(test_in_dword_zero_extends),
        T(test_wide_uart_access_touches_consecutive_registers),
        T(test_unclaimed_ports),
        T(test_debug_exit_zero_is_success),
        T(test_debug_exit_status_encoding),
        T(test_debug_exit_port_masks_to_size),
        T(test_debug_exit_dword),
        T(test_debug_exit_read_is_all_ones),
        T(test_shutdown_sequence),
        T(test_shutdown_wrong_byte_resets),
        T(test_shutdown_read_is_all_ones),
        T(test_port_functions_direct),
        T(test_rep_outsb_to_uart),
        T(test_outs_without_rep_moves_one_element),
        T(test_outs_uses_segment_base_and_override),
        T(test_ins_always_uses_es),
        T(test_rep_insw_from_empty_bus),
        T(test_direction_flag_steps_backwards),
        T(test_address_size_16_wraps_and_keeps_upper_bits),
        T(test_address_size_32_uses_ecx_only),
        T(test_rep_with_zero_count_does_nothing),
        T(test_rep_batches_per_exit),
        T(test_rep_outs_to_debug_exit_stops),
        T(test_string_io_beyond_ram_uses_empty_bus),
        T(test_outs_faults_mid_rep),
        T(test_ins_fault_leaves_registers_and_port),
        T(test_ins_element_crossing_pages),
        T(test_outs_element_crossing_pages),
        T(test_long_mode_ignores_ds_base_but_not_gs),
        T(test_long_mode_rep_outsd),
        T(test_bad_exit_information_stops_guest),
        T(test_out_and_in_hit_io_breakpoint),
        T(test_io_breakpoint_off_without_cr4_de),
        T(test_rep_outs_stops_after_first_iteration_on_io_breakpoint),
        T(test_rep_ins_stops_after_iteration_writing_watched_byte),
        T(test_outs_reads_memory_for_read_write_breakpoints_only),
        T(test_breakpoint_on_last_iteration_completes_the_instruction),
        T(test_rep_resumed_after_batch_has_rf_set),
        T(test_page_fault_mid_rep_pushes_rf),
        T(test_single_step_runs_one_rep_iteration_per_exit),
        T(test_branch_trap_mode_runs_the_whole_rep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
