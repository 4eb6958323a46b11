/* From the 32-bit boot entry to 64-bit C: static identity page tables (2 MiB pages over
 * 0..8 GiB, so the empty bus above RAM at 4 GiB is reachable), PAE, EFER.LME, paging, far jump.
 * EDI and ESI carry the boot magic and boot-information address through to start64(). */
#define CR0_PE      0x00000001
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xC0000080
#define EFER_LME    0x00000100
#define PTE_PRESENT_WRITABLE  0x003
#define PDE_LARGE_PAGE        0x083  /* present, writable, 2 MiB page */
#define SEL_CODE64  0x08
#define SEL_DATA    0x10

    .section .text.boot32, "ax"
    .code32
    .globl enter_long_mode
enter_long_mode:
    cli
    lgdt gdt_descriptor
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $page_tables_root, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $SEL_CODE64, $in_long_mode

    .code64
in_long_mode:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    lea boot_stack_top(%rip), %rsp
    cld
    call start64
    ud2                             /* start64 does not return */

    .section .rodata
    .p2align 3
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF        /* 0x10: flat data */
gdt_end:
gdt_descriptor:
    .word gdt_end - gdt - 1
    .quad gdt

/* Built by the assembler, so no code runs before paging is on. */
    .section .data.page_tables, "aw"
    .p2align 12
    .globl page_tables_root
page_tables_root:
    .quad pdpt + PTE_PRESENT_WRITABLE
    .fill 511, 8, 0
pdpt:
    .set gib, 0
    .rept 8
    .quad page_directories + gib * 4096 + PTE_PRESENT_WRITABLE
    .set gib, gib + 1
    .endr
    .fill 504, 8, 0
page_directories:
    .set pa, 0
    .rept 8 * 512
    .quad pa + PDE_LARGE_PAGE
    .set pa, pa + 0x200000
    .endr

/* A second, smaller set (first GiB only) for the RAM test to run on while it complements the
 * words of the first set. */
    .section .data.spare_page_tables, "aw"
    .p2align 12
    .globl spare_page_tables_root
spare_page_tables_root:
    .quad spare_pdpt + PTE_PRESENT_WRITABLE
    .fill 511, 8, 0
spare_pdpt:
    .quad spare_page_directory + PTE_PRESENT_WRITABLE
    .fill 511, 8, 0
spare_page_directory:
    .set pa, 0
    .rept 512
    .quad pa + PDE_LARGE_PAGE
    .set pa, pa + 0x200000
    .endr

    .section .bss
    .p2align 4
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 65536
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
