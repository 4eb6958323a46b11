/* Side-channel mitigation decisions (see mitigations.h). The rules, from Intel's guidance for
 * L1TF, MDS and TAA and as KVM applies them:
 * - IBPB between guests wherever IA32_PRED_CMD exists (CPUID.7.0:EDX[26]);
 * - L1TF: Intel parts are affected unless ARCH_CAPABILITIES.RDCL_NO; the L1D is flushed before
 *   VM entry unless SKIP_L1DFL_VMENTRY says no flush is needed, with IA32_FLUSH_CMD when it
 *   exists (CPUID.7.0:EDX[28]);
 * - MDS/TAA: Intel parts are affected unless MDS_NO, and also with MDS_NO when TSX is present
 *   without TAA_NO; the buffers are overwritten by VERW when MD_CLEAR (CPUID.7.0:EDX[10]) says
 *   it does, unless the L1D flush on the same entry already did it (it does on MD_CLEAR parts).
 * IA32_ARCH_CAPABILITIES counts only when CPUID.7.0:EDX[29] says it exists. */
#include "hw/mitigations.h"
#include "lib/log.h"
#include "x86.h"

void mitigations_decide(const struct cpu_security_facts *f, struct mitigations *m)
{
    const uint64_t cap = (f->cpuid7_edx & CPUID7_EDX_ARCH_CAPABILITIES) ? f->arch_capabilities : 0;
    const bool md_clear = f->cpuid7_edx & CPUID7_EDX_MD_CLEAR;

    m->ibpb_on_guest_switch = f->cpuid7_edx & CPUID7_EDX_IBRS_IBPB;
    m->ibpb = m->ibpb_on_guest_switch ? IBPB_ON_GUEST_SWITCH : IBPB_NOT_AVAILABLE;

    if (!f->intel)
        m->l1tf = L1TF_NOT_AFFECTED_VENDOR;
    else if (cap & ARCH_CAP_RDCL_NO)
        m->l1tf = L1TF_NOT_AFFECTED_RDCL_NO;
    else if (cap & ARCH_CAP_SKIP_L1DFL_VMENTRY)
        m->l1tf = L1TF_FLUSH_NOT_NEEDED;
    else if (f->cpuid7_edx & CPUID7_EDX_L1D_FLUSH)
        m->l1tf = L1TF_FLUSH_ON_ENTRY;
    else
        m->l1tf = L1TF_NOT_MITIGATED;
    m->l1d_flush_on_entry = m->l1tf == L1TF_FLUSH_ON_ENTRY;

    const bool mds = !(cap & ARCH_CAP_MDS_NO);
    const bool taa = (f->cpuid7_ebx & CPUID7_EBX_RTM) && !(cap & ARCH_CAP_TAA_NO);
    m->taa_only = f->intel && !mds && taa;
    if (!f->intel)
        m->mds = MDS_NOT_AFFECTED_VENDOR;
    else if (!mds && !taa)
        m->mds = MDS_NOT_AFFECTED;
    else if (!md_clear)
        m->mds = MDS_NOT_MITIGATED;
    else if (m->l1d_flush_on_entry)
        m->mds = MDS_COVERED_BY_L1D_FLUSH;
    else
        m->mds = MDS_VERW_ON_ENTRY;
    m->verw_on_entry = m->mds == MDS_VERW_ON_ENTRY;
}

static const char *ibpb_text(const struct mitigations *m)
{
    return m->ibpb == IBPB_ON_GUEST_SWITCH
               ? "IBPB on guest switch (CPUID.7.0:EDX[26])"
               : "no IBPB: CPUID.7.0:EDX[26] clear, branch predictors are not flushed between guests";
}

static const char *l1tf_text(const struct mitigations *m)
{
    switch (m->l1tf) {
    case L1TF_NOT_AFFECTED_VENDOR: return "L1TF: not affected (not an Intel CPU)";
    case L1TF_NOT_AFFECTED_RDCL_NO: return "L1TF: not affected (ARCH_CAPABILITIES.RDCL_NO)";
    case L1TF_FLUSH_NOT_NEEDED: return "L1TF: no L1D flush needed on VM entry (ARCH_CAPABILITIES.SKIP_L1DFL_VMENTRY)";
    case L1TF_FLUSH_ON_ENTRY: return "L1TF: L1D flush on VM entry (affected: no RDCL_NO; IA32_FLUSH_CMD)";
    default: return "L1TF: affected (no RDCL_NO), not mitigated: no IA32_FLUSH_CMD (CPUID.7.0:EDX[28] clear)";
    }
}

static const char *mds_text(const struct mitigations *m)
{
    switch (m->mds) {
    case MDS_NOT_AFFECTED_VENDOR: return "MDS/TAA: not affected (not an Intel CPU)";
    case MDS_NOT_AFFECTED: return "MDS/TAA: not affected (ARCH_CAPABILITIES.MDS_NO; no TSX or TAA_NO)";
    case MDS_COVERED_BY_L1D_FLUSH: return "MDS/TAA: buffers overwritten by the L1D flush (MD_CLEAR)";
    case MDS_VERW_ON_ENTRY:
        return m->taa_only ? "TAA: VERW on VM entry (TSX without ARCH_CAPABILITIES.TAA_NO; MD_CLEAR)"
                           : "MDS: VERW on VM entry (affected: no MDS_NO; MD_CLEAR)";
    default: return "MDS/TAA: affected, not mitigated: no MD_CLEAR (CPUID.7.0:EDX[10] clear)";
    }
}

void mitigations_describe(const struct mitigations *m, char *buf, size_t len)
{
    fmt_snprintf(buf, len, "%s; %s; %s; IA32_SPEC_CTRL and performance counters hidden from guests",
                 ibpb_text(m), l1tf_text(m), mds_text(m));
}
