/* Control-register exits: the CR0/CR4 bits Tessera owns (VMX fixed bits, PE/PG to track long
 * mode, CD/NW to keep real caching on, VMXE/SMXE and the features CPUID hides), MOV to/from
 * CR3 and CR8 when those exits are on, CLTS and LMSW. The guest sees its own values through
 * the read shadows; the real registers keep the fixed bits underneath. */
#include "exit/handlers.h"
#include "x86.h"
#include "lib/mem.h"
#include "mem/guest_mem.h"
#include "vmx/vmcs.h"

#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
                     CR0_NW | CR0_CD | CR0_PG)

/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT: need no CPUID gate */
#define CR4_ALWAYS   0x7FFull
/* Features cpuid.c hides: their CR4 bits exit so the guest gets the #GP a CPU without them gives. */
#define CR4_HIDDEN   (CR4_VMXE | CR4_SMXE | CR4_KL | CR4_CET | CR4_PKS | CR4_UINTR | CR4_LAM_SUP)


/* Access types in the exit qualification (SDM table 28-3) */
enum { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };

struct cr_policy cr_policy;

void cr_policy_init(struct cr_policy *p, uint64_t cr0_fixed0, uint64_t cr0_fixed1,
                    uint64_t cr4_fixed0, uint64_t cr4_fixed1, int unrestricted_guest)
{
    /* Unrestricted guest lifts the PE/PG requirement of IA32_VMX_CR0_FIXED0. */
    if (unrestricted_guest)
        cr0_fixed0 &= ~(CR0_PE | CR0_PG);
    p->cr0_fixed0 = cr0_fixed0;
    p->cr0_fixed1 = cr0_fixed1;
    p->cr4_fixed0 = cr4_fixed0;
    p->cr4_fixed1 = cr4_fixed1;
    p->cr0_mask = cr0_fixed0 | ~cr0_fixed1 | CR0_PE | CR0_PG | CR0_CD | CR0_NW;
    p->cr4_mask = cr4_fixed0 | ~cr4_fixed1 | CR4_HIDDEN;
}

void cr_set_guest_cr0(uint64_t value)
{
    /* CD/NW stay clear underneath: EPT memory types decide caching, the guest sees its bits. */
    uint64_t real = ((value | cr_policy.cr0_fixed0) & cr_policy.cr0_fixed1) & ~(CR0_CD | CR0_NW);
    vmcs_write(VMCS_GUEST_CR0, real);
    vmcs_write(VMCS_CR0_READ_SHADOW, value);
}

void cr_set_guest_cr4(uint64_t value)
{
    uint64_t real = ((value | cr_policy.cr4_fixed0) & cr_policy.cr4_fixed1) | CR4_VMXE;
    vmcs_write(VMCS_GUEST_CR4, real);
    vmcs_write(VMCS_CR4_READ_SHADOW, value);
}

/* The value the guest believes it has: owned bits from the shadow, the rest from the register. */
static uint64_t guest_view(uint32_t real_field, uint32_t mask_field, uint32_t shadow_field)
{
    uint64_t mask = vmcs_read(mask_field);
    return (vmcs_read(real_field) & ~mask) | (vmcs_read(shadow_field) & mask);
}

static uint64_t guest_cr0(void)
{
    return guest_view(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW);
}

static uint64_t guest_cr4(void)
{
    return guest_view(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW);
}

static enum exit_result inject_gp(struct vcpu *v)
{
    return vcpu_inject_exception(v, VEC_GP, true, 0);
}

/* PAE paging without long mode: under EPT the CPU takes the four PDPTEs from the VMCS, so
 * whenever a real CPU would (re)load them from CR3, so do we. Invalid entries -> #GP. */
static int pae_pdptes_load(struct vcpu *v, uint64_t cr3, uint64_t pdpte[4])
{
    if (!guest_mem_read(v->vm, cr3 & 0xFFFFFFE0ull, pdpte, 32))
        return -1;
    uint64_t reserved = (~0ull << cpuid_guest_maxphyaddr(v->vm->id)) | 0x1E6ull; /* bits 2:1, 8:5, 63:MAXPHYADDR */
    for (int i = 0; i < 4; i++)
        if ((pdpte[i] & 1) && (pdpte[i] & reserved))
            return -1;
    return 0;
}

static void pae_pdptes_store(const uint64_t pdpte[4])
{
    vmcs_write(VMCS_GUEST_PDPTE0, pdpte[0]);
    vmcs_write(VMCS_GUEST_PDPTE1, pdpte[1]);
    vmcs_write(VMCS_GUEST_PDPTE2, pdpte[2]);
    vmcs_write(VMCS_GUEST_PDPTE3, pdpte[3]);
}

static int pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LME);
}

/* Entering IA-32e mode needs a 64-bit busy TSS in TR (VM-entry check); a guest coming from
 * real mode may still have the 16-bit type there, which a real CPU would not look at yet. */
static void tr_fixup_for_long_mode(void)
{
    uint64_t ar = vmcs_read(VMCS_GUEST_TR_AR);
    if ((ar & AR_TYPE_MASK) != 11)
        vmcs_write(VMCS_GUEST_TR_AR, (ar & ~(uint64_t)AR_TYPE_MASK) | 11);
}

static enum exit_result write_cr0(struct vcpu *v, uint64_t value)
{
    uint64_t old = guest_cr0();
    uint64_t cr4 = guest_cr4();
    uint64_t efer = vmcs_read(VMCS_GUEST_EFER);

    if (value >> 32)
        return inject_gp(v);
    /* Reserved bits in 31:0 are ignored, ET is hardwired to 1 (as on every CPU since P6). */
    value = (value & CR0_DEFINED) | CR0_ET;
    if ((value & CR0_PG) && !(value & CR0_PE))
        return inject_gp(v);
    if ((value & CR0_NW) && !(value & CR0_CD))
        return inject_gp(v);
    if (!(value & CR0_WP) && (cr4 & CR4_CET))
        return inject_gp(v);

    int paging_on = (value & CR0_PG) && !(old & CR0_PG);
    int paging_off = !(value & CR0_PG) && (old & CR0_PG);
    if (paging_on && (efer & EFER_LME)) {
        if (!(cr4 & CR4_PAE))
            return inject_gp(v);
        if (vmcs_read(VMCS_GUEST_CS_AR) & AR_L)
            return inject_gp(v);
    }
    if (paging_off && (vcpu_mode() == MODE_LONG64 || (cr4 & CR4_PCIDE)))
        return inject_gp(v);

    uint64_t pdpte[4];
    int load_pdptes = pae_paging(value, cr4, efer) &&
                      ((value ^ old) & (CR0_PG | CR0_CD | CR0_NW));
    if (load_pdptes && pae_pdptes_load(v, vmcs_read(VMCS_GUEST_CR3), pdpte) < 0)
        return inject_gp(v);

    cr_set_guest_cr0(value);
    if (load_pdptes)
        pae_pdptes_store(pdpte);
    if (paging_on && (efer & EFER_LME)) {
        vmcs_write(VMCS_GUEST_EFER, efer | EFER_LMA);
        vmcs_write(VMCS_ENTRY_CONTROLS, vmcs_read(VMCS_ENTRY_CONTROLS) | ENTRY_IA32E_MODE_GUEST);
        tr_fixup_for_long_mode();
    } else if (paging_off) {
        vmcs_write(VMCS_GUEST_EFER, efer & ~EFER_LMA);
        vmcs_write(VMCS_ENTRY_CONTROLS, vmcs_read(VMCS_ENTRY_CONTROLS) & ~(uint64_t)ENTRY_IA32E_MODE_GUEST);
    }
    return EXIT_ADVANCE;
}

/* CR4 bits this guest may set: architectural bits whose feature the guest's CPUID lists (so
 * never a CR4_HIDDEN bit), limited to what the CPU allows under VMX. */
static uint64_t cr4_allowed(struct vcpu *v)
{
    uint32_t l0[4], l1[4], l7[4] = { 0, 0, 0, 0 };
    cpuid_guest_view(v->vm->id, 0, 0, l0);
    cpuid_guest_view(v->vm->id, 1, 0, l1);
    if (l0[0] >= 7)
        cpuid_guest_view(v->vm->id, 7, 0, l7);
    uint64_t allowed = CR4_ALWAYS;
    if (l7[2] & (1u << 2))  allowed |= CR4_UMIP;
    if (l7[2] & (1u << 16)) allowed |= CR4_LA57;
    if (l7[1] & (1u << 0))  allowed |= CR4_FSGSBASE;
    if (l1[2] & (1u << 17)) allowed |= CR4_PCIDE;
    if (l1[2] & (1u << 26)) allowed |= CR4_OSXSAVE;
    if (l7[1] & (1u << 7))  allowed |= CR4_SMEP;
    if (l7[1] & (1u << 20)) allowed |= CR4_SMAP;
    if (l7[2] & (1u << 3))  allowed |= CR4_PKE;
    return allowed & cr_policy.cr4_fixed1;
}

static enum exit_result write_cr4(struct vcpu *v, uint64_t value)
{
    uint64_t old = guest_cr4();
    uint64_t cr0 = guest_cr0();
    uint64_t efer = vmcs_read(VMCS_GUEST_EFER);

    if (value & ~cr4_allowed(v))
        return inject_gp(v);
    if (efer & EFER_LMA) {
        if (!(value & CR4_PAE))
            return inject_gp(v);
        if ((value ^ old) & CR4_LA57)
            return inject_gp(v);
    }
    if ((value & CR4_PCIDE) && !(old & CR4_PCIDE)) {
        if (!(efer & EFER_LMA) || (vmcs_read(VMCS_GUEST_CR3) & 0xFFF))
            return inject_gp(v);
    }

    uint64_t pdpte[4];
    int load_pdptes = pae_paging(cr0, value, efer) &&
                      ((value ^ old) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP));
    if (load_pdptes && pae_pdptes_load(v, vmcs_read(VMCS_GUEST_CR3), pdpte) < 0)
        return inject_gp(v);
    cr_set_guest_cr4(value);
    if (load_pdptes)
        pae_pdptes_store(pdpte);
    return EXIT_ADVANCE;
}

/* Only reached when the lead turns CR3-load exiting on. With VPID the lead must also flush the
 * guest's TLB afterwards, as a real MOV to CR3 would. */
static enum exit_result write_cr3(struct vcpu *v, uint64_t value)
{
    uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
    if (efer & EFER_LMA) {
        if (guest_cr4() & CR4_PCIDE)
            value &= ~(1ull << 63);        /* "don't flush" hint, never stored */
        if (value >> cpuid_guest_maxphyaddr(v->vm->id))
            return inject_gp(v);
    } else {
        uint64_t pdpte[4];
        if (pae_paging(guest_cr0(), guest_cr4(), efer)) {
            if (pae_pdptes_load(v, value, pdpte) < 0)
                return inject_gp(v);
            pae_pdptes_store(pdpte);
        }
    }
    vmcs_write(VMCS_GUEST_CR3, value);
    return EXIT_ADVANCE;
}

static enum exit_result write_cr8(struct vcpu *v, uint64_t value)
{
    if (value >> 4)
        return inject_gp(v);
    v->cr8 = (uint8_t)value;
    return EXIT_ADVANCE;
}

enum exit_result exit_handle_cr_access(struct vcpu *v)
{
    uint64_t qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
    unsigned cr = qual & 0xF;
    unsigned type = (qual >> 4) & 3;
    unsigned gpr = (qual >> 8) & 0xF;
    /* Outside 64-bit mode MOV CR uses 32-bit registers. */
    uint64_t width = vcpu_mode() == MODE_LONG64 ? ~0ull : 0xFFFFFFFFull;

    switch (type) {
    case CR_MOV_TO: {
        uint64_t value = vcpu_gpr_read(v, gpr) & width;
        switch (cr) {
        case 0: return write_cr0(v, value);
        case 3: return write_cr3(v, value);
        case 4: return write_cr4(v, value);
        case 8: return write_cr8(v, value);
        default: break;
        }
        break;
    }
    case CR_MOV_FROM: {
        uint64_t value;
        switch (cr) {
        case 0: value = guest_cr0(); break;
        case 3: value = vmcs_read(VMCS_GUEST_CR3); break;
        case 4: value = guest_cr4(); break;
        case 8: value = v->cr8 & 0xF; break;
        default: return vcpu_inject_exception(v, VEC_UD, false, 0);
        }
        vcpu_gpr_write(v, gpr, value & width);
        return EXIT_ADVANCE;
    }
    case CR_CLTS:
        return write_cr0(v, guest_cr0() & ~CR0_TS);
    case CR_LMSW: {
        /* LMSW loads MP, EM, TS and can set PE but never clear it. */
        uint64_t source = (qual >> 16) & 0xF;
        return write_cr0(v, (guest_cr0() & ~(CR0_MP | CR0_EM | CR0_TS)) | source);
    }
    }
    /* The CPU only exits for CR0/3/4/8; anything else is #UD as the instruction would be. */
    return vcpu_inject_exception(v, VEC_UD, false, 0);
}
