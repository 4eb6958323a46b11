/* Architectural names from the Intel SDM, defined once: control-register, EFER, RFLAGS, debug-
 * register and XCR0 bits, and MSR numbers. Numbers only; no code. Shared by the hypervisor, its
 * host tests and the guest programs. */
#ifndef TESSERA_X86_H
#define TESSERA_X86_H

/* CR0 (SDM Vol. 3A 2.5) */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

/* CR4 */
#define CR4_VME        (1ull << 0)
#define CR4_PVI        (1ull << 1)
#define CR4_TSD        (1ull << 2)
#define CR4_DE         (1ull << 3)
#define CR4_PSE        (1ull << 4)
#define CR4_PAE        (1ull << 5)
#define CR4_MCE        (1ull << 6)
#define CR4_PGE        (1ull << 7)
#define CR4_PCE        (1ull << 8)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP       (1ull << 11)
#define CR4_LA57       (1ull << 12)
#define CR4_VMXE       (1ull << 13)
#define CR4_SMXE       (1ull << 14)
#define CR4_FSGSBASE   (1ull << 16)
#define CR4_PCIDE      (1ull << 17)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_KL         (1ull << 19)
#define CR4_SMEP       (1ull << 20)
#define CR4_SMAP       (1ull << 21)
#define CR4_PKE        (1ull << 22)
#define CR4_CET        (1ull << 23)
#define CR4_PKS        (1ull << 24)
#define CR4_UINTR      (1ull << 25)
#define CR4_LAM_SUP    (1ull << 28)

/* IA32_EFER */
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* RFLAGS */
#define RFLAGS_CF     (1ull << 0)
#define RFLAGS_FIXED1 (1ull << 1)
#define RFLAGS_PF     (1ull << 2)
#define RFLAGS_AF     (1ull << 4)
#define RFLAGS_ZF     (1ull << 6)
#define RFLAGS_SF     (1ull << 7)
#define RFLAGS_TF     (1ull << 8)
#define RFLAGS_IF     (1ull << 9)
#define RFLAGS_DF     (1ull << 10)
#define RFLAGS_OF     (1ull << 11)
#define RFLAGS_RF     (1ull << 16)
#define RFLAGS_VM     (1ull << 17)
#define RFLAGS_AC     (1ull << 18)
#define RFLAGS_ARITH  (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

/* DR6 and DR7 (SDM Vol. 3B 17.2) */
#define DR6_B(n)      (1ull << (n))     /* breakpoint n matched */
#define DR6_BD        (1ull << 13)      /* general detect */
#define DR6_BS        (1ull << 14)      /* single step */
#define DR6_RTM       (1ull << 16)      /* reads 1 unless an RTM #DB */
#define DR6_INIT      0xFFFF0FF0ull     /* value after reset */
#define DR7_L(n)      (1ull << (2 * (n)))
#define DR7_G(n)      (1ull << (2 * (n) + 1))
#define DR7_GD        (1ull << 13)
#define DR7_RW(v, n)  (((v) >> (16 + 4 * (n))) & 3)   /* 0 exec, 1 write, 2 I/O, 3 read/write */
#define DR7_LEN(v, n) (((v) >> (18 + 4 * (n))) & 3)   /* 0: 1 byte, 1: 2, 2: 8, 3: 4 */
#define DR7_INIT      0x400ull

/* XCR0 state components (SDM Vol. 1 13.1) */
#define XCR0_X87      (1ull << 0)
#define XCR0_SSE      (1ull << 1)
#define XCR0_AVX      (1ull << 2)
#define XCR0_BNDREG   (1ull << 3)
#define XCR0_BNDCSR   (1ull << 4)
#define XCR0_AVX512   (7ull << 5)       /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_PKRU     (1ull << 9)
#define XCR0_TILECFG  (1ull << 17)
#define XCR0_TILEDATA (1ull << 18)

/* MSRs */
#define MSR_IA32_TSC              0x010
#define MSR_IA32_PLATFORM_ID      0x017
#define MSR_IA32_APIC_BASE        0x01B
#define MSR_IA32_FEATURE_CONTROL  0x03A
#define MSR_IA32_TSC_ADJUST       0x03B
#define MSR_IA32_SPEC_CTRL        0x048
#define MSR_IA32_PRED_CMD         0x049
#define MSR_IA32_BIOS_SIGN_ID     0x08B
#define MSR_IA32_MTRRCAP          0x0FE
#define MSR_IA32_ARCH_CAPABILITIES 0x10A
#define MSR_IA32_FLUSH_CMD        0x10B
#define MSR_IA32_SYSENTER_CS      0x174
#define MSR_IA32_SYSENTER_ESP     0x175
#define MSR_IA32_SYSENTER_EIP     0x176
#define MSR_IA32_MCG_CAP          0x179
#define MSR_IA32_MCG_STATUS       0x17A
#define MSR_IA32_MISC_ENABLE      0x1A0
#define MSR_IA32_DEBUGCTL         0x1D9
#define MSR_IA32_PAT              0x277
#define MSR_IA32_EFER             0xC0000080u
#define MSR_IA32_STAR             0xC0000081u
#define MSR_IA32_LSTAR            0xC0000082u
#define MSR_IA32_CSTAR            0xC0000083u
#define MSR_IA32_FMASK            0xC0000084u
#define MSR_IA32_FS_BASE          0xC0000100u
#define MSR_IA32_GS_BASE          0xC0000101u
#define MSR_IA32_KERNEL_GS_BASE   0xC0000102u
#define MSR_IA32_TSC_AUX          0xC0000103u

/* Speculation-control enumeration and commands (SDM Vol. 4; Intel's side-channel guidance) */
#define CPUID7_EBX_RTM                (1u << 11)
#define CPUID7_EDX_MD_CLEAR           (1u << 10)  /* VERW overwrites CPU buffers */
#define CPUID7_EDX_IBRS_IBPB          (1u << 26)  /* IA32_SPEC_CTRL, IA32_PRED_CMD */
#define CPUID7_EDX_L1D_FLUSH          (1u << 28)  /* IA32_FLUSH_CMD */
#define CPUID7_EDX_ARCH_CAPABILITIES  (1u << 29)  /* IA32_ARCH_CAPABILITIES */
#define ARCH_CAP_RDCL_NO              (1ull << 0) /* not affected by rogue data cache load / L1TF */
#define ARCH_CAP_SKIP_L1DFL_VMENTRY   (1ull << 3) /* no L1D flush needed on VM entry */
#define ARCH_CAP_MDS_NO               (1ull << 5)
#define ARCH_CAP_TAA_NO               (1ull << 8)
#define PRED_CMD_IBPB                 (1ull << 0)
#define FLUSH_CMD_L1D                 (1ull << 0)

/* Exception vectors */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19
#define VEC_VE 20
#define VEC_CP 21

/* DR7 R/W field values, the enable bits of all four breakpoints, and IA32_DEBUGCTL.BTF
 * (SDM Vol. 3B 17.2.4, 17.4.1) */
#define DR7_RW_EXEC       0
#define DR7_RW_WRITE      1
#define DR7_RW_IO         2     /* defined only with CR4.DE=1 */
#define DR7_RW_READ_WRITE 3
#define DR7_ENABLES       0xFFull   /* L0-L3 and G0-G3 */
#define DEBUGCTL_BTF      (1ull << 1) /* single-step on branches instead of instructions */

/* IA32_MISC_ENABLE (SDM Vol. 4, Table 2-2) */
#define MISC_ENABLE_FAST_STRINGS      (1ull << 0)
#define MISC_ENABLE_TCC               (1ull << 3)   /* automatic thermal control circuit */
#define MISC_ENABLE_PERFMON_AVAIL     (1ull << 7)   /* read-only */
#define MISC_ENABLE_BTS_UNAVAIL       (1ull << 11)  /* read-only */
#define MISC_ENABLE_PEBS_UNAVAIL      (1ull << 12)  /* read-only */
#define MISC_ENABLE_EIST              (1ull << 16)  /* enhanced Intel SpeedStep */
#define MISC_ENABLE_MONITOR_FSM       (1ull << 18)  /* 0: CPUID.01H:ECX.MONITOR = 0, MONITOR/MWAIT #UD */
#define MISC_ENABLE_LIMIT_CPUID       (1ull << 22)  /* CPUID.00H:EAX reports at most 2 */
#define MISC_ENABLE_XTPR_DISABLE      (1ull << 23)
#define MISC_ENABLE_XD_DISABLE        (1ull << 34)  /* CPUID.80000001H:EDX.NX = 0 */

/* Local APIC MSRs and IA32_APIC_BASE fields (SDM Vol. 3A 11.4.4, 11.12; Vol. 4 Table 2-2) */
#define MSR_IA32_TSC_DEADLINE     0x6E0
#define MSR_X2APIC_FIRST          0x800     /* x2APIC registers: 0x800 + MMIO offset / 16 */
#define MSR_X2APIC_LAST           0x8FF
#define APIC_BASE_BSP             (1ull << 8)
#define APIC_BASE_EXTD            (1ull << 10)  /* x2APIC mode */
#define APIC_BASE_EN              (1ull << 11)  /* global enable */
#define APIC_BASE_ADDR_MASK       0xFFFFFFFFFF000ull /* bits 51:12, limited by MAXPHYADDR */
#define APIC_DEFAULT_BASE         0xFEE00000ull

/* MSI message format, also what an IOAPIC sends (SDM Vol. 3A 11.11.1, 11.11.2): address
 * 0xFEE00000 | destination << 12 | RH | DM; data vector | delivery mode << 8 | level | trigger. */
#define MSI_ADDR_BASE             0xFEE00000u
#define MSI_ADDR_DEST_SHIFT       12         /* bits 19:12: APIC ID or logical destination */
#define MSI_ADDR_REDIRECTION_HINT (1u << 3)  /* lowest priority among the destinations */
#define MSI_ADDR_DEST_LOGICAL     (1u << 2)
#define MSI_DATA_VECTOR_MASK      0xFFu
#define MSI_DATA_DELIVERY_SHIFT   8          /* bits 10:8, encoded as below */
#define MSI_DATA_LEVEL_ASSERT     (1u << 14)
#define MSI_DATA_TRIGGER_LEVEL    (1u << 15)
#define MSI_DELIVERY_FIXED        0u         /* the same encoding as the IOAPIC and the ICR */
#define MSI_DELIVERY_LOWEST       1u
#define MSI_DELIVERY_SMI          2u
#define MSI_DELIVERY_NMI          4u
#define MSI_DELIVERY_INIT         5u
#define MSI_DELIVERY_EXTINT       7u

#endif
