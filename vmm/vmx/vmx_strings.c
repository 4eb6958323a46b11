/* Tables turning VM-instruction error numbers and exit reasons into words for diagnostics. */
#include "vmx/vmx_strings.h"

static const char *const instruction_errors[] = {
    [1] = "VMCALL executed in VMX root operation",
    [2] = "VMCLEAR with invalid physical address",
    [3] = "VMCLEAR with VMXON pointer",
    [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS",
    [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)",
    [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid physical address",
    [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision identifier",
    [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [13] = "VMWRITE to read-only VMCS component",
    [15] = "VMXON executed in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer",
    [17] = "VM entry with non-launched executive VMCS",
    [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [19] = "VMCALL with non-clear VMCS",
    [20] = "VMCALL with invalid VM-exit control fields",
    [22] = "VMCALL with incorrect MSEG revision identifier",
    [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [24] = "VMCALL with invalid SMM-monitor features",
    [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [26] = "VM entry with events blocked by MOV SS",
    [28] = "invalid operand to INVEPT/INVVPID",
};

const char *vm_instruction_error_text(uint32_t n)
{
    if (n < sizeof(instruction_errors) / sizeof(instruction_errors[0]) && instruction_errors[n])
        return instruction_errors[n];
    return "unknown VM-instruction error";
}

static const char *const exit_reasons[] = {
    [0] = "exception or NMI",
    [1] = "external interrupt",
    [2] = "triple fault",
    [3] = "INIT signal",
    [4] = "SIPI",
    [5] = "I/O SMI",
    [6] = "other SMI",
    [7] = "interrupt window",
    [8] = "NMI window",
    [9] = "task switch",
    [10] = "CPUID",
    [11] = "GETSEC",
    [12] = "HLT",
    [13] = "INVD",
    [14] = "INVLPG",
    [15] = "RDPMC",
    [16] = "RDTSC",
    [17] = "RSM",
    [18] = "VMCALL",
    [19] = "VMCLEAR",
    [20] = "VMLAUNCH",
    [21] = "VMPTRLD",
    [22] = "VMPTRST",
    [23] = "VMREAD",
    [24] = "VMRESUME",
    [25] = "VMWRITE",
    [26] = "VMXOFF",
    [27] = "VMXON",
    [28] = "control-register access",
    [29] = "MOV DR",
    [30] = "I/O instruction",
    [31] = "RDMSR",
    [32] = "WRMSR",
    [33] = "entry failure: invalid guest state",
    [34] = "entry failure: MSR loading",
    [36] = "MWAIT",
    [37] = "monitor trap flag",
    [39] = "MONITOR",
    [40] = "PAUSE",
    [41] = "entry failure: machine-check event",
    [43] = "TPR below threshold",
    [44] = "APIC access",
    [45] = "virtualized EOI",
    [46] = "GDTR/IDTR access",
    [47] = "LDTR/TR access",
    [48] = "EPT violation",
    [49] = "EPT misconfiguration",
    [50] = "INVEPT",
    [51] = "RDTSCP",
    [52] = "preemption timer",
    [53] = "INVVPID",
    [54] = "WBINVD/WBNOINVD",
    [55] = "XSETBV",
    [56] = "APIC write",
    [57] = "RDRAND",
    [58] = "INVPCID",
    [59] = "VMFUNC",
    [60] = "ENCLS",
    [61] = "RDSEED",
    [62] = "PML full",
    [63] = "XSAVES",
    [64] = "XRSTORS",
    [65] = "PCONFIG",
    [66] = "SPP event",
    [67] = "UMWAIT",
    [68] = "TPAUSE",
    [69] = "LOADIWKEY",
};

const char *exit_reason_name(uint32_t reason)
{
    uint32_t basic = reason & 0xffff;
    if (basic < sizeof(exit_reasons) / sizeof(exit_reasons[0]) && exit_reasons[basic])
        return exit_reasons[basic];
    return "reason?";
}
