/* Finishes a guest access that EPT refused because the address is not RAM: fetch and decode the
 * instruction at CS:RIP, raise what the CPU would raise for it, perform its memory accesses on
 * the guest-physical bus (devices or the empty bus) through the guest's own paging, update
 * registers and RFLAGS as the CPU would, report each data access to the debug-event logic, and
 * move RIP past it.
 *
 * A read-modify-write reaches a device as one read and then one write of the operand's size
 * (LOCK changes nothing: nothing else runs meanwhile); CMP, TEST and BT only read; CMPXCHG
 * writes the old value back when the comparison fails, as the CPU does. Vector accesses wider
 * than 8 bytes reach a device as 8-byte accesses in ascending address order; an access that
 * crosses a page is split at the page boundary. */
#include "emu/mmio_emulate.h"
#include "x86.h"
#include "emu/alu.h"
#include "emu/decode.h"
#include "emu/guest_walk.h"
#include "emu/simd_regs.h"
#include "exit/debug_events.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/gpa_bus.h"
#include "vmx/vmcs.h"

#define X86_MAX_INSN 15
#define PAGE_SIZE 4096ull
#define MAX_ACCESS_BYTES 32

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

/* Are the first and the last byte of an access canonical (48 or, with LA57, 57 address bits)? */
static bool is_canonical(uint64_t first, uint64_t last)
{
    unsigned shift = (vmcs_read(VMCS_GUEST_CR4) & CR4_LA57) ? 56 : 47;
    uint64_t all_ones = ~0ull >> shift;
    uint64_t a = first >> shift, b = last >> shift;
    return (a == 0 || a == all_ones) && (b == 0 || b == all_ones);
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

/* The GPR operand at the memory operand's size. */
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

static enum exit_result stop_undecodable(struct vcpu *v, uint64_t rip, const uint8_t *bytes, size_t have)
{
    char text[X86_MAX_INSN * 3 + 1];
    size_t len = 0;
    text[0] = 0;
    for (size_t i = 0; i < have && i < X86_MAX_INSN; i++)
        len += (size_t)fmt_snprintf(text + len, sizeof(text) - len, i ? " %02x" : "%02x", bytes[i]);
    return vm_stop(v->vm, "cannot emulate instruction at RIP %llx: bytes %s",
                      (unsigned long long)rip, have ? text : "(none)");
}

/* Fetch and decode the instruction at CS:RIP. Returns 0 with *insn, or -1 with *result set
 * (a #PF injected, or the guest stopped). */
static int fetch_and_decode(struct vcpu *v, enum cpu_mode m, struct mem_insn *insn, enum exit_result *result)
{
    uint64_t rip = vmcs_read(VMCS_GUEST_RIP);
    uint64_t linear = linear_of(m, segment_base(m, SEG_CS), rip);
    uint8_t bytes[X86_MAX_INSN];
    struct walk_fault fault, next_page_fault;

    size_t first = PAGE_SIZE - (linear & (PAGE_SIZE - 1));
    if (first > X86_MAX_INSN)
        first = X86_MAX_INSN;
    if (guest_read_linear(v, linear, bytes, first, WALK_FETCH, &fault) < 0) {
        *result = guest_inject_page_fault(v, &fault);
        return -1;
    }
    size_t have = first;
    bool next_page_missing = false;
    if (first < X86_MAX_INSN) {
        if (guest_read_linear(v, linear_of(m, linear, first), bytes + first, X86_MAX_INSN - first,
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
            *result = guest_inject_page_fault(v, &next_page_fault);
            return -1;
        }
    }
    *result = stop_undecodable(v, rip, bytes, have);
    return -1;
}

/* The #UD and #NM the CPU raises before touching memory (SDM Vol. 3A 13.1 and Table 13-1 for
 * SSE, Vol. 2A 2.8 for VEX): invalid encodings; VEX in real and virtual-8086 mode, where C4/C5
 * are LES/LDS and a register operand makes them #UD; SSE with CR0.EM set or CR4.OSFXSR clear;
 * VEX without CR4.OSXSAVE or with XCR0 lacking SSE or AVX state; then CR0.TS. */
static bool raises_before_access(struct vcpu *v, enum cpu_mode m, const struct mem_insn *insn,
                                 enum exit_result *result)
{
    bool ud = insn->invalid || (insn->vex && m == MODE_REAL);
    if (!ud && insn->simd == SIMD_NONE)
        return false;
    uint64_t cr0 = vmcs_read(VMCS_GUEST_CR0), cr4 = vmcs_read(VMCS_GUEST_CR4);
    if (insn->simd == SIMD_SSE && ((cr0 & CR0_EM) || !(cr4 & CR4_OSFXSR)))
        ud = true;
    if (insn->simd == SIMD_AVX &&
        (!(cr4 & CR4_OSXSAVE) || (v->xcr0 & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX)))
        ud = true;
    if (ud) {
        *result = vcpu_inject_exception(v, VEC_UD, false, 0);
        return true;
    }
    if (cr0 & CR0_TS) {
        *result = vcpu_inject_exception(v, VEC_NM, false, 0);
        return true;
    }
    return false;
}

/* One data access of the instruction, checked and translated. */
struct data_access {
    unsigned size;           /* 1..MAX_ACCESS_BYTES */
    unsigned first_len;      /* bytes on the first page (size unless the access crosses a page) */
    uint64_t gpa;            /* translation of linear */
    uint64_t gpa_next;       /* translation of the next page, when the access crosses into it */
};

/* The exit's own translation, when it is the one of this access: the exit reported this linear
 * address, for an access to the data (not to a paging structure) of the same kind. Spares the
 * page walk on the common path (a device register written with a plain MOV). */
static bool exit_translation(uint64_t linear, enum walk_access access, uint64_t exit_gpa, uint64_t *gpa)
{
    uint64_t need = EPT_QUAL_LINEAR_VALID | EPT_QUAL_TRANSLATION |
                    (access == WALK_WRITE ? EPT_QUAL_WRITE : EPT_QUAL_READ);
    if ((vmcs_read(VMCS_EXIT_QUALIFICATION) & need) != need || vmcs_read(VMCS_GUEST_LINEAR_ADDR) != linear)
        return false;
    *gpa = exit_gpa;
    return true;
}

static int translate(struct vcpu *v, uint64_t linear, enum walk_access access, uint64_t *gpa,
                     enum exit_result *result)
{
    struct walk_fault fault;
    if (guest_linear_to_gpa(v, linear, access, gpa, &fault) < 0) {
        *result = guest_inject_page_fault(v, &fault);
        return -1;
    }
    return 0;
}

/* Checks and translation of an access of size bytes at seg:linear, in the CPU's order: canonical
 * form in 64-bit mode (#SS for stack references, #GP otherwise), the alignment an aligned SSE/AVX
 * move demands (#GP), paging for every page the access touches before any byte moves (#PF), and
 * alignment checking at CPL 3 (#AC, for accesses of up to 8 bytes). Returns 0, or -1 with the
 * exception queued in *result. */
static int prepare_access(struct vcpu *v, enum cpu_mode m, unsigned seg, uint64_t linear, unsigned size,
                          unsigned align, enum walk_access access, uint64_t exit_gpa, struct data_access *a,
                          enum exit_result *result)
{
    if (m == MODE_LONG64 && !is_canonical(linear, linear + size - 1)) {
        *result = vcpu_inject_exception(v, seg == SEG_SS ? VEC_SS : VEC_GP, true, 0);
        return -1;
    }
    if (align && (linear & (align - 1))) {
        *result = vcpu_inject_exception(v, VEC_GP, true, 0);
        return -1;
    }
    a->size = size;
    uint64_t room = PAGE_SIZE - (linear & (PAGE_SIZE - 1));
    a->first_len = size <= room ? size : (unsigned)room;
    if (!(a->first_len == size && exit_translation(linear, access, exit_gpa, &a->gpa)) &&
        translate(v, linear, access, &a->gpa, result) < 0)
        return -1;
    if (a->first_len < size && translate(v, linear_of(m, linear, a->first_len), access, &a->gpa_next, result) < 0)
        return -1;
    if (size <= 8 && (linear & (size - 1)) && vcpu_cpl() == 3 && (vmcs_read(VMCS_GUEST_CR0) & CR0_AM) &&
        (vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_AC)) {
        *result = vcpu_inject_exception(v, VEC_AC, true, 0);
        return -1;
    }
    return 0;
}

/* Move the access's bytes between buf and the bus: the whole access at once when it lies in one
 * page and is 1, 2, 4 or 8 bytes (one device access, as the CPU makes it), else in pieces of
 * those sizes that stay within a page, in ascending address order. */
static void access_bytes(struct vcpu *v, const struct data_access *a, uint8_t *buf, bool write)
{
    for (unsigned off = 0; off < a->size;) {
        unsigned left = a->size - off;
        unsigned room = off < a->first_len ? a->first_len - off : left;
        unsigned chunk = left < room ? left : room;
        chunk = chunk >= 8 ? 8 : chunk >= 4 ? 4 : chunk >= 2 ? 2 : 1;
        uint64_t gpa = off < a->first_len ? a->gpa + off : a->gpa_next + (off - a->first_len);
        uint64_t value = 0;
        if (write) {
            memcpy(&value, buf + off, chunk);
            gpa_write(v->vm, gpa, chunk, value);
        } else {
            value = gpa_read(v->vm, gpa, chunk);
            memcpy(buf + off, &value, chunk);
        }
        off += chunk;
    }
}

/* Scalar accesses (1, 2, 4 or 8 bytes). */
static uint64_t access_read(struct vcpu *v, const struct data_access *a)
{
    if (a->first_len == a->size)
        return gpa_read(v->vm, a->gpa, a->size) & size_mask(a->size);
    uint64_t value = 0;
    access_bytes(v, a, (uint8_t *)&value, false);
    return value;
}

static void access_write(struct vcpu *v, const struct data_access *a, uint64_t value)
{
    value &= size_mask(a->size);
    if (a->first_len == a->size)
        gpa_write(v->vm, a->gpa, a->size, value);
    else
        access_bytes(v, a, (uint8_t *)&value, true);
}

static bool writes_memory(const struct mem_insn *insn)
{
    switch (insn->kind) {
    case MI_STORE_REG:
    case MI_STORE_IMM:
    case MI_VEC_STORE:
    case MI_XCHG:
    case MI_CMPXCHG:
        return true;
    case MI_ALU_MEM:
        return alu_writes_result((enum alu_op)insn->alu_op);
    default:
        return false;
    }
}

static bool is_bit_test(const struct mem_insn *insn)
{
    return insn->kind == MI_ALU_MEM && insn->alu_op >= ALU_BT && insn->alu_op <= ALU_BTC;
}

/* Effective address of the memory operand; extra is added before the address-size wrap (BT's
 * bit-offset displacement is part of the address arithmetic). */
static uint64_t effective_address(struct vcpu *v, const struct mem_insn *insn, uint64_t extra)
{
    const struct mem_operand *mo = &insn->mem;
    uint64_t ea = mo->disp + extra;
    if (mo->rip_relative)
        ea += vmcs_read(VMCS_GUEST_RIP) + insn->length;
    if (mo->base != MEM_NO_REG)
        ea += vcpu_gpr_read(v, mo->base);
    if (mo->index != MEM_NO_REG)
        ea += vcpu_gpr_read(v, mo->index) * mo->scale;
    return ea & size_mask(insn->addr_size);
}

static void emulate_alu(struct vcpu *v, const struct mem_insn *insn, const struct data_access *a, uint64_t src)
{
    enum alu_op op = (enum alu_op)insn->alu_op;
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    uint64_t mem = access_read(v, a);
    if (insn->kind == MI_ALU_REG) {
        uint64_t r = alu_execute(op, insn->mem_size, read_reg_operand(v, insn), mem, &rflags);
        if (op != ALU_CMP)
            write_reg_sized(v, insn->reg, insn->reg_high8, insn->mem_size, r);
    } else {
        uint64_t r = alu_execute(op, insn->mem_size, mem, src, &rflags);
        if (alu_writes_result(op))
            access_write(v, a, r);
        if (op == ALU_XADD)
            write_reg_sized(v, insn->reg, insn->reg_high8, insn->mem_size, mem);
    }
    vmcs_write(VMCS_GUEST_RFLAGS, rflags);
}

/* CMPXCHG: compare the accumulator with [mem] (flags of CMP); equal: [mem] <- reg; else the
 * accumulator <- [mem] and [mem] is written with its own value. */
static void emulate_cmpxchg(struct vcpu *v, const struct mem_insn *insn, const struct data_access *a)
{
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    uint64_t acc = vcpu_gpr_read(v, REG_RAX) & size_mask(insn->mem_size);
    uint64_t src = read_reg_operand(v, insn);
    uint64_t mem = access_read(v, a);
    alu_execute(ALU_CMP, insn->mem_size, acc, mem, &rflags);
    if (acc == mem) {
        access_write(v, a, src);
    } else {
        access_write(v, a, mem);
        write_reg_sized(v, REG_RAX, false, insn->mem_size, mem);
    }
    vmcs_write(VMCS_GUEST_RFLAGS, rflags);
}

/* Vector loads write the register zero-extended: legacy SSE keeps bits 255:128, VEX clears them
 * (and above). */
static void emulate_vector(struct vcpu *v, const struct mem_insn *insn, const struct data_access *a)
{
    uint8_t data[MAX_ACCESS_BYTES];
    memset(data, 0, sizeof(data));
    if (insn->kind == MI_VEC_LOAD) {
        access_bytes(v, a, data, false);
        simd_write_xmm(insn->reg, data);
        if (insn->vex)
            simd_write_ymm_high(insn->reg, data + SIMD_XMM_BYTES);
    } else {
        simd_read_xmm(insn->reg, data);
        if (insn->mem_size > SIMD_XMM_BYTES)
            simd_read_ymm_high(insn->reg, data + SIMD_XMM_BYTES);
        access_bytes(v, a, data, true);
    }
}

/* Every form with one ModRM (or moffs) memory operand. */
static enum exit_result emulate_operand(struct vcpu *v, enum cpu_mode m, const struct mem_insn *insn,
                                        uint64_t exit_gpa)
{
    unsigned size = insn->mem_size;
    unsigned seg = insn->seg != SEG_NONE ? insn->seg : insn->mem.default_seg;
    uint64_t src = 0, extra = 0;
    if (insn->kind == MI_ALU_MEM && insn->alu_src == ALU_SRC_IMM)
        src = insn->imm;
    else if (insn->kind == MI_ALU_MEM && insn->alu_src == ALU_SRC_REG)
        src = read_reg_operand(v, insn);
    if (is_bit_test(insn) && insn->alu_src == ALU_SRC_REG) {
        /* A register bit offset is signed and may lie outside the operand: the operand
         * accessed is the one holding that bit (SDM Vol. 2A BT). */
        unsigned bits = 8 * size;
        int64_t offset = (int64_t)sign_extend(src, size);
        extra = (uint64_t)(offset >> __builtin_ctz(bits)) * size;
        src &= bits - 1;
    }
    uint64_t linear = linear_of(m, segment_base(m, seg), effective_address(v, insn, extra));
    bool write = writes_memory(insn);
    struct data_access a;
    enum exit_result result;
    if (prepare_access(v, m, seg, linear, size, insn->align, write ? WALK_WRITE : WALK_READ, exit_gpa, &a,
                       &result) < 0)
        return result;

    uint64_t value;
    switch (insn->kind) {
    case MI_STORE_REG:
        access_write(v, &a, read_reg_operand(v, insn));
        break;
    case MI_STORE_IMM:
        access_write(v, &a, insn->imm);
        break;
    case MI_LOAD:
    case MI_LOAD_ZX:
        write_reg_sized(v, insn->reg, insn->reg_high8, insn->reg_size, access_read(v, &a));
        break;
    case MI_LOAD_SX:
        write_reg_sized(v, insn->reg, insn->reg_high8, insn->reg_size, sign_extend(access_read(v, &a), size));
        break;
    case MI_ALU_MEM:
    case MI_ALU_REG:
        emulate_alu(v, insn, &a, src);
        break;
    case MI_XCHG:
        value = access_read(v, &a);
        access_write(v, &a, read_reg_operand(v, insn));
        write_reg_sized(v, insn->reg, insn->reg_high8, size, value);
        break;
    case MI_CMPXCHG:
        emulate_cmpxchg(v, insn, &a);
        break;
    case MI_VEC_LOAD:
    case MI_VEC_STORE:
        emulate_vector(v, insn, &a);
        break;
    default:
        return vm_stop(v->vm, "mmio emulation: unexpected instruction kind %u", (unsigned)insn->kind);
    }
    debug_note_memory_access(v, linear, size, write);
    vcpu_advance_rip_by(v, insn->length);
    return EXIT_CONTINUE;
}

/* STOS and MOVS, with or without REP. Each element is translated through the guest's paging
 * and moved over the bus, so RAM on one side and a device on the other both work. Registers
 * are updated per element, so a fault leaves them describing the elements already done. As on
 * the CPU, a REP stops after the element that hit a data breakpoint, and in single-step mode
 * after every element, with RIP left on it while elements remain. */
static enum exit_result emulate_string(struct vcpu *v, enum cpu_mode m, const struct mem_insn *insn,
                                       uint64_t exit_gpa)
{
    unsigned size = insn->mem_size, asz = insn->addr_size;
    uint64_t mask = size_mask(asz);
    uint64_t rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    uint64_t step = (rflags & RFLAGS_DF) ? (uint64_t)0 - size : size;
    uint64_t remaining = insn->rep ? (vcpu_gpr_read(v, REG_RCX) & mask) : 1;
    unsigned per_exit = vcpu_single_step_mode(rflags) ? 1 : MMIO_REP_ELEMENTS_PER_EXIT;
    unsigned src_seg = insn->seg == SEG_NONE ? SEG_DS : insn->seg;
    uint64_t dst_base = segment_base(m, SEG_ES);   /* the destination segment is always ES */
    uint64_t src_base = segment_base(m, src_seg);
    bool breakpoint_hit = false;
    enum exit_result result;

    for (unsigned done = 0; remaining && done < per_exit && !breakpoint_hit; done++) {
        uint64_t rdi = vcpu_gpr_read(v, REG_RDI), rsi = vcpu_gpr_read(v, REG_RSI), value;
        struct data_access src, dst;
        uint64_t src_linear = linear_of(m, src_base, rsi & mask);
        uint64_t dst_linear = linear_of(m, dst_base, rdi & mask);
        /* Both translations first: a fault on the destination must not have read a device. */
        if (insn->kind == MI_MOVS &&
            prepare_access(v, m, src_seg, src_linear, size, 0, WALK_READ, exit_gpa, &src, &result) < 0)
            return result;
        if (prepare_access(v, m, SEG_ES, dst_linear, size, 0, WALK_WRITE, exit_gpa, &dst, &result) < 0)
            return result;
        if (insn->kind == MI_MOVS) {
            value = access_read(v, &src);
            breakpoint_hit = debug_note_memory_access(v, src_linear, size, false);
        } else {
            value = vcpu_gpr_read(v, REG_RAX);
        }
        access_write(v, &dst, value);
        if (debug_note_memory_access(v, dst_linear, size, true))
            breakpoint_hit = true;

        vcpu_gpr_write(v, REG_RDI, addr_reg_update(rdi, rdi + step, asz));
        if (insn->kind == MI_MOVS)
            vcpu_gpr_write(v, REG_RSI, addr_reg_update(rsi, rsi + step, asz));
        if (insn->rep) {
            uint64_t rcx = vcpu_gpr_read(v, REG_RCX);
            vcpu_gpr_write(v, REG_RCX, addr_reg_update(rcx, rcx - 1, asz));
        }
        remaining--;
    }
    if (remaining)
        vcpu_repeat_instruction(v);     /* RIP stays: the CPU re-executes the REP */
    else
        vcpu_advance_rip_by(v, insn->length);
    return EXIT_CONTINUE;
}

enum exit_result mmio_emulate(struct vcpu *v, uint64_t exit_gpa)
{
    enum cpu_mode m = vcpu_mode();
    struct mem_insn insn;
    enum exit_result result;
    if (fetch_and_decode(v, m, &insn, &result) < 0)
        return result;
    if (raises_before_access(v, m, &insn, &result))
        return result;
    if (insn.kind == MI_STOS || insn.kind == MI_MOVS)
        return emulate_string(v, m, &insn, exit_gpa);
    return emulate_operand(v, m, &insn, exit_gpa);
}
