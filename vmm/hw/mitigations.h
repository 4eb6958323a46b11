/* Side-channel mitigations between guests: which ones the run loop applies, and why, decided
 * from CPUID leaf 7 and IA32_ARCH_CAPABILITIES as Intel's guidance and production hypervisors
 * (KVM, Xen) decide them. Pure: facts in, decisions and a one-line explanation out. */
#ifndef TESSERA_HW_MITIGATIONS_H
#define TESSERA_HW_MITIGATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu_security_facts {
    bool intel;                    /* GenuineIntel: L1TF, MDS and TAA are flaws of Intel parts */
    uint32_t cpuid7_ebx, cpuid7_edx; /* CPUID.(EAX=7,ECX=0); 0 when the leaf does not exist */
    uint64_t arch_capabilities;    /* IA32_ARCH_CAPABILITIES; 0 unless CPUID.7.0:EDX[29] */
};

enum ibpb_decision {
    IBPB_ON_GUEST_SWITCH,          /* IA32_PRED_CMD.IBPB when the CPU changes guests */
    IBPB_NOT_AVAILABLE,            /* CPUID.7.0:EDX[26] clear */
};

enum l1tf_decision {
    L1TF_NOT_AFFECTED_VENDOR,
    L1TF_NOT_AFFECTED_RDCL_NO,
    L1TF_FLUSH_NOT_NEEDED,         /* SKIP_L1DFL_VMENTRY: e.g. a hypervisor below flushes */
    L1TF_FLUSH_ON_ENTRY,           /* IA32_FLUSH_CMD.L1D_FLUSH before every VM entry */
    L1TF_NOT_MITIGATED,            /* affected, but no IA32_FLUSH_CMD */
};

enum mds_decision {                /* microarchitectural data sampling and TSX asynchronous abort */
    MDS_NOT_AFFECTED_VENDOR,
    MDS_NOT_AFFECTED,              /* MDS_NO, and no TSX or TAA_NO */
    MDS_COVERED_BY_L1D_FLUSH,      /* with MD_CLEAR the L1D flush overwrites the buffers too */
    MDS_VERW_ON_ENTRY,             /* VERW before every VM entry */
    MDS_NOT_MITIGATED,             /* affected, but no MD_CLEAR microcode */
};

struct mitigations {
    bool ibpb_on_guest_switch;
    bool l1d_flush_on_entry;
    bool verw_on_entry;
    enum ibpb_decision ibpb;
    enum l1tf_decision l1tf;
    enum mds_decision mds;
    bool taa_only;                 /* MDS_NO, but TSX without TAA_NO is what needs the buffers cleared */
};

void mitigations_decide(const struct cpu_security_facts *f, struct mitigations *m);

/* One line (no newline) naming what is on and why, e.g. "IBPB on guest switch (...); L1TF: ...". */
void mitigations_describe(const struct mitigations *m, char *buf, size_t len);

/* The decisions for this machine, made once at boot (mitigations_hw.c). */
extern struct mitigations mitigations_active;
/* Reads CPUID and, only when advertised, IA32_ARCH_CAPABILITIES; decides and logs one line. */
void mitigations_init(void);

#endif
