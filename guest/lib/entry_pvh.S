/* Xen PVH entry: the ELF note that names the 32-bit entry point, and that entry. The boot loader
 * enters in 32-bit protected mode, paging off, with EBX = physical address of hvm_start_info. */
#include "boot.h"

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                         /* name size: "Xen\0" */
    .long 4                         /* descriptor size: a 32-bit physical address */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long _start

    .section .text.boot32, "ax"
    .code32
    .globl _start
_start:
    mov $PVH_START_MAGIC, %edi      /* start64(boot_magic, boot_info) */
    mov %ebx, %esi
    jmp enter_long_mode

    .section .note.GNU-stack, "", @progbits
