/* I/O-instruction exits: IN/OUT move RAX through the port space (dev/ports.c); INS/OUTS move
 * guest memory, translated through the guest's own page tables, one element per port access,
 * at most IO_REP_BATCH elements per exit so a long REP cannot monopolise the CPU (one when
 * single-stepping, as the CPU traps after each iteration). Every port access and every string
 * element is offered to the guest's I/O and data breakpoints.
 * No segment-limit or segment-permission checks are made on the string operand. */
#include "exit/debug_events.h"
#include "exit/handlers.h"
#include "x86.h"
#include "dev/ports.h"
#include "emu/guest_walk.h"
#include "mem/gpa_bus.h"
#include "vmx/vmcs.h"

#define PAGE_SIZE_4K 4096ull

/* Exit qualification for I/O instructions (SDM table 28-5) */
#define IOQ_SIZE(q)     ((unsigned)((q) & 7) + 1)
#define IOQ_IN          (1ull << 3)
#define IOQ_STRING      (1ull << 4)
#define IOQ_REP         (1ull << 5)
#define IOQ_PORT(q)     ((uint16_t)((q) >> 16))

/* VM-exit instruction information for INS/OUTS (IA32_VMX_BASIC bit 54) */
#define IOINFO_ADDR_SIZE(i) (((i) >> 7) & 7)
#define IOINFO_SEGMENT(i)   (((i) >> 15) & 7)

enum { SEG_ES_INDEX = 0, SEG_FS_INDEX = 4, SEG_GS_INDEX = 5 };

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* A write to a register of the address size: 16-bit keeps the rest, 32-bit zero-extends
 * (as any 32-bit register write in 64-bit mode), 64-bit replaces. */
static uint64_t assign_sized(uint64_t old, uint64_t value, uint64_t mask)
{
    if (mask == 0xFFFFull)
        return (old & ~mask) | (value & mask);
    return value & mask;
}

static enum exit_result io_simple(struct vcpu *v, uint16_t port, unsigned size, bool in)
{
    uint64_t rax = v->gpr[REG_RAX];
    if (!in) {
        enum exit_result r = port_out(v->vm, port, size, (uint32_t)(rax & size_mask(size)));
        if (r != EXIT_STOP)
            debug_note_io_access(v, port, size);
        return r;
    }
    uint32_t value = 0;
    enum exit_result r = port_in(v->vm, port, size, &value);
    if (r == EXIT_STOP)
        return r;
    debug_note_io_access(v, port, size);
    if (size == 4)
        rax = value;    /* IN EAX zero-extends into RAX */
    else
        rax = (rax & ~size_mask(size)) | (value & size_mask(size));
    v->gpr[REG_RAX] = rax;
    return r;
}

/* Guest-physical address of every byte of one element; an element crossing a page boundary
 * may land on two unrelated pages. */
struct element_map {
    uint64_t gpa[2];
    unsigned first_len;     /* bytes on the first page */
};

static int element_translate(struct vcpu *v, uint64_t linear, unsigned size, enum walk_access access,
                             struct element_map *m, struct walk_fault *fault)
{
    uint64_t room = PAGE_SIZE_4K - (linear & (PAGE_SIZE_4K - 1));
    m->first_len = room < size ? (unsigned)room : size;
    if (guest_linear_to_gpa(v, linear, access, &m->gpa[0], fault) < 0)
        return -1;
    m->gpa[1] = 0;
    if (m->first_len < size &&
        guest_linear_to_gpa(v, linear + m->first_len, access, &m->gpa[1], fault) < 0)
        return -1;
    return 0;
}

static uint32_t element_read(struct vcpu *v, const struct element_map *m, unsigned size)
{
    if (m->first_len == size)
        return (uint32_t)gpa_read(v->vm, m->gpa[0], size);
    uint32_t value = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t gpa = i < m->first_len ? m->gpa[0] + i : m->gpa[1] + (i - m->first_len);
        value |= (uint32_t)gpa_read(v->vm, gpa, 1) << (8 * i);
    }
    return value;
}

static void element_write(struct vcpu *v, const struct element_map *m, unsigned size, uint32_t value)
{
    if (m->first_len == size) {
        gpa_write(v->vm, m->gpa[0], size, value);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t gpa = i < m->first_len ? m->gpa[0] + i : m->gpa[1] + (i - m->first_len);
        gpa_write(v->vm, gpa, 1, (uint8_t)(value >> (8 * i)));
    }
}

static enum exit_result io_string(struct vcpu *v, uint16_t port, unsigned size, bool in, bool rep)
{
    uint32_t info = (uint32_t)vmcs_read(VMCS_EXIT_INSTR_INFO);
    unsigned addr_size = IOINFO_ADDR_SIZE(info);
    if (addr_size > 2)
        return vm_stop(v->vm, "I/O string exit with address-size code %u", addr_size);
    uint64_t amask = addr_size == 0 ? 0xFFFFull : addr_size == 1 ? 0xFFFFFFFFull : ~0ull;

    /* INS always stores to ES:rDI; OUTS reads seg:rSI, segment override allowed. */
    unsigned seg = in ? SEG_ES_INDEX : IOINFO_SEGMENT(info);
    if (seg > SEG_GS_INDEX)
        return vm_stop(v->vm, "I/O string exit with segment code %u", seg);
    bool long64 = vcpu_mode() == MODE_LONG64;
    uint64_t base = 0;
    if (!long64 || seg == SEG_FS_INDEX || seg == SEG_GS_INDEX)
        base = vmcs_read(VMCS_GUEST_ES_BASE + 2 * seg);

    unsigned index_reg = in ? REG_RDI : REG_RSI;
    uint64_t index = v->gpr[index_reg];
    uint64_t count = rep ? (v->gpr[REG_RCX] & amask) : 1;
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    uint64_t step = (rflags & RFLAGS_DF) ? (uint64_t)0 - size : size;
    enum walk_access access = in ? WALK_WRITE : WALK_READ;
    if (count == 0)
        return EXIT_ADVANCE;    /* REP with rCX = 0 touches nothing */

    /* Single-step mode traps after every iteration: one per exit then. */
    uint64_t batch = vcpu_single_step_mode(rflags) ? 1 : IO_REP_BATCH;
    enum exit_result result = EXIT_ADVANCE;
    uint64_t done = 0;
    while (done < count && done < batch) {
        uint64_t linear = base + (index & amask);
        if (!long64)
            linear &= 0xFFFFFFFFull;
        struct element_map map;
        struct walk_fault fault;
        if (element_translate(v, linear, size, access, &map, &fault) < 0) {
            result = guest_inject_page_fault(v, &fault);
            break;
        }
        enum exit_result r;
        if (in) {
            uint32_t value = 0;
            r = port_in(v->vm, port, size, &value);
            if (r != EXIT_STOP)
                element_write(v, &map, size, value);
        } else {
            r = port_out(v->vm, port, size, element_read(v, &map, size));
        }
        if (r == EXIT_STOP)
            return EXIT_STOP;
        index = assign_sized(index, index + step, amask);
        done++;
        /* A breakpoint hit ends the run after this iteration, so the #DB comes between
         * iterations as on the CPU (SDM Vol. 3B 17.3.1.2): an I/O breakpoint after the first,
         * a data breakpoint after the one that touched it. Both are checked (no short cut). */
        bool io_hit = debug_note_io_access(v, port, size);
        bool data_hit = debug_note_memory_access(v, linear, size, in);
        if (io_hit || data_hit)
            break;
    }

    if (done == 0)
        return result;          /* faulted on the first element: registers untouched */
    v->gpr[index_reg] = index;
    if (rep) {
        uint64_t left = count - done;
        v->gpr[REG_RCX] = assign_sized(v->gpr[REG_RCX], left, amask);
        /* Not finished (batch limit, breakpoint, single step or fault): RIP stays and the
         * CPU re-executes the instruction for the rest. */
        if (left != 0) {
            if (result == EXIT_ADVANCE)
                vcpu_repeat_instruction(v);
            return EXIT_CONTINUE;
        }
    }
    return result;
}

enum exit_result exit_handle_io(struct vcpu *v)
{
    uint64_t qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
    unsigned size = IOQ_SIZE(qual);
    if (size != 1 && size != 2 && size != 4)
        return vm_stop(v->vm, "I/O exit with access size %u", size);
    bool in = (qual & IOQ_IN) != 0;
    if (qual & IOQ_STRING)
        return io_string(v, IOQ_PORT(qual), size, in, (qual & IOQ_REP) != 0);
    return io_simple(v, IOQ_PORT(qual), size, in);
}
