/* Finishes a guest access that EPT refused because the address is not RAM: fetch and decode the
 * instruction at CS:RIP, perform its memory access on the guest-physical bus (devices or the
 * empty bus), update registers as the CPU would, and move RIP past it. */
#include "emu/mmio_emulate.h"
#include "x86.h"
#include "emu/decode.h"
#include "emu/guest_walk.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/gpa_bus.h"
#include "vmx/vmcs.h"

#define X86_MAX_INSN 15
#define PAGE_SIZE 4096ull
/* Elements of a REP string instruction done per exit; the rest run when the CPU re-executes it
 * and exits again, so one exit never holds the host for long. */
#define REP_ELEMENTS_PER_EXIT 4096


static const uint32_t segment_base_field[] = {
    [SEG_ES] = VMCS_GUEST_ES_BASE, [SEG_CS] = VMCS_GUEST_CS_BASE, [SEG_SS] = VMCS_GUEST_SS_BASE,
    [SEG_DS] = VMCS_GUEST_DS_BASE, [SEG_FS] = VMCS_GUEST_FS_BASE, [SEG_GS] = VMCS_GUEST_GS_BASE,
};

static enum decode_mode decode_mode_of(enum cpu_mode m)
{
    switch (m) {
    case MODE_LONG64:   return DECODE_64;
    case MODE_PROT32:
    case MODE_COMPAT32: return DECODE_32;
    default:            return DECODE_16;
    }
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned from_size)
{
    unsigned shift = 64 - 8 * from_size;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* Segment base as the current mode applies it: in 64-bit mode only FS and GS have one. */
static uint64_t segment_base(enum cpu_mode m, unsigned seg)
{
    if (seg > SEG_GS)
        seg = SEG_DS;
    if (m == MODE_LONG64 && seg != SEG_FS && seg != SEG_GS)
        return 0;
    return vmcs_read(segment_base_field[seg]);
}

static uint64_t linear_of(enum cpu_mode m, uint64_t base, uint64_t offset)
{
    uint64_t linear = base + offset;
    return m == MODE_LONG64 ? linear : linear & 0xffffffffull;
}

static bool is_canonical(uint64_t linear)
{
    unsigned bits = (vmcs_read(VMCS_GUEST_CR4) & CR4_LA57) ? 57 : 48;
    uint64_t upper = linear >> (bits - 1);
    return upper == 0 || upper == (~0ull >> (bits - 1));
}

/* Register writes with x86 width rules: 8/16-bit destinations keep the other bits, 32-bit ones
 * zero-extend into the full register. */
static void write_reg_sized(struct vcpu *v, unsigned reg, bool high8, unsigned size, uint64_t value)
{
    uint64_t old = vcpu_gpr_read(v, reg);
    uint64_t new_value;
    switch (size) {
    case 1:
        if (high8)
            new_value = (old & ~0xff00ull) | ((value & 0xff) << 8);
        else
            new_value = (old & ~0xffull) | (value & 0xff);
        break;
    case 2:  new_value = (old & ~0xffffull) | (value & 0xffff); break;
    case 4:  new_value = value & 0xffffffffull; break;
    default: new_value = value; break;
    }
    vcpu_gpr_write(v, reg, new_value);
}

static uint64_t read_reg_operand(struct vcpu *v, const struct mem_insn *insn)
{
    uint64_t value = vcpu_gpr_read(v, insn->reg);
    if (insn->reg_high8)
        value >>= 8;
    return value & size_mask(insn->mem_size);
}

/* RSI/RDI/RCX after an update at the given address size: a 16-bit update keeps bits 63:16, a
 * 32-bit one zero-extends (as any 32-bit register write does). */
static uint64_t addr_reg_update(uint64_t old, uint64_t new_value, unsigned addr_size)
{
    switch (addr_size) {
    case 2:  return (old & ~0xffffull) | (new_value & 0xffff);
    case 4:  return new_value & 0xffffffffull;
    default: return new_value;
    }
}

static enum exit_result stop_undecodable(struct guest *g, uint64_t rip, const uint8_t *bytes, size_t have)
{
    char text[X86_MAX_INSN * 3 + 1];
    size_t len = 0;
    text[0] = 0;
    for (size_t i = 0; i < have && i < X86_MAX_INSN; i++)
        len += (size_t)fmt_snprintf(text + len, sizeof(text) - len, i ? " %02x" : "%02x", bytes[i]);
    return guest_stop(g, "cannot emulate instruction at RIP %llx: bytes %s",
                      (unsigned long long)rip, have ? text : "(none)");
}

/* Fetch and decode the instruction at CS:RIP. Returns 0 with *insn, or -1 with *result set
 * (a #PF injected, or the guest stopped). */
static int fetch_and_decode(struct guest *g, enum cpu_mode m, struct mem_insn *insn, enum exit_result *result)
{
    uint64_t rip = vmcs_read(VMCS_GUEST_RIP);
    uint64_t linear = linear_of(m, segment_base(m, SEG_CS), rip);
    uint8_t bytes[X86_MAX_INSN];
    struct walk_fault fault, next_page_fault;

    size_t first = PAGE_SIZE - (linear & (PAGE_SIZE - 1));
    if (first > X86_MAX_INSN)
        first = X86_MAX_INSN;
    if (guest_read_linear(g, linear, bytes, first, WALK_FETCH, &fault) < 0) {
        *result = guest_inject_page_fault(g, &fault);
        return -1;
    }
    size_t have = first;
    bool next_page_missing = false;
    if (first < X86_MAX_INSN) {
        if (guest_read_linear(g, linear_of(m, linear, first), bytes + first, X86_MAX_INSN - first,
                              WALK_FETCH, &next_page_fault) < 0)
            next_page_missing = true;
        else
            have = X86_MAX_INSN;
    }

    enum decode_mode dm = decode_mode_of(m);
    if (decode_mem_insn(bytes, have, dm, insn) == 0)
        return 0;
    if (next_page_missing) {
        /* If the instruction would decode with the bytes of the missing page, the CPU
         * re-executing it would take that #PF on the fetch: deliver it. */
        uint8_t padded[X86_MAX_INSN];
        struct mem_insn probe;
        memset(padded, 0, sizeof(padded));
        memcpy(padded, bytes, have);
        if (decode_mem_insn(padded, sizeof(padded), dm, &probe) == 0 && probe.length > have) {
            *result = guest_inject_page_fault(g, &next_page_fault);
            return -1;
        }
    }
    *result = stop_undecodable(g, rip, bytes, have);
    return -1;
}

static enum exit_result emulate_simple(struct guest *g, const struct mem_insn *insn, uint64_t gpa)
{
    struct vcpu *v = &g->vcpu;
    uint64_t value;
    switch (insn->kind) {
    case MI_STORE_REG:
        gpa_write(g, gpa, insn->mem_size, read_reg_operand(v, insn));
        break;
    case MI_STORE_IMM:
        gpa_write(g, gpa, insn->mem_size, insn->imm & size_mask(insn->mem_size));
        break;
    case MI_LOAD:
    case MI_LOAD_ZX:
        value = gpa_read(g, gpa, insn->mem_size) & size_mask(insn->mem_size);
        write_reg_sized(v, insn->reg, insn->reg_high8, insn->reg_size, value);
        break;
    case MI_LOAD_SX:
        value = sign_extend(gpa_read(g, gpa, insn->mem_size), insn->mem_size);
        write_reg_sized(v, insn->reg, insn->reg_high8, insn->reg_size, value);
        break;
    default:
        return guest_stop(g, "mmio emulation: unexpected instruction kind %u", (unsigned)insn->kind);
    }
    vcpu_advance_rip_by(v, insn->length);
    return EXIT_CONTINUE;
}

/* Translate one string element's linear address; on failure the exception is already queued. */
static int string_element_gpa(struct guest *g, enum cpu_mode m, unsigned seg, uint64_t linear,
                              enum walk_access access, uint64_t *gpa, enum exit_result *result)
{
    if (m == MODE_LONG64 && !is_canonical(linear)) {
        *result = vcpu_inject_exception(&g->vcpu, seg == SEG_SS ? 12 /* #SS */ : VEC_GP, true, 0);
        return -1;
    }
    struct walk_fault fault;
    if (guest_linear_to_gpa(g, linear, access, gpa, &fault) < 0) {
        *result = guest_inject_page_fault(g, &fault);
        return -1;
    }
    return 0;
}

/* STOS and MOVS, with or without REP. Each element is translated through the guest's paging
 * and moved over the bus, so RAM on one side and a device on the other both work. Registers
 * are updated per element, so a fault leaves them describing the elements already done. */
static enum exit_result emulate_string(struct guest *g, enum cpu_mode m, const struct mem_insn *insn)
{
    struct vcpu *v = &g->vcpu;
    unsigned size = insn->mem_size, asz = insn->addr_size;
    uint64_t mask = size_mask(asz);
    uint64_t step = (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_DF) ? (uint64_t)0 - size : size;
    uint64_t remaining = insn->rep ? (vcpu_gpr_read(v, REG_RCX) & mask) : 1;
    unsigned src_seg = insn->seg == SEG_NONE ? SEG_DS : insn->seg;
    uint64_t dst_base = segment_base(m, SEG_ES);   /* the destination segment is always ES */
    uint64_t src_base = segment_base(m, src_seg);
    enum exit_result result;

    for (unsigned done = 0; remaining && done < REP_ELEMENTS_PER_EXIT; done++, remaining--) {
        uint64_t rdi = vcpu_gpr_read(v, REG_RDI), rsi = vcpu_gpr_read(v, REG_RSI), value, gpa;
        if (insn->kind == MI_MOVS) {
            uint64_t src = linear_of(m, src_base, rsi & mask);
            if (string_element_gpa(g, m, src_seg, src, WALK_READ, &gpa, &result) < 0)
                return result;
            value = gpa_read(g, gpa, size);
        } else {
            value = vcpu_gpr_read(v, REG_RAX);
        }
        uint64_t dst = linear_of(m, dst_base, rdi & mask);
        if (string_element_gpa(g, m, SEG_ES, dst, WALK_WRITE, &gpa, &result) < 0)
            return result;
        gpa_write(g, gpa, size, value & size_mask(size));

        vcpu_gpr_write(v, REG_RDI, addr_reg_update(rdi, rdi + step, asz));
        if (insn->kind == MI_MOVS)
            vcpu_gpr_write(v, REG_RSI, addr_reg_update(rsi, rsi + step, asz));
        if (insn->rep) {
            uint64_t rcx = vcpu_gpr_read(v, REG_RCX);
            vcpu_gpr_write(v, REG_RCX, addr_reg_update(rcx, rcx - 1, asz));
        }
    }
    if (remaining)
        return EXIT_CONTINUE;   /* RIP stays: the CPU re-executes the REP and exits again */
    vcpu_advance_rip_by(v, insn->length);
    return EXIT_CONTINUE;
}

enum exit_result mmio_emulate(struct guest *g, uint64_t gpa)
{
    enum cpu_mode m = vcpu_mode();
    struct mem_insn insn;
    enum exit_result result;
    if (fetch_and_decode(g, m, &insn, &result) < 0)
        return result;
    if (insn.kind == MI_STOS || insn.kind == MI_MOVS)
        return emulate_string(g, m, &insn);
    return emulate_simple(g, &insn, gpa);
}
