/* Tests for vmx/entry_check.c: valid guest states (Tessera's 32-bit protected-mode guest, a 64-bit
 * guest, an unrestricted real-mode guest) draw no complaint; breaking one thing at a time draws a
 * sentence that names it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "skylake_caps.h"
#include "soft_vmcs.h"
#include "vmx/caps.h"
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"

/* Capabilities as on Bochs corei7_skylake_x (see test_caps.c). */
static struct vmx_caps caps;
static struct vmx_controls controls;

static void setup_caps(void)
{
    skylake_caps(&caps);
    char why[200];
    assert_true(vmx_controls_compute(&caps, &controls, why, sizeof(why)));
}

#define PAT_DEFAULT 0x0007040600070406ull

static void write_seg(uint32_t sel_f, uint32_t base_f, uint32_t limit_f, uint32_t ar_f, uint16_t sel, uint64_t base,
                      uint32_t limit, uint32_t ar)
{
    vmcs_write(sel_f, sel);
    vmcs_write(base_f, base);
    vmcs_write(limit_f, limit);
    vmcs_write(ar_f, ar);
}

static void write_data_segs(uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    write_seg(VMCS_GUEST_SS_SEL, VMCS_GUEST_SS_BASE, VMCS_GUEST_SS_LIMIT, VMCS_GUEST_SS_AR, sel, base, limit, ar);
    write_seg(VMCS_GUEST_DS_SEL, VMCS_GUEST_DS_BASE, VMCS_GUEST_DS_LIMIT, VMCS_GUEST_DS_AR, sel, base, limit, ar);
    write_seg(VMCS_GUEST_ES_SEL, VMCS_GUEST_ES_BASE, VMCS_GUEST_ES_LIMIT, VMCS_GUEST_ES_AR, sel, base, limit, ar);
    write_seg(VMCS_GUEST_FS_SEL, VMCS_GUEST_FS_BASE, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_FS_AR, sel, base, limit, ar);
    write_seg(VMCS_GUEST_GS_SEL, VMCS_GUEST_GS_BASE, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_GS_AR, sel, base, limit, ar);
}

/* Controls and host state as Tessera sets them up. */
static void write_controls_and_host(void)
{
    vmcs_write(VMCS_PIN_CONTROLS, controls.pin);
    vmcs_write(VMCS_PROC_CONTROLS, controls.proc);
    vmcs_write(VMCS_PROC_CONTROLS2, controls.proc2);
    vmcs_write(VMCS_EXIT_CONTROLS, controls.exit);
    vmcs_write(VMCS_ENTRY_CONTROLS, controls.entry);
    vmcs_write(VMCS_EPT_POINTER, 0x5000 | 6 | (3 << 3));
    vmcs_write(VMCS_VPID, 1);
    vmcs_write(VMCS_MSR_BITMAP, 0x6000);

    vmcs_write(VMCS_HOST_CR0, 0x80050033);
    vmcs_write(VMCS_HOST_CR3, 0x1000);
    vmcs_write(VMCS_HOST_CR4, 0x2020);
    vmcs_write(VMCS_HOST_CS_SEL, 0x08);
    vmcs_write(VMCS_HOST_SS_SEL, 0x10);
    vmcs_write(VMCS_HOST_DS_SEL, 0x10);
    vmcs_write(VMCS_HOST_ES_SEL, 0x10);
    vmcs_write(VMCS_HOST_TR_SEL, 0x18);
    vmcs_write(VMCS_HOST_TR_BASE, 0x3000);
    vmcs_write(VMCS_HOST_GDTR_BASE, 0x2000);
    vmcs_write(VMCS_HOST_IDTR_BASE, 0x2800);
    vmcs_write(VMCS_HOST_EFER, 0xd00);
    vmcs_write(VMCS_HOST_PAT, PAT_DEFAULT);
    vmcs_write(VMCS_HOST_RSP, 0x7ff000);
    vmcs_write(VMCS_HOST_RIP, 0x401000);
}

/* The guest state Tessera starts its 32-bit guests in. */
static void valid_32(void)
{
    soft_vmcs_reset();
    write_controls_and_host();
    vmcs_write(VMCS_GUEST_CR0, 0x31);                 /* PE | ET | NE */
    vmcs_write(VMCS_GUEST_CR3, 0);
    vmcs_write(VMCS_GUEST_CR4, 0x2000);               /* VMXE, as CR4_FIXED0 requires */
    vmcs_write(VMCS_GUEST_DR7, 0x400);
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    vmcs_write(VMCS_GUEST_RIP, 0x100000);
    vmcs_write(VMCS_GUEST_RSP, 0x90000);
    write_seg(VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR, 0x08, 0, 0xffffffff, 0xC09B);
    write_data_segs(0x10, 0, 0xffffffff, 0xC093);
    write_seg(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR, 0x18, 0, 0x67, 0x8B);
    write_seg(VMCS_GUEST_LDTR_SEL, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_LDTR_LIMIT, VMCS_GUEST_LDTR_AR, 0, 0, 0, 0x10000);
    vmcs_write(VMCS_GUEST_GDTR_BASE, 0x1000);
    vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0x1f);
    vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);
    vmcs_write(VMCS_LINK_POINTER, ~0ull);
    vmcs_write(VMCS_GUEST_EFER, 0);
    vmcs_write(VMCS_GUEST_PAT, PAT_DEFAULT);
    vmcs_write(VMCS_GUEST_ACTIVITY_STATE, 0);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
}

static void valid_64(void)
{
    valid_32();
    vmcs_write(VMCS_ENTRY_CONTROLS, controls.entry | ENTRY_IA32E_MODE_GUEST);
    vmcs_write(VMCS_GUEST_CR0, 0x80000031);           /* PG | NE | ET | PE */
    vmcs_write(VMCS_GUEST_CR3, 0x7000);
    vmcs_write(VMCS_GUEST_CR4, 0x2020);               /* VMXE | PAE */
    vmcs_write(VMCS_GUEST_EFER, 0x500);               /* LMA | LME */
    vmcs_write(VMCS_GUEST_CS_AR, 0xA09B);             /* L=1, D=0 */
    vmcs_write(VMCS_GUEST_RIP, 0xffffffff80000000ull);
    vmcs_write(VMCS_GUEST_GDTR_BASE, 0xffffffff80010000ull);
}

/* An unrestricted-guest real-mode state, as at reset. */
static void valid_real(void)
{
    valid_32();
    vmcs_write(VMCS_GUEST_CR0, 0x30);
    write_seg(VMCS_GUEST_CS_SEL, VMCS_GUEST_CS_BASE, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_CS_AR, 0xf000, 0xf0000, 0xffff, 0x9B);
    write_data_segs(0, 0, 0xffff, 0x93);
    write_seg(VMCS_GUEST_TR_SEL, VMCS_GUEST_TR_BASE, VMCS_GUEST_TR_LIMIT, VMCS_GUEST_TR_AR, 0, 0, 0xffff, 0x8B);
    vmcs_write(VMCS_GUEST_RIP, 0xfff0);
    vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0xffff);
    vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0x3ff);
}

static void assert_no_complaint(const char *label)
{
    char buf[256] = "stale";
    if (vmx_explain_entry_failure(&caps, buf, sizeof(buf)))
        fail_msg("%s: unexpected complaint: %s", label, buf);
    assert_string_equal(buf, "");
}

static void test_valid_states_draw_no_complaint(void **state)
{
    (void)state;
    setup_caps();
    valid_32();
    assert_no_complaint("32-bit");
    valid_64();
    assert_no_complaint("64-bit");
    valid_real();
    assert_no_complaint("real mode with unrestricted guest");

    /* Unrestricted guest allows a CS of type 3 (read/write data) with DPL 0. */
    valid_32();
    vmcs_write(VMCS_GUEST_CS_AR, 0xC093);
    assert_no_complaint("CS type 3 with unrestricted guest");

    /* 32-bit PAE paging with well-formed PDPTEs (checked because EPT is on). */
    valid_32();
    vmcs_write(VMCS_GUEST_CR0, 0x80000031);
    vmcs_write(VMCS_GUEST_CR4, 0x2020);
    vmcs_write(VMCS_GUEST_PDPTE0, 0x8001);
    vmcs_write(VMCS_GUEST_PDPTE1, 0);
    assert_no_complaint("PAE paging");

    /* A guest halted with an interrupt to deliver. */
    valid_32();
    vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    vmcs_write(VMCS_GUEST_RFLAGS, 0x202);
    vmcs_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL | 0x20);
    assert_no_complaint("HLT with external interrupt");

    /* #GP with its error code in protected mode. */
    valid_32();
    vmcs_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | 13);
    vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, 0x18);
    assert_no_complaint("#GP with error code");
}

#define NONE 0xffffffffu
enum base_state { S32, S64, SREAL };

struct breakage {
    const char *label;
    enum base_state base;
    struct { uint32_t field; uint64_t value; } w[3];
    const char *expect;
};

#define W1(f, v) { { f, v }, { NONE, 0 }, { NONE, 0 } }
#define W2(f, v, g, u) { { f, v }, { g, u }, { NONE, 0 } }
#define W3(f, v, g, u, h, t) { { f, v }, { g, u }, { h, t } }

static const struct breakage breakages[] = {
    /* controls */
    { "pin controls missing default1 bits", S32, W1(VMCS_PIN_CONTROLS, 0),
      "pin-based VM-execution controls 0x00000000 have bit 1 clear" },
    { "entry control not allowed", S32, W1(VMCS_ENTRY_CONTROLS, 0x11fb | (1u << 20)),
      "VM-entry controls 0x001011fb have bit 20 set" },
    { "UG without EPT", S32, W1(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST), "without \"enable EPT\"" },
    { "EPTP walk length", S32, W1(VMCS_EPT_POINTER, 0x5000 | 6 | (1 << 3)), "bits 5:3 = 1" },
    { "EPTP memory type", S32, W1(VMCS_EPT_POINTER, 0x5000 | 5 | (3 << 3)), "memory type 5" },
    { "VPID 0", S32, W1(VMCS_VPID, 0), "VPID is 0" },
    { "MSR bitmap unaligned", S32, W1(VMCS_MSR_BITMAP, 0x6008), "MSR bitmap address 0x0000000000006008" },
    { "event type 1", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000100), "reserved event type 1" },
    { "NMI vector 3", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000203), "NMI with vector 3" },
    { "exception vector 32", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000320), "vector 32; it must be at most 31" },
    { "error code in real mode", SREAL, W1(VMCS_ENTRY_INTR_INFO, 0x80000B0D), "real-mode guest" },
    { "error code for #UD", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000B06), "vector 6, which has none" },
    { "#GP without error code", S32, W1(VMCS_ENTRY_INTR_INFO, 0x8000030D), "exception 13 without its error code" },
    { "error code too wide", S32, W2(VMCS_ENTRY_INTR_INFO, 0x80000B0D, VMCS_ENTRY_EXCEPTION_ERROR, 0x10000),
      "error code 0x00010000" },
    { "software interrupt length 0", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000480), "instruction length 0" },
    /* host state */
    { "host CR4 without VMXE", S32, W1(VMCS_HOST_CR4, 0x20), "host CR4 bit 13 is clear" },
    { "host CS RPL", S32, W1(VMCS_HOST_CS_SEL, 0x0b), "host CS selector 0x000b" },
    { "host TR 0", S32, W1(VMCS_HOST_TR_SEL, 0), "host TR selector is 0" },
    { "host EFER LMA", S32, W1(VMCS_HOST_EFER, 0x100), "host IA32_EFER 0x0000000000000100" },
    { "host RIP", S32, W1(VMCS_HOST_RIP, 0x0000800000000000ull), "host RIP 0x0000800000000000 is not canonical" },
    { "host GDTR base", S32, W1(VMCS_HOST_GDTR_BASE, 0x1234567800000000ull), "host GDTR base" },
    { "host PAT", S32, W1(VMCS_HOST_PAT, 0x0007040600070403ull), "host IA32_PAT" },
    /* control registers, MSRs */
    { "CR0.NE clear", S32, W1(VMCS_GUEST_CR0, 0x11), "guest CR0 bit 5 is clear (0x0000000000000011)" },
    { "CR0 PE clear without UG", S32, W2(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT, VMCS_GUEST_CR0, 0x30),
      "guest CR0 bit 0 is clear" },
    { "CR0 PG without PE", S32, W1(VMCS_GUEST_CR0, 0x80000030), "sets PG without PE" },
    { "CR0 upper bits", S32, W1(VMCS_GUEST_CR0, 0x100000031ull), "guest CR0 bit 32 is set" },
    { "CR4 VMXE clear", S32, W1(VMCS_GUEST_CR4, 0), "guest CR4 bit 13 is clear" },
    { "CR4 reserved bit", S32, W1(VMCS_GUEST_CR4, 0x2000 | (1ull << 24)), "guest CR4 bit 24 is set" },
    { "CR4.PCIDE in 32-bit", S32, W1(VMCS_GUEST_CR4, 0x22000), "PCIDE outside IA-32e mode" },
    { "IA-32e without PAE", S64, W1(VMCS_GUEST_CR4, 0x2000), "\"IA-32e mode guest\" is set but guest CR4 0x0000000000002000 has PAE clear" },
    { "IA-32e without PG", S64, W1(VMCS_GUEST_CR0, 0x31), "has PG clear" },
    { "EFER.LMA without IA-32e", S32, W1(VMCS_GUEST_EFER, 0x500), "has LMA=1 but \"IA-32e mode guest\" is 0" },
    { "EFER.LMA clear in IA-32e", S64, W1(VMCS_GUEST_EFER, 0x100), "has LMA=0 but \"IA-32e mode guest\" is 1" },
    { "EFER.LME clear with paging", S64, W1(VMCS_GUEST_EFER, 0x400), "LMA != LME" },
    { "EFER reserved", S32, W1(VMCS_GUEST_EFER, 0x2), "guest IA32_EFER 0x0000000000000002 has reserved bit 1" },
    { "PAT invalid", S32, W1(VMCS_GUEST_PAT, 0x0007040600070402ull), "entry PA0 is 0x02" },
    { "PAT invalid high entry", S32, W1(VMCS_GUEST_PAT, 0x0807040600070406ull), "entry PA7 is 0x08" },
    { "DR7 upper bits", S32, W2(VMCS_ENTRY_CONTROLS, 0x11fb | ENTRY_LOAD_DEBUG_CONTROLS, VMCS_GUEST_DR7, (1ull << 32) | 0x400),
      "guest DR7 0x0000000100000400 has bits 63:32 set" },
    { "DEBUGCTL reserved", S32, W2(VMCS_ENTRY_CONTROLS, 0x11fb | ENTRY_LOAD_DEBUG_CONTROLS, VMCS_GUEST_DEBUGCTL, 4),
      "IA32_DEBUGCTL 0x0000000000000004 has reserved bit 2" },
    { "SYSENTER_EIP", S32, W1(VMCS_GUEST_SYSENTER_EIP, 0xdead000000000000ull), "IA32_SYSENTER_EIP" },
    /* RFLAGS */
    { "RFLAGS bit 1", S32, W1(VMCS_GUEST_RFLAGS, 0),
      "guest RFLAGS bit 1 is clear (RFLAGS=0x0000000000000000); it must be 1" },
    { "RFLAGS reserved bit 15", S32, W1(VMCS_GUEST_RFLAGS, 0x8002), "reserved bit 15" },
    { "RFLAGS reserved bit 22", S32, W1(VMCS_GUEST_RFLAGS, 0x400002), "reserved bit 22" },
    { "RFLAGS.VM in IA-32e", S64, W1(VMCS_GUEST_RFLAGS, 0x20002), "sets VM with \"IA-32e mode guest\"" },
    { "RFLAGS.VM in real mode", SREAL, W1(VMCS_GUEST_RFLAGS, 0x20002), "sets VM in real mode" },
    { "interrupt with IF clear", S32, W1(VMCS_ENTRY_INTR_INFO, 0x80000020), "has IF clear" },
    /* segments */
    { "TR selector TI", S32, W1(VMCS_GUEST_TR_SEL, 0x1c), "guest TR selector 0x001c has TI set" },
    { "LDTR selector TI", S32, W2(VMCS_GUEST_LDTR_SEL, 0x24, VMCS_GUEST_LDTR_AR, 0x82),
      "guest LDTR selector 0x0024 has TI set" },
    { "FS base non-canonical in 64-bit", S64, W1(VMCS_GUEST_FS_BASE, 0x0000800000000000ull), "guest FS base" },
    { "CS base upper bits", S32, W1(VMCS_GUEST_CS_BASE, 1ull << 32), "guest CS base 0x0000000100000000" },
    { "CS type 3 without UG", S64, W2(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT, VMCS_GUEST_CS_AR, 0xA093),
      "guest CS type is 3 (AR=0x0a093); it must be 9, 11, 13 or 15" },
    { "CS type 1 with UG", S32, W1(VMCS_GUEST_CS_AR, 0xC091), "guest CS type is 1" },
    { "SS type 5", S32, W1(VMCS_GUEST_SS_AR, 0xC095), "guest SS type is 5" },
    { "DS not accessed", S32, W1(VMCS_GUEST_DS_AR, 0xC092), "guest DS type is 2" },
    { "ES execute-only", S32, W1(VMCS_GUEST_ES_AR, 0xC099), "guest ES type is 9" },
    { "FS system descriptor", S32, W1(VMCS_GUEST_FS_AR, 0xC083), "guest FS access rights 0x0c083 have S=0" },
    { "CS DPL != SS DPL", S32, W1(VMCS_GUEST_CS_AR, 0xC0FB), "guest CS DPL 3 differs from SS DPL 0" },
    { "SS RPL != CS RPL without UG", S64, W2(VMCS_PROC_CONTROLS2, PROC2_ENABLE_EPT, VMCS_GUEST_SS_SEL, 0x13),
      "SS selector 0x0013 RPL differs from CS selector 0x0008 RPL" },
    { "SS DPL in real mode", SREAL, W2(VMCS_GUEST_SS_AR, 0xF3, VMCS_GUEST_CS_AR, 0xFB), "guest SS DPL is 3" },
    { "DS not present", S32, W1(VMCS_GUEST_DS_AR, 0xC013), "guest DS access rights 0x0c013 have P=0" },
    { "ES reserved AR bit", S32, W1(VMCS_GUEST_ES_AR, 0xC193), "guest ES access rights 0x0c193 have reserved bits" },
    { "L and D/B in 64-bit CS", S64, W1(VMCS_GUEST_CS_AR, 0xE09B), "set both L and D/B" },
    { "limit with G=1 not ending in fff", S32, W1(VMCS_GUEST_CS_LIMIT, 0xffffe000),
      "guest CS limit 0xffffe000 has bits 11:0 not all 1 but G=1" },
    { "large limit with G=0", S32, W1(VMCS_GUEST_GS_AR, 0x4093), "guest GS limit 0xffffffff has bits 31:20 set but G=0" },
    { "unusable DS is not checked", S32, W2(VMCS_GUEST_DS_AR, 0x10f00, VMCS_GUEST_GDTR_LIMIT, 0x10000),
      "GDTR limit" },
    { "TR type 9", S32, W1(VMCS_GUEST_TR_AR, 0x89), "guest TR type is 9 (AR=0x00089); it must be 3 or 11" },
    { "TR type 3 in IA-32e", S64, W1(VMCS_GUEST_TR_AR, 0x83), "it must be 11 (busy 64-bit TSS) in IA-32e mode" },
    { "TR unusable", S32, W1(VMCS_GUEST_TR_AR, 0x1008B), "mark TR unusable" },
    { "TR not present", S32, W1(VMCS_GUEST_TR_AR, 0x0B), "guest TR access rights 0x0000b have P=0" },
    { "TR limit vs G", S32, W1(VMCS_GUEST_TR_AR, 0x808B), "guest TR limit 0x00000067" },
    { "LDTR type 3", S32, W2(VMCS_GUEST_LDTR_SEL, 0x20, VMCS_GUEST_LDTR_AR, 0x83), "guest LDTR type is 3" },
    /* descriptor tables */
    { "GDTR limit", S32, W1(VMCS_GUEST_GDTR_LIMIT, 0x10000), "guest GDTR limit 0x00010000 exceeds 0xffff" },
    { "IDTR base", S64, W1(VMCS_GUEST_IDTR_BASE, 0x0000800000000000ull), "guest IDTR base 0x0000800000000000" },
    /* RIP */
    { "RIP upper bits in 32-bit", S32, W1(VMCS_GUEST_RIP, 0x100000000ull), "bits 63:32 set outside 64-bit mode" },
    { "RIP non-canonical in 64-bit", S64, W1(VMCS_GUEST_RIP, 0x0000800000000000ull), "is not canonical (64-bit CS)" },
    { "RIP upper bits in compatibility mode", S64, W2(VMCS_GUEST_CS_AR, 0xC09B, VMCS_GUEST_RIP, 0xffffffff80000000ull),
      "bits 63:32 set outside 64-bit mode" },
    /* non-register state */
    { "activity 4", S32, W1(VMCS_GUEST_ACTIVITY_STATE, 4), "guest activity state is 4" },
    { "HLT with SS.DPL 3", S32,
      W3(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT, VMCS_GUEST_SS_AR, 0xC0F3, VMCS_GUEST_CS_AR, 0xC0FB),
      "activity state is HLT but SS DPL is 3" },
    { "HLT under MOV SS blocking", S32, W2(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT, VMCS_GUEST_INTERRUPTIBILITY, 2),
      "must be active" },
    { "#UD injected into HLT", S32, W2(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_HLT, VMCS_ENTRY_INTR_INFO, 0x80000306),
      "cannot be delivered in activity state HLT" },
    { "interruptibility reserved", S32, W1(VMCS_GUEST_INTERRUPTIBILITY, 0x20), "reserved bits 31:5" },
    { "STI and MOV SS", S32, W2(VMCS_GUEST_INTERRUPTIBILITY, 3, VMCS_GUEST_RFLAGS, 0x202),
      "sets both blocking by STI and blocking by MOV SS" },
    { "STI blocking with IF=0", S32, W1(VMCS_GUEST_INTERRUPTIBILITY, 1), "blocks by STI but RFLAGS 0x0000000000000002" },
    { "interrupt under STI blocking", S32,
      W3(VMCS_GUEST_INTERRUPTIBILITY, 1, VMCS_GUEST_RFLAGS, 0x202, VMCS_ENTRY_INTR_INFO, 0x80000020),
      "external interrupt is injected while" },
    { "SMI blocking", S32, W1(VMCS_GUEST_INTERRUPTIBILITY, 4), "blocks by SMI outside SMM" },
    { "pending debug reserved", S32, W1(VMCS_GUEST_PENDING_DBG, 0x10), "reserved bit 4" },
    { "single-step without BS", S32,
      W2(VMCS_GUEST_INTERRUPTIBILITY, 1, VMCS_GUEST_RFLAGS, 0x302), "lack BS (bit 14)" },
    { "BS without single-step", S32,
      W3(VMCS_GUEST_INTERRUPTIBILITY, 1, VMCS_GUEST_RFLAGS, 0x202, VMCS_GUEST_PENDING_DBG, 1ull << 14),
      "set BS (bit 14) though no single-step" },
    { "link pointer", S32, W1(VMCS_LINK_POINTER, 0), "VMCS link pointer is 0x0000000000000000" },
    { "PDPTE reserved bits", S32,
      W3(VMCS_GUEST_CR0, 0x80000031, VMCS_GUEST_CR4, 0x2020, VMCS_GUEST_PDPTE2, 0x8003),
      "guest PDPTE2 0x0000000000008003 is present with reserved bit 1" },
};

static void test_each_breakage_is_named(void **state)
{
    (void)state;
    int failures = 0;
    setup_caps();
    for (size_t i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
        const struct breakage *b = &breakages[i];
        if (b->base == S32)
            valid_32();
        else if (b->base == S64)
            valid_64();
        else
            valid_real();
        for (int k = 0; k < 3; k++)
            if (b->w[k].field != NONE)
                vmcs_write(b->w[k].field, b->w[k].value);
        char buf[256];
        bool found = vmx_explain_entry_failure(&caps, buf, sizeof(buf));
        if (!found || !strstr(buf, b->expect) || strchr(buf, '\n')) {
            print_error("%s: found=%d \"%s\"; expected one line containing \"%s\"\n", b->label, found,
                        found ? buf : "", b->expect);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_without_caps_still_checks_architecture(void **state)
{
    (void)state;
    char buf[256];
    setup_caps();
    valid_32();
    assert_false(vmx_explain_entry_failure(NULL, buf, sizeof(buf)));
    vmcs_write(VMCS_GUEST_CR0, 0);                    /* only CR0_FIXED0 would catch this */
    assert_false(vmx_explain_entry_failure(NULL, buf, sizeof(buf)));
    vmcs_write(VMCS_GUEST_RFLAGS, 0);
    assert_true(vmx_explain_entry_failure(NULL, buf, sizeof(buf)));
    assert_non_null(strstr(buf, "RFLAGS bit 1"));
}

static void test_small_buffer_truncates(void **state)
{
    (void)state;
    char buf[12];
    setup_caps();
    valid_32();
    vmcs_write(VMCS_GUEST_RFLAGS, 0);
    memset(buf, 'x', sizeof(buf));
    assert_true(vmx_explain_entry_failure(&caps, buf, sizeof(buf)));
    assert_string_equal(buf, "guest RFLAG");
    assert_true(vmx_explain_entry_failure(&caps, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_states_draw_no_complaint),
        cmocka_unit_test(test_each_breakage_is_named),
        cmocka_unit_test(test_without_caps_still_checks_architecture),
        cmocka_unit_test(test_small_buffer_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
